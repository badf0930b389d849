"""A small scriptable WebSocket server for the library's tests.

The library must work against any server, so besides the reference service
these tests use a plain ``websockets`` server whose behaviour each test picks
by path: ``/echo`` echoes, ``/close/<code>`` closes at once with that code,
``/hello`` sends three messages, ``/ping`` pings the client and reports whether
a pong came, ``/fragments`` sends one message in three frames, ``/bad-utf8``
sends a text frame that is not UTF-8, ``/refuse/<status>`` refuses the
handshake, ``/silent`` reads and never answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve


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
    else:
        for message in ws:
            ws.send(message)


def _process_request(ws: ServerConnection, request) -> Response | None:
    if request.path.startswith("/refuse/"):
        status = int(request.path.rsplit("/", 1)[1])
        body = b'{"error":"go_away","token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}'
        headers = Headers(
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return Response(status, "Refused", headers, body)
    return None


@pytest.fixture(scope="session")
def peer() -> Iterator[str]:
    """Base ``ws://`` URL of the scriptable server."""
    server: Server = serve(_handler, "127.0.0.1", 0, process_request=_process_request)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.socket.getsockname()[:2]
    yield f"ws://{host}:{port}"
    server.shutdown()
    thread.join(5)
