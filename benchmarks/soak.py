"""Soak: run the suites many times with pabot and report every test that ever failed.

A suite that fails now and then teaches a team to ignore red, and one run proves
little about that. This runs the suites RUNS times in each mode, suite level (one
pabot process per suite, as ``tox -e suites`` does) and test level
(``--testlevelsplit``, one process per test, no ordering file, so every test runs
on its own service in any order), the last LOADED runs of each mode with CPU-bound
processes beside them. Then it prints, per test, how often it failed in each mode
and the first failure message, and exits non-zero if anything failed.

Each run has a directory of its own under OUTPUT (its own ``.pabotsuitenames`` too).
A run's output.xml is kept only when something in it failed.

Run:  python benchmarks/soak.py --runs 20 --loaded 5
      python benchmarks/soak.py --runs 3 --modes test -- --include p0
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from robot.api import ExecutionResult

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
ORDERING = SUITES / "pabot-ordering.txt"
MODES = {
    "suite": ["--ordering", str(ORDERING)],
    "test": ["--testlevelsplit"],
}
MESSAGE_CHARS = 300


@dataclass
class Tally:
    """Outcomes of one test over all runs: mode -> counts, and the first failure seen."""

    runs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_failure: str = ""


@dataclass
class Run:
    mode: str
    number: int
    loaded: bool
    seconds: float
    failed: int
    problem: str = ""
    """Why the run produced no results, if it did not."""


def cpu_hogs(count: int, seconds: float) -> list[subprocess.Popen]:
    """``count`` busy processes that stop by themselves after ``seconds``."""
    loop = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(count)]


def run_once(
    mode: str, number: int, loaded: bool, args: argparse.Namespace, tallies: dict[str, Tally]
) -> Run:
    workdir = args.output / f"{mode}-{number:02d}{'-loaded' if loaded else ''}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pabot.pabot", "--no-pabotlib",
        "--processes", str(args.processes), *MODES[mode],
        "--outputdir", str(workdir), "--log", "NONE", "--report", "NONE",
        "--consolewidth", "100", *args.robot_args, str(SUITES),
    ]  # fmt: skip
    hogs = cpu_hogs(args.load_processes, args.run_time_limit) if loaded else []
    started = time.monotonic()
    try:
        with open(workdir / "console.txt", "w") as console:
            subprocess.run(
                command,
                cwd=workdir,
                stdout=console,
                stderr=subprocess.STDOUT,
                timeout=args.run_time_limit,
                check=False,
                env=_environment(),
            )
    except subprocess.TimeoutExpired:
        return Run(mode, number, loaded, time.monotonic() - started, 0, "over the time limit")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    seconds = time.monotonic() - started
    output = workdir / "output.xml"
    if not output.exists():
        return Run(mode, number, loaded, seconds, 0, f"no output.xml, see {workdir}/console.txt")
    failed = 0
    for test in ExecutionResult(str(output)).suite.all_tests:
        tally = tallies[test.full_name]
        tally.runs[mode] += 1
        if test.failed:
            failed += 1
            tally.failed[mode] += 1
            if not tally.first_failure:
                where = f"{mode} run {number}{', loaded' if loaded else ''}"
                tally.first_failure = f"[{where}] {test.message[:MESSAGE_CHARS]}"
    if not failed and not args.keep:
        shutil.rmtree(workdir)
    return Run(mode, number, loaded, seconds, failed)


def _environment() -> dict[str, str]:
    # pabot starts `robot` from PATH: the one beside this interpreter, as in a tox env.
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def report(runs: list[Run], tallies: dict[str, Tally], modes: list[str]) -> str:
    lines = ["runs:"]
    for mode in modes:
        mine = [r for r in runs if r.mode == mode]
        times = [r.seconds for r in mine]
        lines.append(
            f"  {mode:5} level: {len(mine)} runs ({sum(r.loaded for r in mine)} with CPU load), "
            f"{sum(1 for r in mine if r.failed)} with failures, "
            f"{sum(1 for r in mine if r.problem)} without results; "
            f"median {statistics.median(times) if times else 0:.0f} s, "
            f"max {max(times, default=0):.0f} s"
        )
    for run in runs:
        if run.problem:
            lines.append(f"  {run.mode} run {run.number}: {run.problem}")
    width = max((len(name) for name in tallies), default=10)
    header = "  ".join(f"{mode + ' level':>13}" for mode in modes)
    lines += ["", f"{'test':{width}}  {header}"]
    for name, tally in sorted(tallies.items()):
        cells = "  ".join(f"{tally.failed[mode]:>4} of {tally.runs[mode]:<4}   " for mode in modes)
        lines.append(f"{name:{width}}  {cells}")
    failures = {name: t for name, t in tallies.items() if t.first_failure}
    lines.append("")
    lines.append(f"tests that failed at least once: {len(failures)} of {len(tallies)}")
    for name, tally in sorted(failures.items()):
        lines.append(f"- {name}\n    {tally.first_failure}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per mode (default 20)")
    parser.add_argument(
        "--loaded", type=int, default=5, help="of those, how many with the CPU load (default 5)"
    )
    parser.add_argument(
        "--load-processes", type=int, default=1, help="busy processes beside a loaded run"
    )
    parser.add_argument("--modes", default="suite,test", help="suite, test or both (default)")
    parser.add_argument("--processes", type=int, default=4, help="pabot processes (default 4)")
    parser.add_argument(
        "--run-time-limit", type=float, default=900, help="seconds one run may take (900)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "soak")
    parser.add_argument("--keep", action="store_true", help="keep the output of passing runs")
    parser.add_argument("robot_args", nargs="*", help="after --: more pabot/robot options")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not 0 <= args.loaded <= args.runs:
        parser.error(f"modes are {', '.join(MODES)}; --loaded must be 0 to --runs")
    args.output = args.output.resolve()

    tallies: dict[str, Tally] = defaultdict(Tally)
    runs: list[Run] = []
    for number in range(1, args.runs + 1):
        loaded = number > args.runs - args.loaded
        for mode in modes:
            run = run_once(mode, number, loaded, args, tallies)
            runs.append(run)
            state = run.problem or f"{run.failed} failed"
            print(
                f"{mode} run {number}/{args.runs}{' (CPU load)' if loaded else ''}: "
                f"{state}, {run.seconds:.0f} s",
                flush=True,
            )
    text = report(runs, tallies, modes)
    print("\n" + text)
    (args.output / "soak-report.txt").write_text(text + "\n")
    broken = any(r.failed or r.problem for r in runs)
    return 1 if broken else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
