"""A connection that does not send a whole request head in time is answered 408 and closed."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from ReferenceServiceLibrary.process import ServiceProcess

TIMEOUT = 0.5
# How late the close may come: the event loop's timer on a loaded machine.
TOLERANCE = 1.0


@pytest.fixture
def timed(make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]) -> Any:
    return client_for(make_service(request_timeout=TIMEOUT))


def raw(service_url: str) -> socket.socket:
    url = urlsplit(service_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT + TOLERANCE + 2)
    return sock


def health(sock: socket.socket) -> bytes:
    """Ask for /health on a kept-alive connection; the whole response."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while not data.endswith(b'{"status":"ok"}'):
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def read_all(sock: socket.socket) -> tuple[bytes, float]:
    """Everything until the server closes, and when it did."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data, time.monotonic()


def test_a_silent_connection_is_closed_with_408(timed: Any) -> None:
    started = time.monotonic()
    with raw(timed.http_url) as sock:
        data, closed_at = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert TIMEOUT <= closed_at - started <= TIMEOUT + TOLERANCE


def test_a_slowloris_handshake_is_closed_however_it_trickles(timed: Any) -> None:
    request = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    )
    started = time.monotonic()
    with raw(timed.http_url) as sock:
        try:
            for byte in request:  # one byte every 50 ms, never the final blank line
                sock.send(bytes([byte]))
                time.sleep(0.05)  # the trickle is the attack under test
        except OSError:
            pass  # closed on us mid-trickle, as it should be
        data, closed_at = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408"), data[:60]
    assert closed_at - started <= TIMEOUT + TOLERANCE


def test_a_slow_second_request_on_a_kept_alive_connection_is_closed(timed: Any) -> None:
    with raw(timed.http_url) as sock:
        assert health(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\n")  # and never the rest
        started = time.monotonic()
        data, closed_at = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408")
    assert closed_at - started <= TIMEOUT + TOLERANCE


def test_an_open_websocket_and_an_idle_kept_alive_connection_are_left_alone(timed: Any) -> None:
    ws = timed.connect()
    with raw(timed.http_url) as sock:
        assert health(sock).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT + TOLERANCE)  # past the deadline a request would have had
        assert health(sock).startswith(b"HTTP/1.1 200"), "keep-alive has its own timeout"
    ws.send('{"type": "echo", "id": 1}')
    assert '"echo"' in ws.recv()
    ws.close()
