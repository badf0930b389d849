"""Run the Autobahn server cases (kosoku ``fuzzingclient`` mode) against a server.

Autobahn's server cases need an endpoint that echoes every text message as text
and every binary message as binary, unchanged, and sends nothing of its own.
The reference service's ``/ws`` is not that: it sends a ``welcome`` message first
and answers text only in its JSON envelope protocol. So ``--target`` picks:

``service`` (default)
    The reference service, started here, on its opt-in plain-echo endpoint
    (``--conformance-echo``, route ``/conformance/echo``), authenticated with an
    ``access_token`` query parameter (kosoku sends the URL's path and query as
    given, but no headers).
``service-ws``
    Diagnostic only: the service's real ``/ws``. Nearly every case fails, because
    of the welcome message and the JSON protocol, not because of the WebSocket stack.
``--url ws://host:port/path?query``
    Any other plain echo server already running.

Exit status: 0 when no case failed (see ``_results.py``), 1 when one did.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from _results import case_parser, summarize, write_reports
from kosoku import FailureError, run_fuzzingclient

from ReferenceServiceLibrary import ServiceProcess

ECHO_PATH = "/conformance/echo"
USER, PASSWORD = "autobahn", "autobahn-conformance"
# Cases 9.1.6/9.2.6 send 16 MiB messages; leave room for framing.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024


@contextmanager
def reference_service(ws_implementation: str, path: str, echo: bool) -> Iterator[str]:
    """Start the service, log in, and yield the ``ws://`` URL of ``path`` with the token."""
    settings = {
        "users": f"{USER}:{PASSWORD}", "ws_implementation": ws_implementation,
        "max_message_size": MAX_MESSAGE_SIZE, "heartbeat_interval": 0, "idle_timeout": 0,
        "max_connections_per_user": 0, "access_token_ttl": 3600, "log_level": "critical",
        "permessage_deflate": True,  # off by default; groups 12 and 13 test it on request
    }  # fmt: skip
    if echo:
        settings["conformance_echo"] = True
    with ServiceProcess(**settings) as service:
        login = requests.post(
            f"{service.http_url}/auth/login",
            json={"username": USER, "password": PASSWORD},
            timeout=10,
        )
        login.raise_for_status()
        base = service.ws_url.removesuffix("/ws")
        yield f"{base}{path}?access_token={login.json()['access_token']}"


async def run_cases(url: str, args: argparse.Namespace) -> list:
    shown = url.split("access_token=")[0] + ("access_token=..." if "access_token=" in url else "")
    print(f"running server cases against {shown}", file=sys.stderr)
    try:
        return await run_fuzzingclient(
            url, args.include, args.exclude, concurrency=args.parallelism
        )
    except FailureError as failure:
        return failure.results


def main(argv: list[str] | None = None) -> int:
    parser = case_parser(__doc__.split("\n\n")[0], "servers")
    parser.add_argument(
        "--target",
        choices=("service", "service-ws"),
        default="service",
        help="what to test (see the module docstring)",
    )
    parser.add_argument("--url", help="test this already running echo server instead")
    parser.add_argument(
        "--ws-implementation",
        default="websockets-sansio",
        help="uvicorn WebSocket implementation for the service",
    )
    parser.add_argument("-p", "--parallelism", type=int, default=4, help="cases run in parallel")
    args = parser.parse_args(argv)  # fmt: skip

    impl = args.ws_implementation
    started = time.monotonic()
    if args.url:
        title = f"Server cases against {args.url}"
        results = asyncio.run(run_cases(args.url, args))
    elif args.target == "service-ws":
        title = f"Server cases against the reference service's /ws (ws={impl}), diagnostic"
        with reference_service(impl, "/ws", echo=False) as url:
            results = asyncio.run(run_cases(url, args))
    else:
        title = f"Server cases against the reference service's {ECHO_PATH} (ws={impl})"
        with reference_service(impl, ECHO_PATH, echo=True) as url:
            results = asyncio.run(run_cases(url, args))
    by_column = summarize(title, results, time.monotonic() - started)
    write_reports(results, args.outdir)
    return 1 if by_column["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
