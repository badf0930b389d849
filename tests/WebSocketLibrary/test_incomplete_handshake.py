"""Open Incomplete Handshake and its check, against raw TCP servers and the reference service."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from WebSocketLibrary.errors import HandshakeError, WebSocketLibraryError
from WebSocketLibrary.incomplete import HoldOutcome, incomplete_upgrade_request

# How late a close may be noticed on a loaded 2-core machine (the read loop's thread may
# wait for a core), and still count as on time.
TOLERANCE = 0.5
REQUEST_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@dataclass
class HoldingServer:
    """A TCP server that takes one request head, holds it ``hold`` seconds, then lets go."""

    url: str
    received: list[bytes] = field(default_factory=list)
    client_gone: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def holding_server() -> Iterator[Callable[..., HoldingServer]]:
    """``start(hold=None, answer=b"", reset=False)``: ``hold=None`` never lets go."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(hold: float | None, answer: bytes = b"", reset: bool = False) -> HoldingServer:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        server = HoldingServer(f"ws://127.0.0.1:{listener.getsockname()[1]}/ws?room=1")

        def serve() -> None:
            try:
                conn, _ = listener.accept()
            except OSError:  # Closed at teardown without a client.
                return
            data = b""
            while b"Sec-WebSocket-Version: 13\r\n" not in data:
                data += conn.recv(4096)
            server.received.append(data)
            # The client sends nothing more; an empty read means it gave up.
            conn.settimeout(hold)
            try:
                if not conn.recv(1):
                    server.client_gone.set()
                    return
            except TimeoutError:
                pass
            if stop.is_set():
                return
            if answer:
                conn.sendall(answer)
            if reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return server

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def test_the_request_head_has_no_final_blank_line():
    request = incomplete_upgrade_request("ws://127.0.0.1:9/ws?access_token=t", {"Origin": "o"})
    lines = request.split(b"\r\n")
    assert lines[0] == b"GET /ws?access_token=t HTTP/1.1"
    assert b"Host: 127.0.0.1:9" in lines
    assert b"Upgrade: websocket" in lines
    assert b"Origin: o" in lines
    assert request.endswith(b"\r\n")
    assert b"\r\n\r\n" not in request


def test_a_url_that_is_not_websocket_is_refused():
    with pytest.raises(ValueError, match="ws:// or wss://"):
        incomplete_upgrade_request("http://127.0.0.1/")


def test_the_status_comes_from_the_status_line():
    assert HoldOutcome(1.0, REQUEST_408, "eof").status == 408
    assert HoldOutcome(1.0, b"", "eof").status is None
    assert HoldOutcome(1.0, b"garbage", "reset").status is None


def test_a_server_that_lets_go_in_time_passes_with_what_it_answered(library, holding_server):
    server = holding_server(0.3, answer=REQUEST_408)
    name = library.call("Open Incomplete Handshake", server.url, "slow")
    outcome = library.call(
        "Incomplete Handshake Should Be Closed Within", name, timedelta(seconds=2)
    )
    assert 0.3 <= outcome.held < 0.3 + TOLERANCE
    assert outcome.status == 408
    assert outcome.response.startswith("HTTP/1.1 408")
    assert outcome.closed_by == "eof"
    assert server.received[0].startswith(b"GET /ws?room=1 HTTP/1.1\r\n")
    assert b"\r\n\r\n" not in server.received[0]


def test_a_reset_is_a_close_too(library, holding_server):
    server = holding_server(0.1, reset=True)
    library.call("Open Incomplete Handshake", server.url, "slow")
    outcome = library.call(
        "Incomplete Handshake Should Be Closed Within", "slow", timedelta(seconds=2)
    )
    assert outcome.closed_by == "reset"
    assert outcome.status is None


def test_a_server_that_holds_on_fails_naming_how_long(library, holding_server):
    server = holding_server(None)
    library.call("Open Incomplete Handshake", server.url, "slow")
    with pytest.raises(
        WebSocketLibraryError,
        match=r"'slow' to ws://127\.0\.0\.1:\d+/ws\?room=1 was still held open 0\.[3-9]\d\d s "
        r"after its request, expected the server to close it within 300ms\.",
    ):
        library.call("Incomplete Handshake Should Be Closed Within", "slow", timedelta(seconds=0.3))


def test_a_close_later_than_the_limit_fails_naming_how_long(library, holding_server):
    server = holding_server(0.4)
    library.call("Open Incomplete Handshake", server.url, "slow")
    outcome = library.call(
        "Incomplete Handshake Should Be Closed Within", "slow", timedelta(seconds=2)
    )
    with pytest.raises(
        WebSocketLibraryError,
        match=rf"'slow' .* was held {outcome.held:.3f} s before the server closed it, "
        r"expected at most 200ms\.",
    ):
        library.call("Incomplete Handshake Should Be Closed Within", "slow", timedelta(seconds=0.2))


def test_close_all_connections_gives_up_on_it(library, holding_server):
    server = holding_server(None)
    library.call("Open Incomplete Handshake", server.url, "slow")
    library.call("Close All Connections")
    assert server.client_gone.wait(2)
    with pytest.raises(WebSocketLibraryError, match="No incomplete handshake named 'slow'"):
        library.call("Incomplete Handshake Should Be Closed Within", "slow", timedelta(seconds=0.1))


def test_names_are_unique_and_generated_when_not_given(library, holding_server):
    first = library.call("Open Incomplete Handshake", holding_server(None).url)
    assert first == "incomplete #1"
    with pytest.raises(WebSocketLibraryError, match="'incomplete #1' is already open"):
        library.call("Open Incomplete Handshake", holding_server(None).url, first)


def test_an_unreachable_server_fails_clearly(library):
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    with pytest.raises(HandshakeError, match=f"'gone' to ws://127.0.0.1:{port}/: .*refused"):
        library.call("Open Incomplete Handshake", f"ws://127.0.0.1:{port}/", "gone")


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_the_reference_service_answers_408_after_its_request_timeout(library, make_service, tls):
    service = make_service(tls=tls, request_timeout=0.5)
    library.call("Open Incomplete Handshake", service.ws_url, "slow", ca_file=service.ca_file)
    outcome = library.call(
        "Incomplete Handshake Should Be Closed Within", "slow", timedelta(seconds=0.5 + TOLERANCE)
    )
    assert outcome.status == 408
    assert outcome.held >= 0.5
