"""A small scriptable WebSocket server for the library's tests.

The library must work against any server, so besides the reference service
these tests use a plain ``websockets`` server whose behaviour each test picks
by path: ``/echo`` echoes, ``/close/<code>`` closes at once with that code,
``/hello`` sends three messages, ``/ping`` pings the client and reports whether
a pong came, ``/fragments`` sends one message in three frames, ``/bad-utf8``
sends a text frame that is not UTF-8, ``/refuse/<status>`` refuses the
handshake, ``/redirect`` answers 302, ``/silent`` reads and never answers,
``/lossy-echo`` echoes all but every third message,
``/slow-echo`` echoes each message after ``SLOW_SECONDS`` and ``/slow-handshake`` takes
``SLOW_SECONDS`` to accept the handshake, for the failing side of the latency budgets.

``raw_peer`` is lower still: after the handshake it hands the bare TCP socket
to a script, for servers that misbehave in ways a WebSocket library refuses to.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from peer_timing import SLOW_SECONDS
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve

from WebSocketLibrary import WebSocketLibrary


def _handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request else "/"
    if path.startswith("/close/"):
        ws.close(int(path.rsplit("/", 1)[1]), "closing as asked")
    elif path == "/hello":
        for text in ('{"type":"greeting","n":1}', "plain text", b"\x00\x01"):
            ws.send(text)
        ws.wait_closed()
    elif path == "/ping":
        time.sleep(0.2)  # Long enough that no keyword is running when the ping comes.
        answered = ws.ping(b"are you there").wait(1)
        ws.send("pong received" if answered else "no pong")
        ws.wait_closed()
    elif path == "/fragments":
        ws.send(["frag", "ment", "ed"])
        ws.wait_closed()
    elif path == "/bad-utf8":
        ws.send(b"\xff\xfe", text=True)
        ws.wait_closed()
    elif path == "/silent":
        for _ in ws:
            pass
    elif path == "/lossy-echo":
        for number, message in enumerate(ws, start=1):
            if number % 3:
                ws.send(message)
    elif path == "/slow-echo":
        for message in ws:
            time.sleep(SLOW_SECONDS)
            ws.send(message)
    else:
        for message in ws:
            ws.send(message)


def _process_request(ws: ServerConnection, request) -> Response | None:
    if request.path == "/slow-handshake":
        time.sleep(SLOW_SECONDS)  # Each connection has its own thread: only this one waits.
        return None
    if request.path == "/redirect":
        headers = Headers([("Location", "ws://127.0.0.1:1/elsewhere"), ("Content-Length", "0")])
        return Response(302, "Found", headers, b"")
    if request.path.startswith("/refuse/"):
        status = int(request.path.rsplit("/", 1)[1])
        body = b'{"error":"go_away","token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}'
        headers = Headers(
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return Response(status, "Refused", headers, body)
    return None


class LibraryUnderTest(WebSocketLibrary):
    def call(self, name: str, *args, **kwargs):
        """Run a keyword by its Robot Framework name, the way Robot Framework calls it."""
        return self.run_keyword(name.lower().replace(" ", "_"), args, kwargs)


@pytest.fixture
def library() -> Iterator[LibraryUnderTest]:
    """The library with a 2 s default timeout; everything is closed afterwards."""
    lib = LibraryUnderTest(timeout=timedelta(seconds=2))
    yield lib
    lib.close_all()


def _serve(**options) -> Iterator[str]:
    server: Server = serve(_handler, "127.0.0.1", 0, process_request=_process_request, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.socket.getsockname()[:2]
    yield f"ws://{host}:{port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def peer() -> Iterator[str]:
    """Base ``ws://`` URL of the scriptable server."""
    yield from _serve()


@pytest.fixture(scope="session")
def pinging_peer() -> Iterator[str]:
    """The scriptable server with a heartbeat: a ping every 0.1 s, 0.2 s to answer."""
    yield from _serve(ping_interval=0.1, ping_timeout=0.2)


_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _accept_handshake(conn: socket.socket) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(4096)
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID.encode()).digest())
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


@pytest.fixture
def raw_peer() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """Start a one-handshake-per-connection server running ``script(sock)``; returns its URL."""
    listeners: list[socket.socket] = []

    def start(script: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                _accept_handshake(conn)
                threading.Thread(target=script, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return f"ws://127.0.0.1:{listener.getsockname()[1]}/"

    yield start
    for listener in listeners:
        listener.close()
