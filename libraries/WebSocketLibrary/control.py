"""Pings and pongs seen on one connection, for heartbeat keywords.

The read loop records every control frame it receives; keywords wait on
them here, as they wait on data messages in the inbox. Only the latest frames
are kept, so a connection open for hours does not grow without bound.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

KEPT_FRAMES = 1000


@dataclass(frozen=True)
class ControlFrame:
    number: int
    """Arrival order among frames of its kind, starting at 1."""
    payload: bytes
    monotonic: float


class ControlFrameLog:
    """Thread-safe record of received pings and pongs, in arrival order."""

    def __init__(self) -> None:
        self._pings: deque[ControlFrame] = deque(maxlen=KEPT_FRAMES)
        self._pongs: deque[ControlFrame] = deque(maxlen=KEPT_FRAMES)
        self._counts = {"ping": 0, "pong": 0}
        self._condition = threading.Condition()
        self._closed = False

    @property
    def ping_count(self) -> int:
        return self._counts["ping"]

    def record_ping(self, payload: bytes) -> None:
        self._record("ping", self._pings, payload)

    def record_pong(self, payload: bytes) -> None:
        self._record("pong", self._pongs, payload)

    def _record(self, kind: str, frames: deque[ControlFrame], payload: bytes) -> None:
        with self._condition:
            self._counts[kind] += 1
            frames.append(ControlFrame(self._counts[kind], payload, time.monotonic()))
            self._condition.notify_all()

    def close(self) -> None:
        """No more frames will come; wake every waiter."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def wait_for_pong(self, payload: bytes, after: float, timeout: float) -> ControlFrame | None:
        """The first pong carrying ``payload`` that arrived after ``after`` (monotonic)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for pong in self._pongs:
                    if pong.monotonic >= after and pong.payload == payload:
                        return pong
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return None
                self._condition.wait(remaining)

    def wait_for_pings(self, count: int, after: int, timeout: float) -> list[ControlFrame]:
        """``count`` pings numbered above ``after``; fewer if time or the connection runs out."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._counts["ping"] - after < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    break
                self._condition.wait(remaining)
            return [ping for ping in self._pings if ping.number > after][:count]
