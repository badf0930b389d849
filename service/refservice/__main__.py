"""Command line: ``python -m refservice`` or the ``refservice`` console script."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from refservice.app import create_app
from refservice.config import ConfigError, Settings, load_settings
from refservice.credentials import RedactCredentials
from refservice.httpstack import timed_h11
from refservice.tokens import TokenService
from refservice.wsstack import uvicorn_ws

logger = logging.getLogger("refservice")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def service_urls(host: str, port: int, tls: bool = False) -> dict[str, str]:
    base = f"{_url_host(host)}:{port}"
    if tls:
        return {"http_url": f"https://{base}", "ws_url": f"wss://{base}/ws"}
    return {"http_url": f"http://{base}", "ws_url": f"ws://{base}/ws"}


def check_tls_files(settings: Settings) -> None:
    """Load the TLS certificate and key once before listening, so bad files fail the start.

    uvicorn would load them only inside ``serve`` and die with a traceback.
    """
    if settings.tls_certfile is None:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_certfile, settings.tls_keyfile)
    except (OSError, ssl.SSLError) as error:
        key = f" with key {settings.tls_keyfile}" if settings.tls_keyfile else ""
        raise ConfigError(
            f"Cannot load the TLS certificate {settings.tls_certfile}{key}: {error}"
        ) from None


def write_url_file(path: Path, info: dict[str, Any]) -> None:
    """Write ``info`` as JSON atomically: a temporary file renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, path)


def bind_socket(host: str, port: int, retry_for: float = 0.0) -> socket.socket:
    """Bind a listening socket (``SO_REUSEADDR``); retry a busy port for ``retry_for`` s.

    The retry lets a restarted service take its old port back while the previous
    process (just killed) is still releasing it.
    """
    deadline = time.monotonic() + retry_for
    while True:
        try:
            return _bind_once(host, port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _bind_once(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


async def serve(settings: Settings, sock: socket.socket) -> bool:
    """Serve until told to stop; announce the URLs once listening. Return whether it started."""
    config = uvicorn.Config(
        create_app(settings),
        http=timed_h11(settings.request_timeout),
        ws=uvicorn_ws(settings.ws_implementation),
        ws_max_size=settings.max_message_size,
        ws_per_message_deflate=settings.permessage_deflate,
        # Heartbeats are the WebSocket stack's keepalive: a ping control frame every
        # interval; no pong within the timeout fails the connection with 1011.
        ws_ping_interval=settings.heartbeat_interval or None,
        ws_ping_timeout=settings.heartbeat_timeout,
        ssl_certfile=settings.tls_certfile,
        ssl_keyfile=settings.tls_keyfile,
        log_level=settings.log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
        # uvicorn's default of 5 s closes idle HTTP keep-alive connections while a test is
        # busy with its WebSockets; when the loop runs that close late (lagging behind
        # hundreds of WebSocket closes), a request the client has just sent on the idle
        # connection is reset (seen in suite 07). A longer idle time makes that rare.
        timeout_keep_alive=60,
    )
    logging.getLogger("uvicorn.error").addFilter(_drop_spurious_denial_error)
    logging.getLogger("uvicorn.error").addFilter(_demote_client_utf8_error)
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactCredentials())
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        port = sock.getsockname()[1]
        urls = service_urls(settings.host, port, tls=settings.tls_certfile is not None)
        if settings.url_file is not None:
            write_url_file(
                settings.url_file,
                {
                    **urls,
                    "pid": os.getpid(),
                    "issuer": settings.issuer,
                    "audience": settings.audience,
                    "jwt_algorithm": settings.jwt_algorithm,
                },
            )
        print(
            f"refservice listening http_url={urls['http_url']} ws_url={urls['ws_url']}",
            flush=True,
        )
    if settings.parent_pid is not None:
        watcher = asyncio.create_task(_stop_when_orphaned(server, settings.parent_pid))
    await task
    if settings.parent_pid is not None:
        watcher.cancel()
    return server.started


async def _stop_when_orphaned(server: uvicorn.Server, parent_pid: int) -> None:
    """Shut down once the parent is gone, e.g. a test run killed with SIGKILL."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(0.5)
    logger.warning("Parent process %d is gone; shutting down.", parent_pid)
    server.should_exit = True


def _drop_spurious_denial_error(record: logging.LogRecord) -> bool:
    """Hide the ERROR uvicorn's websockets-sansio logs after every denial response.

    The 401 reaches the client intact; uvicorn just forgets to mark the handshake done
    (upstream pull request Kludex/uvicorn#3138). Our endpoint always accepts or denies,
    so this exact message carries no information here.
    """
    return record.getMessage() != "ASGI callable returned without completing handshake."


def _demote_client_utf8_error(record: logging.LogRecord) -> bool:
    """Log a client's invalid UTF-8 text frame as one WARNING line, not an ERROR traceback.

    uvicorn's websockets-sansio closes such a connection with 1007 (correct), but logs it
    with ``logger.exception``: a hostile client could fill the log with tracebacks.
    """
    if record.getMessage() == "Invalid UTF-8 sequence received from client.":
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "Invalid UTF-8 sequence received from client; closed with 1007."
        record.exc_info, record.exc_text = None, None
    return True


def _after_graceful_shutdown(signum: int, frame: object) -> None:
    logger.info("Stopped by signal %d.", signum)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = load_settings(argv)
        TokenService(settings)  # refuses weak keys before anything listens
        check_tls_files(settings)
    except ConfigError as error:
        print(f"refservice: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if settings.log_level == "trace" else settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.url_file is not None:
        settings.url_file.unlink(missing_ok=True)
    try:
        sock = bind_socket(settings.host, settings.port, settings.bind_timeout)
    except OSError as error:
        print(
            f"refservice: cannot listen on {settings.host}:{settings.port}: {error}",
            file=sys.stderr,
        )
        return 1
    # uvicorn handles SIGTERM gracefully, then re-raises it with the previous handler
    # restored. A handler that does nothing lets the process finish cleanly (exit 0, URL
    # file removed) instead of dying from the re-raised signal.
    signal.signal(signal.SIGTERM, _after_graceful_shutdown)
    try:
        started = asyncio.run(serve(settings, sock))
    except KeyboardInterrupt:
        started = True
    finally:
        sock.close()
        if settings.url_file is not None:
            settings.url_file.unlink(missing_ok=True)
    return 0 if started else 1


if __name__ == "__main__":
    sys.exit(main())
