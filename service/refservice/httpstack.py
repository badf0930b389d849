"""The HTTP stack: uvicorn's h11 protocol with a deadline for each request's head.

uvicorn closes an idle keep-alive connection, but it has no deadline for the request
itself: a TCP connection that sends nothing, or sends its headers a byte at a time
(slowloris), is held for ever, each costing a socket and memory. :class:`TimedH11Protocol`
gives every request ``request_timeout`` seconds from its first byte (from the
connection for the first request) to a complete head; then it answers 408 and closes.
A WebSocket upgrade ends the deadline once its request is complete, so an open
WebSocket is never touched.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("refservice")

_REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 35\r\nconnection: close\r\n\r\nNo complete request head in time.\r\n"
)


def timed_h11(request_timeout: float) -> type[H11Protocol]:
    """An h11 protocol class whose requests must arrive whole within ``request_timeout``."""

    class TimedH11Protocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._waiting_for_head():
                if self._head_deadline is None:
                    self._arm()  # a new request began on a kept-alive connection
            else:
                self._disarm()

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
