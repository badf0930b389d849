"""A client that starts a WebSocket opening handshake and never finishes it.

A slowloris client: it sends the request line and the headers of an upgrade
request, but not the blank line that ends the request head, and then waits for
the server to give up on it. Servers should close such a connection after a
request timeout; this measures when they do and keeps what they answered
(typically ``408 Request Timeout``).

Nothing here knows about Robot Framework. The socket is served by the process's
read loop (:mod:`.readloop`), so the moment of the server's close is recorded
when it happens, not when someone asks.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .readloop import READ_LOOP

DEFAULT_PORTS = {"ws": 80, "wss": 443}
#: The most of the server's answer kept; a 408 response is far smaller.
MAX_RESPONSE_BYTES = 2**16
READ_SIZE = 4096


def incomplete_upgrade_request(url: str, headers: Mapping[str, str] | None = None) -> bytes:
    """The head of a WebSocket upgrade request for ``url``, without its final blank line.

    Every header line ends with CRLF, but the empty line that ends the request
    head is missing, so a server keeps waiting for more headers. ``headers``
    are added after the standard ones.
    """
    parts = _split(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return "".join(f"{line}\r\n" for line in lines).encode("latin-1")


def _split(url: str):
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"Expected a ws:// or wss:// URL, got '{url}'.")
    return parts


@dataclass(frozen=True)
class HoldOutcome:
    """How long the server held an incomplete handshake, and how it let go."""

    held: float
    """Seconds from sending the request to the server's close, or until now if still open."""
    response: bytes
    """What the server sent before closing (at most ``MAX_RESPONSE_BYTES``)."""
    how: str
    """``eof`` (the server closed), ``reset`` (the server reset it), ``client`` (given up on
    by this side) or empty while still open."""

    @property
    def closed(self) -> bool:
        """Whether the server has closed the connection."""
        return self.how in ("eof", "reset")

    @property
    def status(self) -> int | None:
        """The HTTP status of the server's answer, if it sent a status line."""
        first = self.response.split(b"\r\n", 1)[0].split()
        if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit():
            return int(first[1])
        return None


class IncompleteHandshake:
    """One TCP (or TLS) connection that has sent an unfinished upgrade request."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        ca_file: str | None = None,
        verify: bool = True,
        name: str = "",
    ) -> None:
        self.url = url
        self.name = name or url
        self.request = incomplete_upgrade_request(url, headers)
        self.timeout = timeout
        self.ca_file = ca_file
        self.verify = verify
        self.sent_at: float | None = None
        """Monotonic time the request was sent: the server's clock starts about then."""
        self._sock: socket.socket | None = None
        self._response = bytearray()
        self._closed_at: float | None = None
        self._how = ""
        self._given_up = False
        self._finished = threading.Event()

    def open(self) -> None:
        """Connect (and do the TLS handshake for ``wss://``), then send the unfinished request.

        Raises ``OSError`` (``ssl.SSLError`` included) when that fails.
        """
        parts = _split(self.url)
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        sock = socket.create_connection((parts.hostname, port), timeout=self.timeout)
        try:
            if parts.scheme == "wss":
                sock = self._tls_context().wrap_socket(sock, server_hostname=parts.hostname)
            sock.sendall(self.request)
            self.sent_at = time.monotonic()
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        READ_LOOP.add(sock, self)

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def wait_closed(self, timeout: float) -> HoldOutcome:
        """Wait until the server closes, at most until ``timeout`` after the request was sent."""
        if self.sent_at is None:
            raise RuntimeError("The incomplete handshake was never opened.")
        remaining = self.sent_at + timeout - time.monotonic()
        self._finished.wait(max(remaining, 0.0))
        return self.outcome()

    def outcome(self) -> HoldOutcome:
        """How things stand now, without waiting."""
        sent_at = self.sent_at if self.sent_at is not None else time.monotonic()
        closed_at = self._closed_at
        end = closed_at if closed_at is not None else time.monotonic()
        return HoldOutcome(end - sent_at, bytes(self._response), self._how)

    def close(self) -> None:
        """Give up on the connection from this side (the server sees a FIN)."""
        sock = self._sock
        if sock is not None and not self._finished.is_set():
            self._given_up = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        READ_LOOP.join_if_idle(0)

    # Called by the read loop's thread.

    def on_readable(self) -> bool:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError):
                return True  # Nothing more for now (or only part of a TLS record).
            except ssl.SSLZeroReturnError:
                return self._ended("eof")
            except (ConnectionResetError, ssl.SSLEOFError):
                return self._ended("reset")
            except OSError:
                return self._ended("reset")
            if not data:
                return self._ended("eof")
            room = MAX_RESPONSE_BYTES - len(self._response)
            self._response += data[:room]

    def _ended(self, how: str) -> bool:
        if self._closed_at is None:
            self._closed_at = time.monotonic()
            self._how = "client" if self._given_up else how
        return False

    def on_finished(self) -> None:
        if self._closed_at is None:  # The loop let go of it without a read (closed here).
            self._closed_at = time.monotonic()
            self._how = "client"
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._finished.set()
