"""Servers that break the rules: the client must fail cleanly and say why."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from datetime import timedelta

import pytest

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection
from WebSocketLibrary.errors import ConnectionClosedError, WebSocketLibraryError


def opened(url: str, timeout: float = 1.0) -> WebSocketConnection:
    connection = WebSocketConnection(url, ConnectOptions(timeout=timeout), name="raw")
    connection.open()
    return connection


def stall(sock: socket.socket) -> None:
    """Never read, never answer: the peer is frozen."""
    time.sleep(10)
    sock.close()


def frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = False) -> bytes:
    first = (0x80 if fin else 0) | opcode
    if masked:
        key = b"\x01\x02\x03\x04"
        body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return bytes([first, 0x80 | len(payload)]) + key + body
    if len(payload) < 126:
        return bytes([first, len(payload)]) + payload
    return bytes([first, 126]) + struct.pack("!H", len(payload)) + payload


def sends(data: bytes):
    def script(sock: socket.socket) -> None:
        sock.sendall(data)
        time.sleep(2)
        sock.close()

    return script


class SendsThenRecords:
    """A peer script: send ``data``, then keep what the client sends until it hangs up."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.received = bytearray()
        self.done = threading.Event()

    def __call__(self, sock: socket.socket) -> None:
        sock.sendall(self.data)
        sock.settimeout(3)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(4096):
                self.received.extend(chunk)
        self.done.set()
        sock.close()


def client_close_code(received: bytes) -> int:
    """The code of the masked close frame the client sent first."""
    assert received[0] == 0x88, f"expected the client's close frame, got {bytes(received[:2])!r}"
    key, body = received[2:6], received[6 : 6 + (received[1] & 0x7F)]
    return struct.unpack("!H", bytes(b ^ key[i % 4] for i, b in enumerate(body[:2])))[0]


def test_a_send_that_times_out_drops_the_connection(raw_peer):
    connection = opened(raw_peer(stall), timeout=0.5)
    with pytest.raises(ConnectionClosedError, match="was dropped, since a partly sent frame"):
        connection.send_binary(b"x" * 50_000_000)
    assert not connection.is_open
    assert connection.closed.reason.startswith("sending failed")
    with pytest.raises(ConnectionClosedError, match="Cannot send a message: .* is closed"):
        connection.send_text("after the failure")
    connection.close()


def test_close_without_an_answer_says_so(raw_peer):
    connection = opened(raw_peer(stall), timeout=0.3)
    closed = connection.close()
    assert closed.reason == "no close frame from the server before the timeout"
    assert closed.initiated_by == "client"
    assert not connection.reader_alive


def test_close_all_waits_for_all_connections_at_once(raw_peer):
    library = WebSocketLibrary(timeout=timedelta(seconds=0.5))
    url = raw_peer(stall)
    for n in range(8):
        library.run_keyword("connect", (url,), {"alias": f"c{n}"})
    started = time.monotonic()
    library.close_all()
    assert time.monotonic() - started < 1.5, "closes must share one timeout"
    assert not [t for t in threading.enumerate() if t.name.startswith("WebSocketLibrary-reader")]


def test_abort_is_reported_as_the_clients_doing(raw_peer):
    connection = opened(raw_peer(stall))
    connection.abort()
    assert (connection.closed.code, connection.closed.initiated_by) == (1006, "client")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (frame(0x9, b"p" * 126), "ping frame longer than 125 bytes"),
        (frame(0xA, b"pong", fin=False), "fragmented pong frame"),
        (frame(0x1, b"hi", masked=True), "the server masked a frame"),
        (frame(0x0, b"orphan"), "continuation frame with no message to continue"),
        (frame(0x1, b"a", fin=False) + frame(0x1, b"b"), "new data frame before the fragmented"),
        (bytes([0x83, 0]), "reserved opcode 3"),
        (bytes([0xC1, 0]), "reserved bits set (100) with no extension negotiated"),
    ],
)
def test_protocol_violations_fail_the_connection_with_1002(raw_peer, data, reason):
    connection = opened(raw_peer(sends(data)))
    closed = connection.inbox.wait_for_close(2)
    assert closed is not None
    assert (closed.code, closed.initiated_by) == (1002, "client")
    assert reason in closed.reason
    connection.close()


def test_a_server_that_drops_tcp_is_reported_as_network(raw_peer):
    def drop(sock: socket.socket) -> None:
        sock.close()

    connection = opened(raw_peer(drop))
    closed = connection.inbox.wait_for_close(2)
    assert (closed.code, closed.initiated_by) == (1006, "network")
    connection.close()


