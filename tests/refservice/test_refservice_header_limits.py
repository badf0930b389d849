"""An oversized request head is answered 431 and then EOF, for plain HTTP and upgrades alike."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

from refservice.httpstack import MAX_HEADER_LINE, MAX_REQUEST_HEAD, head_too_large

TIMEOUT = 5.0

HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n"
UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)
STARTS = {"plain request": HEALTH, "websocket upgrade": UPGRADE}


def long_line(length: int) -> bytes:
    """A header line of ``length`` bytes, not counting its CRLF."""
    return b"X-Long: " + b"a" * (length - len(b"X-Long: ")) + b"\r\n"


def many_lines(total: int) -> bytes:
    line = b"X-Many: " + b"b" * 990 + b"\r\n"
    return line * (total // len(line) + 1)


def exchange(service_url: str, request: bytes, *, pieces: int = 1) -> tuple[bytes, bool]:
    """Send ``request`` (in ``pieces`` writes), then read: ``(answer, ended with EOF)``.

    A reset instead of EOF, while sending or reading, counts as no clean end.
    """
    url = urlsplit(service_url)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        step = -(-len(request) // pieces)
        try:
            for start in range(0, len(request), step):
                sock.sendall(request[start : start + step])
        except OSError as error:
            return f"send failed: {error!r}".encode(), False
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError as error:
            return answer + f" [recv failed: {error!r}]".encode(), False
        return answer, True


@pytest.fixture
def http_url(service: Any) -> str:
    return str(service.http_url)


@pytest.mark.parametrize("start", STARTS.values(), ids=list(STARTS))
@pytest.mark.parametrize(
    ("headers", "pieces"),
    [
        (long_line(MAX_HEADER_LINE + 1000), 1),
        (many_lines(MAX_REQUEST_HEAD + 1000), 1),
        (many_lines(MAX_REQUEST_HEAD + 1000), 20),
        (long_line(1024 * 1024), 1),
    ],
    ids=["9 KB line", "17 KB head", "17 KB head in 20 writes", "1 MB line"],
)
def test_an_oversized_head_gets_431_and_then_eof(
    http_url: str, start: bytes, headers: bytes, pieces: int
) -> None:
    answer, clean_end = exchange(http_url, start + headers + b"\r\n", pieces=pieces)
    assert answer.startswith(b"HTTP/1.1 431 "), f"expected a 431 answer, got {answer[:120]!r}"
    assert b'"error": "request_header_too_large"' in answer, answer
    assert clean_end, f"expected EOF after the 431, got {answer[-120:]!r}"


@pytest.mark.parametrize(
    ("start", "status"),
    [(HEALTH, b"200"), (UPGRADE, b"401")],
    ids=["plain request", "websocket upgrade"],
)
def test_a_head_within_the_limits_is_served(http_url: str, start: bytes, status: bytes) -> None:
    headers = long_line(MAX_HEADER_LINE - 100) + b"Connection: close\r\n" * (start is HEALTH)
    answer, _ = exchange(http_url, start + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:120]


def test_the_service_keeps_serving_after_refusing_a_head(http_url: str, client: Any) -> None:
    exchange(http_url, HEALTH + long_line(MAX_HEADER_LINE + 1) + b"\r\n")
    ws = client.connect()
    ws.send('{"type": "echo", "id": 1}')
    assert '"echo"' in ws.recv()
    ws.close()


@pytest.mark.parametrize(
    ("buffered", "too_large"),
    [
        (HEALTH + long_line(MAX_HEADER_LINE) + b"\r\n", False),
        (HEALTH + long_line(MAX_HEADER_LINE + 1), True),  # incomplete, already over
        (HEALTH + b"\r\n" + b"x" * (MAX_REQUEST_HEAD * 2), False),  # the body does not count
        (HEALTH + many_lines(MAX_REQUEST_HEAD), True),
        (HEALTH.replace(b"\r\n", b"\n") + b"\n" + b"y" * MAX_REQUEST_HEAD * 2, False),
    ],
    ids=["line at the limit", "long partial line", "big body", "big head", "bare newlines"],
)
def test_head_too_large_measures_the_head_only(buffered: bytes, too_large: bool) -> None:
    assert head_too_large(buffered) is too_large
