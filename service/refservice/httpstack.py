"""The HTTP stack: uvicorn's h11 protocol with a deadline for each request's head.

uvicorn closes an idle keep-alive connection, but it has no deadline for the request
itself: a TCP connection that sends nothing, or sends its headers a byte at a time
(slowloris), is held for ever, each costing a socket and memory. :class:`TimedH11Protocol`
gives every request ``request_timeout`` seconds from its first byte (from the
connection for the first request) to a complete head; then it answers 408 and closes.
A WebSocket upgrade ends the deadline once its request is complete, so an open
WebSocket is never touched.

It also bounds the request head: a header line over :data:`MAX_HEADER_LINE` bytes, or
a head over :data:`MAX_REQUEST_HEAD` bytes, is answered 431 before h11 (or, for an
upgrade, the WebSocket stack) sees it. h11 alone would accept any head that arrives in
one piece, and both h11 and the WebSocket stack close straight after their error
answer with the rest of the request unread, which makes the kernel send a reset that
can destroy the answer before the client reads it. So the 431 is followed by a
half-close: the service sends its FIN, discards what the client still sends, and
closes once the client closes too (or after :data:`LINGER_SECONDS`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("refservice")

_REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 35\r\nconnection: close\r\n\r\nNo complete request head in time.\r\n"
)

# The WebSocket stack's own line limit (websockets' max_line), so a plain request and an
# upgrade are held to the same rule; the whole head may be as large as h11's default.
MAX_HEADER_LINE = 8 * 1024
MAX_REQUEST_HEAD = 16 * 1024
# How long a refused connection is drained before it is closed regardless.
LINGER_SECONDS = 2.0

_HEAD_END = re.compile(rb"\n\r?\n")


def _error_response(status: int, phrase: str, error: str, message: str) -> bytes:
    body = json.dumps({"error": error, "message": message}).encode()
    return (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


_HEAD_TOO_LARGE_RESPONSE = _error_response(
    431,
    "Request Header Fields Too Large",
    "request_header_too_large",
    f"A header line is over {MAX_HEADER_LINE} bytes, or the request head is over "
    f"{MAX_REQUEST_HEAD} bytes.",
)


def head_too_large(buffered: bytes) -> bool:
    """Whether the request head at the start of ``buffered`` (complete or not) is too large."""
    end = _HEAD_END.search(buffered)
    head = buffered if end is None else buffered[: end.start()]
    if len(head) > MAX_REQUEST_HEAD:
        return True
    return any(len(line.rstrip(b"\r")) > MAX_HEADER_LINE for line in head.split(b"\n"))


def timed_h11(request_timeout: float) -> type[H11Protocol]:
    """An h11 protocol class whose requests must arrive whole within ``request_timeout``."""

    class TimedH11Protocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # draining what the client still sends after the 431
            if self.conn.their_state is h11.IDLE and head_too_large(
                self.conn.trailing_data[0] + data
            ):
                self._refuse_head()
                return
            super().data_received(data)
            if self._waiting_for_head():
                if self._head_deadline is None:
                    self._arm()  # a new request began on a kept-alive connection
            else:
                self._disarm()

        def eof_received(self) -> bool | None:
            if self._refused:
                self.transport.close()  # the client has read the 431 and closed
            return super().eof_received()

        def _refuse_head(self) -> None:
            """Answer 431, half-close, and drain the rest until the client closes."""
            self._disarm()
            self._refused = True
            client: Any = self.client
            logger.info(
                "Refused a request from %s: request head too large (431)",
                f"{client[0]}:{client[1]}" if client else "?",
            )
            self.transport.write(_HEAD_TOO_LARGE_RESPONSE)
            if self.transport.can_write_eof():
                self.transport.write_eof()
                self.loop.call_later(LINGER_SECONDS, self.transport.close)
            else:
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _waiting_for_head(self) -> bool:
            """True while part of a request head, or none of it, has arrived."""
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return False  # closed, or upgraded to a WebSocket
            return self.conn.their_state is h11.IDLE

        def _arm(self) -> None:
            self._disarm()
            if request_timeout:
                self._head_deadline = self.loop.call_later(request_timeout, self._timed_out)

        def _disarm(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _timed_out(self) -> None:
            self._head_deadline = None
            if not self._waiting_for_head():
                return
            client: Any = self.client
            logger.info(
                "Closed a connection from %s: no complete request within %s s",
                f"{client[0]}:{client[1]}" if client else "?",
                request_timeout,
            )
            self.transport.write(_REQUEST_TIMEOUT_RESPONSE)
            self.transport.close()

    return TimedH11Protocol