def test_close_code_out_of_range_is_a_clear_error(raw_peer):
    library = WebSocketLibrary(timeout=timedelta(seconds=0.5))
    library.run_keyword("connect", (raw_peer(stall),), {"alias": "c"})
    with pytest.raises(WebSocketLibraryError, match="Close code must be between 1000 and 4999"):
        library.run_keyword("close_connection", (70000,), {})
    with pytest.raises(WebSocketLibraryError, match="at most 123 bytes"):
        library.run_keyword("close_connection", (1000, "x" * 124), {})
    library.close_all()


def test_an_invalid_fragment_fails_the_connection_before_the_message_ends(raw_peer):
    """Fail fast: the server never finishes the message, yet the client closes with 1007."""
    # Valid on its own, then 0xF4 0x90 (above U+10FFFF); the final fragment never comes.
    script = SendsThenRecords(
        frame(0x1, "κόσμε".encode(), fin=False) + frame(0x0, b"\xf4\x90\x80\x80", fin=False)
    )
    connection = opened(raw_peer(script))
    closed = connection.inbox.wait_for_close(2)
    assert closed is not None, "the connection must fail without waiting for the last fragment"
    assert (closed.code, closed.initiated_by) == (1007, "client")
    assert "not valid UTF-8" in closed.reason
    connection.close()
    assert script.done.wait(3), "the server saw the client's close and the end of the stream"
    assert client_close_code(script.received) == 1007


def test_a_code_point_split_across_fragments_is_delivered_whole(raw_peer):
    euro = "€".encode()
    data = frame(0x1, euro[:2], fin=False) + frame(0x0, euro[2:], fin=False) + frame(0x0, b"!")
    connection = opened(raw_peer(sends(data)))
    message = connection.inbox.take(lambda m: True, 2)
    assert message is not None and message.data == "€!"
    assert connection.closed is None
    connection.close(timeout=0.2)


def test_a_message_over_the_limit_fails_with_1009_before_its_payload_is_read(raw_peer):
    """A server announcing 1 TiB: the client refuses at the header, buffering nothing."""
    script = SendsThenRecords(bytes([0x82, 127]) + struct.pack("!Q", 2**40) + b"x" * 1000)

    connection = WebSocketConnection(
        raw_peer(script), ConnectOptions(timeout=1, max_message_size=2**20), name="big"
    )
    connection.open()
    closed = connection.inbox.wait_for_close(2)
    assert closed is not None
    assert (closed.code, closed.initiated_by) == (1009, "client")
    assert closed.reason == (
        f"client failed the connection: message of {2**40} bytes is over the limit of {2**20} bytes"
    )
    connection.close()
    assert script.done.wait(3)
    assert client_close_code(script.received) == 1009


def test_the_limit_is_set_by_connect_and_by_the_library(raw_peer):
    url = raw_peer(sends(frame(0x2, b"y" * 300)))
    library = WebSocketLibrary(timeout=timedelta(seconds=1), max_message_size=200)
    library.run_keyword("connect", (url,), {"alias": "small"})
    library.run_keyword("connect", (url,), {"alias": "roomy", "max_message_size": 300})
    with pytest.raises(
        WebSocketLibraryError,
        match=r"'small' .* was closed by the client with code 1009, reason 'client failed the "
        r"connection: message of 300 bytes is over the limit of 200 bytes' before it received",
    ):
        library.run_keyword("receive_binary_message", (), {"connection": "small"})
    message = library.run_keyword("receive_binary_message", (), {"connection": "roomy"})
    assert message == b"y" * 300
    library.close_all()


def test_a_ping_during_a_stuck_send_holds_up_no_other_connection(raw_peer, peer):
    send_is_stuck, pinged = threading.Event(), threading.Event()

    def ping_then_stall(sock: socket.socket) -> None:
        """Ping once the client's big send is stuck on the full buffers; never read."""
        send_is_stuck.wait(10)
        sock.sendall(frame(0x9, b"are you there"))
        pinged.set()
        time.sleep(5)
        sock.close()

    stuck = opened(raw_peer(ping_then_stall), timeout=3)
    other = opened(f"{peer}/echo")

    def send_too_much() -> None:
        with contextlib.suppress(ConnectionClosedError):  # it times out, as it should
            stuck.send_binary(b"x" * 50_000_000)

    sending = threading.Thread(target=send_too_much)
    sending.start()
    try:
        # websocket-client holds its send lock once the frame is built and being written.
        deadline = time.monotonic() + 10
        while not stuck._ws.lock.locked() and time.monotonic() < deadline:
            time.sleep(0.01)
        send_is_stuck.set()
        assert pinged.wait(2)
        # The read loop has the ping, and its pong waits behind the stuck send's lock;
        # the other connection must still be served at once.
        assert stuck.control.wait_for_pings(1, 0, 1)
        started = time.monotonic()
        other.send_text("still served")
        assert other.inbox.take(lambda m: m.data == "still served", 1) is not None
        assert time.monotonic() - started < 1
    finally:
        sending.join(10)
        stuck.close(timeout=0.5)
        other.close()
