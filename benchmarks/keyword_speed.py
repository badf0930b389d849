"""Keyword speed: our Robot keyword loops against an anchor library and raw websocket-client.

Starts ONE bare ``websockets`` echo server (a subprocess of this script: asyncio,
127.0.0.1, a free port, no compression, no size limit, every message echoed back
as is) and measures, against it:

- ``anchor``: robotframework-websocketclient 1.3.0 (``Library  WebSocketClient``),
  a FOR loop of ``Send`` and ``Recv``;
- ``ours-on``: WebSocketLibrary, a FOR loop of ``Send Text Message`` and
  ``Receive Message``, transcript on (the default import);
- ``ours-off``: the same loop with the transcript off;
- ``ours-wait``: ``Send Text Message`` and ``Wait For Message  id=${i}``;
- ``ours-request-reply``: one keyword per round trip, ``Send And Wait For Reply``;
- ``ours-bulk``: no loop: ``Send Messages`` N messages, then ``Wait For Messages``;
- ``raw-sequential``: websocket-client in this process, ``send`` then ``recv``;
- ``raw-pipelined``: websocket-client in this process, one thread sends all N
  messages while the main thread receives them.

Every Robot variant is a separate ``robot`` run (its own process) over a suite
generated in a temporary directory: the connection opens in Suite Setup and ONE
test does the N round trips, so the rate is N divided by that test's elapsed
time in output.xml (the import and connect are outside it). Each run checks its
result (the test passed, the last reply echoes the last message, the bulk got N
replies); a variant that fails is shown with its failure, never with a rate.
Also shown: output.xml bytes per round trip. With ``--rounds R`` every variant
runs once per round, interleaved, and the median of the rounds is reported
with their range. Ratios: Robot variants against ``anchor``, bulk against
``raw-pipelined``. Then the targets, met or missed; a missed target does not
change the exit status, which is non-zero only when something broke (the
server did not start, a raw variant lost messages).

``--write-docs`` replaces the section between ``<!-- keyword-speed:begin -->``
and ``<!-- keyword-speed:end -->`` in docs/benchmarks.md (or appends one).

Run:  tox -e bench
      python benchmarks/keyword_speed.py --round-trips 5000 --rounds 2
      python benchmarks/keyword_speed.py --round-trips 300 --rounds 1 --variants anchor,ours-on
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import websocket
from websockets.asyncio.server import ServerConnection, serve

TRANSCRIPT_OFF_IMPORT = "transcript=off"
"""The WebSocketLibrary import argument that turns the transcript off (one place to change)."""

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN_MARKER = "<!-- keyword-speed:begin -->"
END_MARKER = "<!-- keyword-speed:end -->"
SERVER_START_TIMEOUT = 30.0
RAW_TIMEOUT = 60.0
"""websocket-client socket timeout of the raw variants: a lost reply fails instead of hanging."""
BULK_WAIT = "120s"
"""Wait For Messages timeout of the bulk variant (the library's default, 10 s, is tight)."""
MESSAGE_CHARS = 160
EN_DASH = "\u2013"


def echo_text(index: int) -> str:
    return f'{{"type":"echo","id":{index}}}'


# The echo server: ``python keyword_speed.py --serve`` prints its port, then echoes forever.


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def _serve() -> None:
    async with serve(_echo, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().create_future()


def serve_forever() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve())


class ServerError(RuntimeError):
    """The echo server did not start."""


def start_server() -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    ready, _, _ = select.select([server.stdout], [], [], SERVER_START_TIMEOUT)
    line = server.stdout.readline() if ready else ""
    if not line.strip().isdigit():
        stop_server(server)
        error = server.stderr.read().strip() if server.stderr else ""
        raise ServerError(f"the echo server did not start: {line.strip() or error or 'silent'}")
    return server, int(line)


def stop_server(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# One measurement, and a variant's rounds.


@dataclass
class Measurement:
    rate: float | None = None
    """Round trips (or messages) per second."""
    bytes_per_round_trip: float | None = None
    """output.xml size divided by N; None for the raw variants."""
    error: str | None = None


@dataclass
class Outcome:
    variant: Variant
    rounds: list[Measurement] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return next((m.error for m in self.rounds if m.error), None)

    @property
    def rates(self) -> list[float]:
        return [m.rate for m in self.rounds if m.rate is not None]

    @property
    def rate(self) -> float | None:
        return None if self.error or not self.rates else statistics.median(self.rates)

    @property
    def bytes_per_round_trip(self) -> float | None:
        sizes = [m.bytes_per_round_trip for m in self.rounds if m.bytes_per_round_trip]
        return None if self.error or not sizes else statistics.median(sizes)


# The Robot variants: a generated suite each.

ANCHOR_SETTINGS = """\
*** Settings ***
Library           WebSocketClient
Suite Setup       Open Socket
Suite Teardown    Close    ${WS}

*** Keywords ***
Open Socket
    ${ws} =    Connect    ${URL}
    Set Suite Variable    ${WS}    ${ws}
"""

OURS_SETTINGS = """\
*** Settings ***
Library           WebSocketLibrary{import_args}
Suite Setup       Connect    ${{URL}}
Suite Teardown    Close All Connections
"""

VARIABLES = """
*** Variables ***
${{URL}}     {url}
${{N}}       {count}
${{LAST}}    {last}

*** Test Cases ***
Round Trips
"""

LOOP = """\
    FOR    ${{i}}    IN RANGE    ${{N}}
{body}
    END
"""

ANCHOR_LOOP = """\
        Send    ${WS}    {"type":"echo","id":${i}}
        ${reply} =    Recv    ${WS}"""
RECEIVE_LOOP = """\
        Send Text Message    {"type":"echo","id":${i}}
        ${reply} =    Receive Message"""
WAIT_LOOP = """\
        Send Text Message    {"type":"echo","id":${i}}
        ${reply} =    Wait For Message    id=${i}"""
REQUEST_REPLY_LOOP = """\
        ${reply} =    Send And Wait For Reply    {"type":"echo","id":${i}}    id=${i}"""
TEXT_CHECK = '    Should Be Equal    ${reply}    {"type":"echo","id":${LAST}}\n'
DICT_CHECK = "    Should Be Equal As Integers    ${reply}[id]    ${LAST}\n"
BULK_TEST = f"""\
    Send Messages    template={{"type":"echo","id":{{i}}}}    count=${{N}}
    ${{replies}} =    Wait For Messages    ${{N}}    timeout={BULK_WAIT}
    Length Should Be    ${{replies}}    ${{N}}
"""


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    unit: str = "round trips/s"
    baseline: str | None = "anchor"
    """The variant this one's rate is compared with."""
    settings: str = ""
    """The suite's Settings (and Keywords) section; empty for a raw variant."""
    test_body: str = ""
    new_keyword: bool = False
    """Uses a keyword still being written: a failure reads 'keyword missing / failed'."""
    raw: Callable[[str, int], Measurement] | None = None

    def suite(self, url: str, count: int) -> str:
        variables = VARIABLES.format(url=url, count=count, last=count - 1)
        return self.settings + variables + self.test_body


def ours(import_args: str = "") -> str:
    return OURS_SETTINGS.format(import_args=f"    {import_args}" if import_args else "")


def loop(body: str, check: str) -> str:
    return LOOP.format(body=body) + check


def run_robot(variant: Variant, url: str, count: int, workdir: Path, round_: int) -> Measurement:
    suite = workdir / f"{variant.key}.robot"
    if not suite.exists():
        suite.write_text(variant.suite(url, count), encoding="utf-8")
    output = workdir / f"{variant.key}-round{round_}.xml"
    command = [
        sys.executable, "-m", "robot", "--output", str(output), "--log", "NONE",
        "--report", "NONE", "--loglevel", "INFO", "--console", "dotted", str(suite),
    ]  # fmt: skip
    limit = 120 + count * 0.1
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=limit, cwd=workdir)
    except subprocess.TimeoutExpired:
        return Measurement(error=f"robot did not finish within {limit:.0f} s")
    status = test_status(output)
    if status is None:
        said = (run.stderr.strip() or run.stdout.strip()).splitlines()
        return Measurement(error=f"robot exited {run.returncode}: {said[-1] if said else '?'}")
    passed, elapsed, message = status
    if not passed or run.returncode:
        first = message.strip().splitlines()[0] if message.strip() else f"rc {run.returncode}"
        return Measurement(error=first[:MESSAGE_CHARS])
    if elapsed <= 0:
        return Measurement(error=f"test elapsed {elapsed} s in output.xml")
    return Measurement(rate=count / elapsed, bytes_per_round_trip=output.stat().st_size / count)


def test_status(output: Path) -> tuple[bool, float, str] | None:
    """(passed, elapsed seconds, message) of the first test in output.xml; None if none."""
    if not output.exists():
        return None
    try:
        for _, element in ET.iterparse(output, events=("end",)):
            if element.tag == "test":
                status = element.find("status")
                if status is None:
                    return None
                elapsed = float(status.get("elapsed", "0"))
                return status.get("status") == "PASS", elapsed, status.text or ""
            if element.tag in ("kw", "iter", "for"):
                element.clear()  # 2 keywords per round trip: keep the tree small.
    except ET.ParseError:
        return None
    return None


# The raw websocket-client variants, in this process.


def raw_sequential(url: str, count: int) -> Measurement:
    messages = [echo_text(i) for i in range(count)]
    ws = websocket.create_connection(url, timeout=RAW_TIMEOUT)
    try:
        started = time.perf_counter()
        for message in messages:
            ws.send(message)
            if ws.recv() != message:
                return Measurement(error=f"the reply to {message} was not its echo")
        elapsed = time.perf_counter() - started
    except (websocket.WebSocketException, OSError) as error:
        return Measurement(error=f"raw sequential: {type(error).__name__}: {error}")
    finally:
        ws.close(timeout=1)
    return Measurement(rate=count / elapsed)


def raw_pipelined(url: str, count: int) -> Measurement:
    messages = [echo_text(i) for i in range(count)]
    ws = websocket.create_connection(url, timeout=RAW_TIMEOUT)
    send_errors: list[BaseException] = []

    def send_all() -> None:
        try:
            for message in messages:
                ws.send(message)
        except (websocket.WebSocketException, OSError) as error:
            send_errors.append(error)

    sender = threading.Thread(target=send_all, name="raw-sender", daemon=True)
    replies: list[str] = []
    try:
        started = time.perf_counter()
        sender.start()
        for _ in range(count):
            replies.append(ws.recv())
        elapsed = time.perf_counter() - started
        sender.join(RAW_TIMEOUT)
    except (websocket.WebSocketException, OSError) as error:
        elapsed = 0.0
        send_errors.append(error)
    finally:
        ws.close(timeout=1)
    if send_errors or replies != messages:
        last = replies[-1] if replies else "none"
        problem = f"; {type(send_errors[0]).__name__}: {send_errors[0]}" if send_errors else ""
        return Measurement(
            error=f"raw pipelined: {len(replies)} of {count} replies, the last {last}{problem}"
        )
    return Measurement(rate=count / elapsed)


VARIANTS: tuple[Variant, ...] = (
    Variant("anchor", "anchor (WebSocketClient 1.3.0)", baseline=None,
            settings=ANCHOR_SETTINGS, test_body=loop(ANCHOR_LOOP, TEXT_CHECK)),
    Variant("ours-on", "ours, transcript on",
            settings=ours(), test_body=loop(RECEIVE_LOOP, TEXT_CHECK)),
    Variant("ours-off", "ours, transcript off",
            settings=ours(TRANSCRIPT_OFF_IMPORT), test_body=loop(RECEIVE_LOOP, TEXT_CHECK)),
    Variant("ours-wait", "ours, Wait For Message",
            settings=ours(), test_body=loop(WAIT_LOOP, DICT_CHECK)),
    Variant("ours-request-reply", "ours, request/reply",
            settings=ours(), test_body=loop(REQUEST_REPLY_LOOP, DICT_CHECK), new_keyword=True),
    Variant("ours-bulk", "ours, bulk", unit="messages/s", baseline="raw-pipelined",
            settings=ours(), test_body=BULK_TEST, new_keyword=True),
    Variant("raw-sequential", "raw websocket-client, sequential", raw=raw_sequential),
    Variant("raw-pipelined", "raw websocket-client, pipelined", unit="messages/s",
            baseline=None, raw=raw_pipelined),
)  # fmt: skip
BY_KEY = {variant.key: variant for variant in VARIANTS}


def measure(variant: Variant, url: str, count: int, workdir: Path, round_: int) -> Measurement:
    if variant.raw is not None:
        try:
            return variant.raw(url, count)
        except OSError as error:
            return Measurement(error=f"{type(error).__name__}: {error}")
    return run_robot(variant, url, count, workdir, round_)


def run_rounds(variants: list[Variant], url: str, count: int, rounds: int, workdir: Path):
    outcomes = {variant.key: Outcome(variant) for variant in variants}
    for round_ in range(1, rounds + 1):
        for variant in variants:
            result = measure(variant, url, count, workdir, round_)
            outcomes[variant.key].rounds.append(result)
            shown = f"{result.rate:,.0f} {variant.unit}" if result.rate else result.error
            print(f"round {round_}/{rounds} {variant.key}: {shown}", file=sys.stderr, flush=True)
    return outcomes


# The table and the targets.

HEADER = ("variant", "rate", "range over rounds", "ratio", "output.xml B/round trip", "B ratio")


def ratio_of(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def failure_text(outcome: Outcome) -> str:
    if outcome.variant.new_keyword:
        return f"n/a (keyword missing / failed: {outcome.error})"
    return f"FAILED: {outcome.error}"


def table_rows(outcomes: dict[str, Outcome]) -> list[list[str]]:
    anchor = outcomes.get("anchor")
    anchor_bytes = anchor.bytes_per_round_trip if anchor else None
    rows = []
    for outcome in outcomes.values():
        variant = outcome.variant
        if outcome.error:
            rows.append([variant.label, failure_text(outcome)])
            continue
        rate = outcome.rate
        rates = outcome.rates
        spread = f"{min(rates):,.0f}{EN_DASH}{max(rates):,.0f}" if len(rates) > 1 else ""
        base = outcomes.get(variant.baseline) if variant.baseline else None
        ratio = ratio_of(rate, base.rate if base else None)
        if variant.baseline is None:
            ratio_text = "baseline"
        else:
            ratio_text = f"{ratio:.2f}x {variant.baseline}" if ratio is not None else "—"
        size = outcome.bytes_per_round_trip
        size_ratio = ratio_of(size, anchor_bytes)
        rows.append([
            variant.label,
            f"{rate:,.0f} {variant.unit}" if rate is not None else "—",
            spread,
            ratio_text,
            f"{size:,.0f}" if size is not None else "—",
            f"{size_ratio:.2f}x" if size_ratio is not None else "—",
        ])  # fmt: skip
    return rows


def text_table(rows: list[list[str]]) -> str:
    full = [HEADER, *(row for row in rows if len(row) == len(HEADER))]
    widths = [max(len(row[column]) for row in full) for column in range(len(HEADER))]
    lines = []
    for row in [list(HEADER), *rows]:
        cells = [cell.ljust(widths[0]) if i == 0 else cell for i, cell in enumerate(row)]
        if len(row) == len(HEADER):
            cells = [cells[0], *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| --- |" + " ---: |" * (len(HEADER) - 1)]
    for row in rows:
        cells = row + ["—"] * (len(HEADER) - len(row))
        lines.append("| " + " | ".join(cell or " " for cell in cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    description: str
    variant: str
    baseline: str
    limit: float
    at_most: bool = False
    """True: the ratio must not exceed the limit (bytes); False: it must reach it (rates)."""
    of_bytes: bool = False


TARGETS = (
    Target("ours two-keyword loop, transcript on: >= 1.0x anchor rate", "ours-on", "anchor", 1.0),
    Target("ours two-keyword loop, transcript off: >= 1.2x anchor rate", "ours-off", "anchor", 1.2),
    Target("request/reply keyword: >= 1.5x anchor rate", "ours-request-reply", "anchor", 1.5),
    Target("bulk send + wait: >= 0.8x raw websocket-client pipelined messages/s",
           "ours-bulk", "raw-pipelined", 0.8),
    Target("output.xml bytes per round trip, transcript on: <= 1.5x anchor",
           "ours-on", "anchor", 1.5, at_most=True, of_bytes=True),
)  # fmt: skip


def check_target(target: Target, outcomes: dict[str, Outcome]) -> str:
    measured, base = outcomes.get(target.variant), outcomes.get(target.baseline)
    if measured is None or base is None:
        return "not run"
    for outcome in (measured, base):
        if outcome.error:
            return f"missed ({outcome.variant.key} failed: {outcome.error})"
    if target.of_bytes:
        ratio = ratio_of(measured.bytes_per_round_trip, base.bytes_per_round_trip)
    else:
        ratio = ratio_of(measured.rate, base.rate)
    if ratio is None:
        return "missed (no figure)"
    met = ratio <= target.limit if target.at_most else ratio >= target.limit
    return f"{ratio:.2f}x, {'met' if met else 'missed'}"


def target_lines(outcomes: dict[str, Outcome]) -> list[str]:
    return [f"{target.description}: {check_target(target, outcomes)}" for target in TARGETS]


# docs/benchmarks.md


def command_line() -> str:
    return shlex.join(["python", "benchmarks/keyword_speed.py", *sys.argv[1:]])


def machine() -> str:
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("robotframework", "websockets", "websocket-client")
    )
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()} "
        f"({platform.system()} {platform.machine()}); {versions}"
    )


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def docs_section(outcomes: dict[str, Outcome], count: int, rounds: int) -> str:
    targets = "\n".join(f"- {line}" for line in target_lines(outcomes))
    return f"""{BEGIN_MARKER}
Measured {datetime.date.today().isoformat()}, {count:,} round trips per run, \
{rounds} round(s), median of the rounds:

```bash
{command_line()}
```

Machine: {machine()}.

{markdown_table(table_rows(outcomes))}

Targets:

{targets}
{END_MARKER}"""


def write_docs(section: str, path: Path = DOCS) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = text.find(BEGIN_MARKER), text.find(END_MARKER)
    if begin != -1 and end > begin:
        text = text[:begin] + section + text[end + len(END_MARKER) :]
    else:
        text = text.rstrip("\n") + "\n\n## Keyword speed\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def selected_variants(value: str | None) -> list[Variant]:
    if not value:
        return list(VARIANTS)
    keys = [key.strip() for key in value.split(",") if key.strip()]
    unknown = [key for key in keys if key not in BY_KEY]
    if unknown:
        known = ", ".join(BY_KEY)
        raise argparse.ArgumentTypeError(f"unknown variants {unknown}; known: {known}")
    return [BY_KEY[key] for key in keys]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=5000, help="N per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every variant")
    parser.add_argument("--variants", help=f"comma list of: {', '.join(BY_KEY)}")
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument("--keep", action="store_true", help="keep the suites and output.xml")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever()
        return 0
    if args.round_trips < 1 or args.rounds < 1:
        parser.error("--round-trips and --rounds must be 1 or more")
    try:
        variants = selected_variants(args.variants)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))

    workdir = Path(tempfile.mkdtemp(prefix="keyword-speed-"))
    server = None
    try:
        server, port = start_server()
        url = f"ws://127.0.0.1:{port}/"
        outcomes = run_rounds(variants, url, args.round_trips, args.rounds, workdir)
    except ServerError as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            stop_server(server)
        if args.keep:
            print(f"suites and output.xml files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.round_trips:,} round trips per run, {args.rounds} round(s), median;")
    print(f"machine: {machine()}\n")
    print(text_table(table_rows(outcomes)))
    print("\nTargets:")
    for line in target_lines(outcomes):
        print(f"  {line}")
    if args.write_docs:
        write_docs(docs_section(outcomes, args.round_trips, args.rounds))
        print(f"\nwrote {DOCS.relative_to(ROOT)}")
    broken = [o for o in outcomes.values() if o.variant.raw is not None and o.error]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
