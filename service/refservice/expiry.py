"""Token expiry on an open connection: a warning before ``exp``, a 4001 close at ``exp``.

A WebSocket outlives the access token it was opened with. The watch sends
``auth.expiring`` ``warning`` seconds before the token's ``exp``, and closes the
connection with 4001 once ``exp`` (plus the configured leeway) has passed, unless the
client sent a fresh token with ``auth.refresh`` in time: then :meth:`ExpiryWatch.restart`
starts over with the new ``exp``, and the connection keeps its id and everything else.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from contextlib import suppress

from fastapi import WebSocket

from refservice.connection import Connection, close_quietly
from refservice.protocol import (
    CLOSE_TOKEN_EXPIRED,
    CLOSE_TOKEN_EXPIRED_REASON,
    auth_expiring,
    encode,
)

logger = logging.getLogger("refservice")


class ExpiryWatch:
    """Warns, then closes, one connection when its access token runs out."""

    def __init__(
        self, websocket: WebSocket, connection: Connection, *, warning: float, leeway: float
    ) -> None:
        self.websocket = websocket
        self.connection = connection
        self.warning = warning
        self.leeway = leeway
        self.expired = False
        self._task: asyncio.Task[None] | None = None

    def restart(self, expires: float | None) -> None:
        """Watch ``expires`` (epoch seconds) from now on; ``None`` or infinity: never."""
        self.stop_watching()
        if expires is not None and math.isfinite(expires):
            self._task = asyncio.get_running_loop().create_task(self._run(expires))

    def stop_watching(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self, expires: float) -> None:
        await _sleep_until(expires - self.warning)
        self.connection.push(encode(auth_expiring(expires, time.time())))
        await _sleep_until(expires + self.leeway)
        self.expired = True
        session = self.connection.session
        logger.info(
            "Closing connection %s for %s with %d: its access token expired",
            session.connection_id,
            session.user,
            CLOSE_TOKEN_EXPIRED,
        )
        await self.connection.stop()
        await close_quietly(self.websocket, CLOSE_TOKEN_EXPIRED, CLOSE_TOKEN_EXPIRED_REASON)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
