"""Classify kosoku's per-case results, print a per-group summary, write the reports.

Shared by ``run_client_cases.py`` and ``run_server_cases.py``.

Every case lands in exactly one column, the first that applies:

``failed``
    The peer broke a MUST of RFC 6455: the message verdict is ``FAILED`` or ``ERROR``
    (the case could not even run), or the close verdict is ``FAILED``,
    ``WRONG CODE``, ``UNCLEAN`` or ``FAILED BY CLIENT``. These make the run fail.
``unimplemented``
    The peer does not implement the optional feature the case probes
    (permessage-deflate, groups 12 and 13). Not a failure.
``non-strict``
    Acceptable, but a SHOULD was not followed (typically: invalid UTF-8 inside a
    fragmented message is noticed at the end of the message, not at the first bad
    byte). Not a failure.
``informational``
    The case probes something the RFC leaves open (e.g. which close reason a peer
    sends, or what it does after a close frame). Not a failure.
``passed``
    ``OK`` for both the messages and the closing handshake.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPORTS = Path(__file__).resolve().parent.parent / "results" / "autobahn"


def case_parser(description: str, reports: str) -> argparse.ArgumentParser:
    """The options both runners take: which cases, and where the reports go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "-i",
        "--include",
        action="append",
        metavar="CASE",
        help="case id or glob to run, e.g. 6.* (repeatable; default: all)",
    )
    parser.add_argument(
        "-x",
        "--exclude",
        action="append",
        metavar="CASE",
        help="case id or glob to leave out (repeatable)",
    )
    parser.add_argument(
        "-o",
        "--outdir",
        type=Path,
        default=REPORTS / reports,
        help="where the Autobahn HTML/JSON reports go",
    )
    return parser  # fmt: skip


COLUMNS = ("passed", "failed", "non-strict", "informational", "unimplemented")
FAILING_BEHAVIOR = {"FAILED", "ERROR"}
FAILING_CLOSE = {"FAILED", "WRONG CODE", "UNCLEAN", "FAILED BY CLIENT"}

GROUP_NAMES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Misc",
    "12": "WebSocket Compression (different payloads)",
    "13": "WebSocket Compression (different parameters)",
}


def classify(result: Any) -> str:
    behavior = result.behavior.value
    close = result.behavior_close.value
    if behavior == "UNIMPLEMENTED":
        return "unimplemented"
    if behavior in FAILING_BEHAVIOR or close in FAILING_CLOSE:
        return "failed"
    if behavior == "NON-STRICT":
        return "non-strict"
    if behavior == "INFORMATIONAL" or close == "INFORMATIONAL":
        return "informational"
    return "passed"


def _case_key(case_id: str) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", case_id)]


def summarize(title: str, results: Sequence[Any], seconds: float) -> dict[str, list[Any]]:
    """Print the per-group table and the notable cases; return the cases by column."""
    by_column: dict[str, list[Any]] = defaultdict(list)
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for result in sorted(results, key=lambda r: _case_key(r.case_id)):
        column = classify(result)
        by_column[column].append(result)
        groups[result.case_id.split(".")[0]][column] += 1

    print(f"\n{title}: {len(results)} cases in {seconds:.1f} s")
    header = f"{'group':<48}" + "".join(f"{c:>15}" for c in COLUMNS)
    print(header)
    print("-" * len(header))
    for group in sorted(groups, key=int):
        name = f"{group} {GROUP_NAMES.get(group, '')}"
        print(f"{name:<48}" + "".join(f"{groups[group][c]:>15}" for c in COLUMNS))
    print("-" * len(header))
    print(f"{'total':<48}" + "".join(f"{len(by_column[c]):>15}" for c in COLUMNS))

    for column in ("failed", "non-strict", "informational"):
        if by_column[column]:
            print(f"\n{column} cases:")
            for result in by_column[column]:
                print(f"  {_describe(result)}")
    if by_column["unimplemented"]:
        ids = _ranges(r.case_id for r in by_column["unimplemented"])
        print(f"\nunimplemented cases: {ids}")
    return by_column


def _describe(result: Any) -> str:
    close_codes = (
        f"close codes sent {result.local_close_code} / received {result.remote_close_code}"
    )
    return (
        f"{result.case_id:<8} {result.behavior.value}/{result.behavior_close.value}: "
        f"{result.result} {result.result_close} ({close_codes})"
    )


def _ranges(ids: Iterable[str]) -> str:
    """``12.1.1 ... 12.1.18, 13.1.1 ...`` shortened to one glob per subgroup."""
    subgroups: dict[str, int] = defaultdict(int)
    for case_id in ids:
        subgroups[case_id.rsplit(".", 1)[0]] += 1
    return ", ".join(
        f"{sub}.* ({n})" for sub, n in sorted(subgroups.items(), key=lambda kv: _case_key(kv[0]))
    )


def write_reports(results: Sequence[Any], outdir: Path) -> None:
    """The Autobahn HTML/JSON reports (index.html, one file per case) in ``outdir``."""
    try:
        from kosoku._report import write_reports as kosoku_write_reports
    except ImportError:  # A private helper of kosoku's CLI; the summary is enough without it.
        print(f"(kosoku has no report writer; no reports in {outdir})", file=sys.stderr)
        return
    outdir.mkdir(parents=True, exist_ok=True)
    kosoku_write_reports(list(results), str(outdir))
    print(f"\nreports: {outdir / 'index.html'}")
