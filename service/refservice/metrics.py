"""Connection and message counters, exposed as JSON by ``GET /metrics``."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with a ``Z`` suffix and milliseconds."""
    return iso_time(time.time())


def iso_time(epoch_seconds: float) -> str:
    """``epoch_seconds`` as ISO 8601 UTC with a ``Z`` suffix and milliseconds."""
    moment = datetime.fromtimestamp(epoch_seconds, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Metrics:
    """Counters updated by the WebSocket endpoint. All methods are thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started_monotonic = time.monotonic()
        self.started_at = utc_now_iso()
        self._per_user: Counter[str] = Counter()
        self._received = 0
        self._sent = 0
        self._published = 0
        self._delivered = 0
        self._acked = 0

    def connection_opened(self, user: str) -> None:
        with self._lock:
            self._per_user[user] += 1

    def try_connection_opened(self, user: str, limit: int = 0) -> bool:
        """Count a new connection unless ``user`` already has ``limit`` (0: no limit).

        Checking and counting happen under one lock, so concurrent handshakes of the same
        user can never overshoot the limit.
        """
        with self._lock:
            if limit and self._per_user[user] >= limit:  # a Counter lookup adds no key
                return False
            self._per_user[user] += 1
            return True

    def connection_closed(self, user: str) -> None:
        with self._lock:
            self._per_user[user] -= 1
            if self._per_user[user] <= 0:
                del self._per_user[user]

    def message_received(self) -> None:
        with self._lock:
            self._received += 1

    def message_sent(self) -> None:
        with self._lock:
            self._sent += 1

    def events_published(self, count: int) -> None:
        """``count`` events were enqueued (one per recipient)."""
        with self._lock:
            self._published += count

    def events_delivered(self, count: int) -> None:
        """``count`` event frames were sent (redeliveries count again)."""
        with self._lock:
            self._delivered += count

    def events_acked(self, count: int) -> None:
        """``count`` events were acknowledged for the first time."""
        with self._lock:
            self._acked += count

    def open_connections(self, user: str | None = None) -> int:
        with self._lock:
            if user is None:
                return sum(self._per_user.values())
            return self._per_user.get(user, 0)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            per_user = dict(sorted(self._per_user.items()))
            return {
                "connections": {"open": sum(per_user.values()), "per_user": per_user},
                "messages": {"received": self._received, "sent": self._sent},
                "queue": {
                    "published": self._published,
                    "delivered": self._delivered,
                    "acked": self._acked,
                },
                "uptime_seconds": round(time.monotonic() - self._started_monotonic, 3),
                "started_at": self.started_at,
            }
