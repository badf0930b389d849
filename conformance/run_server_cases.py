"""Run the Autobahn server cases (kosoku ``fuzzingclient`` mode) against a server.

Autobahn's server cases need an endpoint that echoes every text message as text
and every binary message as binary, unchanged, and sends nothing of its own.
The reference service's ``/ws`` is not that: it sends a ``welcome`` message first
and answers text only in its JSON envelope protocol. So ``--target`` picks:

``service`` (default)
    The reference service, started here, on its opt-in plain-echo endpoint
    (``--conformance-echo``, route ``/conformance/echo``), authenticated with an
    ``access_token`` query parameter (kosoku sends the URL's path and query as
    given, but no headers). A service without that flag is reported, not run:
    exit status 3, or 0 with ``--skip-if-unsupported``.
``service-ws``
    Diagnostic only: the service's real ``/ws``. Nearly every case fails, because
    of the welcome message and the JSON protocol, not because of the WebSocket stack.
``echo-app``
    A bare Starlette echo endpoint on uvicorn with the same ``--ws-implementation``
    the service uses (through ``refservice.wsstack``, so with the service's
    correction of ``websockets-sansio``): the WebSocket stack alone, without the
    service's authentication and application.
``--url ws://host:port/path?query``
    Any other plain echo server already running.

Exit status: 0 when no case failed (see ``_results.py``), 1 when one did.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _results import summarize, write_reports
from kosoku import FailureError, run_fuzzingclient

ROOT = Path(__file__).resolve().parent.parent
ECHO_FLAG = "--conformance-echo"
ECHO_PATH = "/conformance/echo"
USER, PASSWORD = "autobahn", "autobahn-conformance"
# Case 9.1.6/9.2.6 send 16 MiB messages; leave room for framing.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024
SKIPPED = 3

SERVICE_NEEDS = f"""\
The reference service has no plain echo endpoint, so the server cases were not run.
What it needs (service/ is not changed by this runner):
  * an opt-in flag {ECHO_FLAG} (env REFSERVICE_CONFORMANCE_ECHO), off by default, that
    adds the WebSocket route {ECHO_PATH};
  * that route authenticates exactly like /ws (the access_token query parameter is
    enough: kosoku cannot send headers or subprotocols, but keeps the URL's query);
  * after accepting it sends nothing of its own (no welcome message) and echoes every
    text message as text and every binary message as binary, byte for byte, with no
    JSON envelope, until the client closes;
  * it runs on the same uvicorn WebSocket stack as /ws (--ws-implementation), and
    honours --max-message-size, --idle-timeout 0, --heartbeat-interval 0 and
    --max-connections-per-user 0, which this runner passes.
Until then: --target echo-app measures the same WebSocket stack behind a bare echo."""


def service_command(ws_implementation: str, url_file: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "refservice",
        "--host", "127.0.0.1", "--port", "0", "--url-file", str(url_file),
        "--user", f"{USER}:{PASSWORD}", "--database", ":memory:",
        "--ws-implementation", ws_implementation,
        "--max-message-size", str(MAX_MESSAGE_SIZE),
        "--heartbeat-interval", "0", "--idle-timeout", "0",
        "--max-connections-per-user", "0", "--access-token-ttl", "3600",
        "--log-level", "critical", "--parent-pid", str(os.getpid()),
        *extra,
    ]  # fmt: skip


def service_has_echo_endpoint() -> bool:
    help_text = subprocess.run(
        [sys.executable, "-m", "refservice", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return ECHO_FLAG in help_text


@contextmanager
def reference_service(ws_implementation: str, path: str, *extra: str) -> Iterator[str]:
    """Start the service, log in, and yield the ``ws://`` URL of ``path`` with the token."""
    with tempfile.TemporaryDirectory() as tmp:
        url_file = Path(tmp) / "urls.json"
        process = subprocess.Popen(service_command(ws_implementation, url_file, *extra))
        try:
            deadline = time.monotonic() + 30
            while not url_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the reference service did not start")
                time.sleep(0.05)
            urls = json.loads(url_file.read_text(encoding="utf-8"))
            request = urllib.request.Request(
                f"{urls['http_url']}/auth/login",
                data=json.dumps({"username": USER, "password": PASSWORD}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                token = json.load(response)["access_token"]
            base = urls["ws_url"].removesuffix("/ws")
            yield f"{base}{path}?access_token={token}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def run_against_echo_app(ws_implementation: str, args: argparse.Namespace) -> list:
    """Serve a bare echo endpoint on uvicorn in this process and run the cases against it."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message.get("bytes") or b"")

    from refservice.wsstack import uvicorn_ws

    app = Starlette(routes=[WebSocketRoute(ECHO_PATH, echo)])
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, ws=uvicorn_ws(ws_implementation), ws_max_size=MAX_MESSAGE_SIZE, ws_ping_interval=None,
        log_level="critical", lifespan="off",
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():  # e.g. the implementation's package is not installed
            task.result()
            raise RuntimeError(f"uvicorn did not start with ws={ws_implementation!r}")
        await asyncio.sleep(0.01)
    try:
        return await run_cases(f"ws://127.0.0.1:{sock.getsockname()[1]}{ECHO_PATH}", args)
    finally:
        server.should_exit = True
        await task


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target",
        choices=("service", "service-ws", "echo-app"),
        default="service",
        help="what to test (see the module docstring)",
    )
    parser.add_argument("--url", help="test this already running echo server instead")
    parser.add_argument(
        "--ws-implementation",
        default="websockets-sansio",
        help="uvicorn WebSocket implementation for the service or echo-app",
    )
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
    parser.add_argument("-p", "--parallelism", type=int, default=4, help="cases run in parallel")
    parser.add_argument(
        "-o",
        "--outdir",
        type=Path,
        default=ROOT / "results" / "autobahn" / "servers",
        help="where the Autobahn HTML/JSON reports go",
    )
    parser.add_argument(
        "--skip-if-unsupported",
        action="store_true",
        help=f"exit 0, not {SKIPPED}, when the service has no {ECHO_FLAG}",
    )
    args = parser.parse_args(argv)  # fmt: skip

    impl = args.ws_implementation
    started = time.monotonic()
    if args.url:
        title = f"Server cases against {args.url}"
        results = asyncio.run(run_cases(args.url, args))
    elif args.target == "echo-app":
        title = f"Server cases against a bare uvicorn echo app (ws={impl}): the stack alone"
        results = asyncio.run(run_against_echo_app(impl, args))
    elif args.target == "service-ws":
        title = f"Server cases against the reference service's /ws (ws={impl}), diagnostic"
        with reference_service(impl, "/ws") as url:
            results = asyncio.run(run_cases(url, args))
    else:
        if not service_has_echo_endpoint():
            print(f"\nServer cases: NOT RUN.\n{SERVICE_NEEDS}")
            return 0 if args.skip_if_unsupported else SKIPPED
        title = f"Server cases against the reference service's {ECHO_PATH} (ws={impl})"
        with reference_service(impl, ECHO_PATH, ECHO_FLAG) as url:
            results = asyncio.run(run_cases(url, args))
    by_column = summarize(title, results, time.monotonic() - started)
    write_reports(results, args.outdir)
    return 1 if by_column["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
