"""Run the Autobahn client cases against WebSocketLibrary's connection.

kosoku serves the cases (``fuzzingserver`` mode) on a free local port; this script
is the client under test. It drives them the way Autobahn's clients do:

1. ``/getCaseCount`` answers with the number of cases as one text message;
2. for each case N, ``/runCase?case=N&agent=WebSocketLibrary``: echo every
   message back with the same kind (text or binary) until the connection closes;
3. ``/updateReports?agent=WebSocketLibrary`` ends the run.

Each connection is a ``WebSocketConnection`` exactly as the Robot keywords use it:
the reader thread answers pings, joins fragments, validates UTF-8 and fails the
connection with 1002/1007; this script only takes from the inbox and sends.

    python conformance/run_client_cases.py            # every case
    python conformance/run_client_cases.py -i '6.*' -x '6.4.*'

Exit status: 0 when no case failed (see ``_results.py`` for what counts), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from _results import case_parser, summarize, write_reports
from kosoku import FailureError, run_fuzzingserver

from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection
from WebSocketLibrary.errors import ConnectionClosedError
from WebSocketLibrary.matchers import Criteria

AGENT = "WebSocketLibrary"
ROOT = Path(__file__).resolve().parent.parent
ANY = Criteria()


def run_case(base: str, number: int, case_timeout: float) -> None:
    """Echo every message of case ``number`` until the server ends the connection."""
    connection = WebSocketConnection(
        f"{base}/runCase?case={number}&agent={AGENT}",
        ConnectOptions(timeout=10.0),
        name=f"case {number}",
    )
    connection.open()
    deadline = time.monotonic() + case_timeout
    try:
        while time.monotonic() < deadline:
            message = connection.inbox.take(ANY, min(1.0, deadline - time.monotonic()))
            if message is None:
                if connection.closed is not None:
                    return
                continue
            if isinstance(message.data, bytes):
                connection.send_binary(message.data)
            else:
                connection.send_text(message.data)
        print(f"case {number}: still open after {case_timeout:.0f} s; closing", file=sys.stderr)
    except ConnectionClosedError:
        pass  # The server closed while we echoed: that is how cases end.
    finally:
        connection.close(timeout=5.0)


def drive(base: str, case_timeout: float) -> int:
    counter = WebSocketConnection(f"{base}/getCaseCount", ConnectOptions(), name="getCaseCount")
    counter.open()
    reply = counter.inbox.take(ANY, 10.0)
    counter.close(timeout=2.0)
    if reply is None:
        raise RuntimeError("the fuzzing server did not send the case count")
    count = int(reply.data)
    for number in range(1, count + 1):
        run_case(base, number, case_timeout)
    finisher = WebSocketConnection(
        f"{base}/updateReports?agent={AGENT}", ConnectOptions(), name="updateReports"
    )
    finisher.open()
    finisher.close(timeout=2.0)
    return count


async def run(args: argparse.Namespace) -> list:
    async with run_fuzzingserver(args.include, args.exclude, host="127.0.0.1", port=0) as server:
        base = f"ws://{server.address}:{server.port}"
        count = await asyncio.to_thread(drive, base, args.case_timeout)
        print(f"drove {count} cases against {base}", file=sys.stderr)
        try:
            return await server.get_result()
        except FailureError as failure:
            return failure.results


def main(argv: list[str] | None = None) -> int:
    parser = case_parser(__doc__.split("\n\n")[0], "clients")
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=60.0,
        help="seconds one case may take before the client closes it",
    )
    args = parser.parse_args(argv)  # fmt: skip

    started = time.monotonic()
    results = asyncio.run(run(args))
    seconds = time.monotonic() - started
    by_column = summarize(f"Client cases, {AGENT} as the client", results, seconds)
    write_reports(results, args.outdir)
    return 1 if by_column["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
