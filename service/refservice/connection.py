"""One open WebSocket: its outbox, its delivery cursor and the task that sends both.

A :class:`Connection` knows its socket, its session and the few things it is given:
how to read a user's events from the database, the outbox limits and the counters.
It does not know the registry or the other connections; fan-out goes through
:class:`refservice.registry.Registry`, which calls :meth:`Connection.push` and
:meth:`Connection.notify`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from refservice.metrics import Metrics
from refservice.protocol import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_INTERNAL_ERROR_REASON,
    CLOSE_TOO_SLOW,
    CLOSE_TOO_SLOW_REASON,
    Session,
    encode,
)

logger = logging.getLogger("refservice")

# Events read from the database per query when delivering a backlog.
DELIVERY_BATCH = 500

EventReader = Callable[[str, int, int], Awaitable[list[dict[str, Any]]]]
"""``(user, first_seq, limit)``: up to ``limit`` of the user's events from ``first_seq``."""


@dataclass(frozen=True)
class OutboxLimits:
    """How much may wait to be sent on one connection before it is closed with 4009."""

    messages: int
    bytes: int


class Connection:
    """Sends a connection's replies, pushes and queued events, one frame at a time.

    Only the writer task sends (after ``welcome``), so frames never interleave. Events
    are read from the database starting at :attr:`cursor`; a ``resume`` moves the cursor
    and bumps :attr:`generation`, which makes the writer drop whatever it had read for
    the old position. Events therefore reach each connection in seq order, without gaps
    (an event is deleted only after it is acknowledged *and* sent on every open
    connection of its user).
    """

    def __init__(
        self,
        websocket: WebSocket,
        session: Session,
        *,
        read_events: EventReader,
        limits: OutboxLimits,
        metrics: Metrics,
    ) -> None:
        self.websocket = websocket
        self.session = session
        self.read_events = read_events
        self.limits = limits
        self.metrics = metrics
        self.cursor = session.delivery_from
        self.generation = 0
        self.events_pending = True
        self.outbox: deque[str | bytes] = deque()
        self.outbox_bytes = 0
        # Set when the outbox overflowed: nothing more is queued, the close is under way.
        self.closing = False
        self.wake = asyncio.Event()
        self.wake.set()
        self.task: asyncio.Task[None] | None = None
        self.close_task: asyncio.Task[None] | None = None
        # Set by close_after_sending: the close frame the writer sends after the outbox.
        self.final_close: tuple[int, str] | None = None

    def push(self, data: str | bytes) -> None:
        if self.closing:
            return
        self.outbox.append(data)
        self.outbox_bytes += frame_size(data)
        if len(self.outbox) > self.limits.messages or self.outbox_bytes > self.limits.bytes:
            self._overflow()
            return
        self.wake.set()

    def _overflow(self) -> None:
        """The client does not read fast enough: drop its outbox and close with 4009.

        The writer is cancelled (it may be blocked on a full TCP buffer) and the close
        frame goes out as soon as the socket is writable; the memory held for this
        connection is bounded from now on, and other connections are not affected.
        """
        logger.warning(
            "Closing connection %s for %s with %d: %d messages (%d bytes) waiting to be sent",
            self.session.connection_id,
            self.session.user,
            CLOSE_TOO_SLOW,
            len(self.outbox),
            self.outbox_bytes,
        )
        self.closing = True
        self.outbox.clear()
        self.outbox_bytes = 0
        if self.task is not None:
            self.task.cancel()
        self.close_task = asyncio.get_running_loop().create_task(
            close_quietly(self.websocket, CLOSE_TOO_SLOW, CLOSE_TOO_SLOW_REASON)
        )

    def close_after_sending(self, code: int, reason: str) -> None:
        """Close with ``code`` once what is already in the outbox has been sent.

        Nothing more is queued (no replies, pushes or events), so the client reads the
        answers it was owed, then the close frame. A client that does not read holds
        only what was queued; the heartbeat ends it if it never reads again.
        """
        if self.closing:
            return
        self.closing = True
        self.final_close = (code, reason)
        self.wake.set()

    def notify(self) -> None:
        self.events_pending = True
        self.wake.set()

    def restart_delivery(self, from_seq: int) -> None:
        self.cursor = from_seq
        self.generation += 1
        self.notify()

    async def send(self, data: str | bytes) -> None:
        """Send one frame now (the welcome; everything later goes through the writer)."""
        await send_frame(self.websocket, data)
        self.metrics.message_sent()

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _run(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                await self._flush()
                if self.final_close is not None:
                    await close_quietly(self.websocket, *self.final_close)
                    return
                if self.events_pending:
                    self.events_pending = False
                    await self._deliver()
        except asyncio.CancelledError:
            raise
        except (WebSocketDisconnect, OSError) as error:  # the peer is gone
            logger.debug("Writer of %s stopped: %r", self.session.connection_id, error)
        except Exception as error:
            # Anything else would leave an open socket that is never sent to again:
            # close it, so the client sees 1011 and can reconnect.
            logger.warning(
                "Writer of connection %s failed, closing it with %d: %r",
                self.session.connection_id,
                CLOSE_INTERNAL_ERROR,
                error,
            )
            await close_quietly(self.websocket, CLOSE_INTERNAL_ERROR, CLOSE_INTERNAL_ERROR_REASON)

    async def _flush(self) -> None:
        while self.outbox:
            data = self.outbox.popleft()
            self.outbox_bytes -= frame_size(data)
            await self.send(data)

    async def _deliver(self) -> None:
        generation = self.generation
        events = await self.read_events(self.session.user, self.cursor, DELIVERY_BATCH)
        for event in events:
            await self._flush()
            if generation != self.generation or self.final_close is not None:
                break
            await self.send(encode(event))
            self.metrics.events_delivered(1)
            if generation != self.generation:
                break
            self.cursor = event["seq"] + 1
        if generation != self.generation or len(events) == DELIVERY_BATCH:
            self.notify()


def frame_size(data: str | bytes) -> int:
    """Bytes of a frame's payload (UTF-8 for text)."""
    return len(data) if isinstance(data, bytes) else len(data.encode())


async def send_frame(websocket: WebSocket, data: str | bytes) -> None:
    if isinstance(data, bytes):
        await websocket.send_bytes(data)
    else:
        await websocket.send_text(data)


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Send a close frame; a peer that is already gone is not an error."""
    with suppress(WebSocketDisconnect, OSError, RuntimeError):
        await websocket.close(code, reason)
