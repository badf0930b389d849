"""The inbox: every message a connection receives, kept until a keyword takes it.

The background reader puts messages in; keywords wait on them. Nothing that
arrives between two keywords is lost, and messages that do not match what a
keyword waits for stay where they are for the next keyword.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

Predicate = Callable[["Message"], bool]


@dataclass(frozen=True)
class Message:
    """One complete WebSocket data message (all its fragments joined)."""

    data: str | bytes
    received_at: float
    """Wall-clock arrival time (seconds since the epoch)."""
    monotonic: float
    """Arrival time on the monotonic clock, for measuring durations."""
    sequence: int
    """Arrival order on its connection, starting at 1."""

    @property
    def is_binary(self) -> bool:
        return isinstance(self.data, bytes)

    @property
    def kind(self) -> str:
        return "binary" if self.is_binary else "text"

    @property
    def size(self) -> int:
        return len(self.data) if self.is_binary else len(self.data.encode("utf-8"))

    @cached_property
    def _parsed(self) -> tuple[bool, Any]:
        # Parsed once: matchers look at the same message many times while waiting.
        if self.is_binary:
            return False, None
        try:
            return True, json.loads(self.data)
        except ValueError:
            return False, None

    @property
    def is_json(self) -> bool:
        return self._parsed[0]

    @property
    def json(self) -> Any:
        """The parsed JSON of a text message; raises ``ValueError`` when it is not JSON."""
        ok, value = self._parsed
        if not ok:
            raise ValueError(f"{self.kind} message is not JSON")
        return value

    @property
    def json_or_none(self) -> Any:
        return self._parsed[1]

    @property
    def structured(self) -> Any:
        """A JSON object or array when the text is one, else the raw text or bytes."""
        value = self.json_or_none
        return value if isinstance(value, (dict, list)) else self.data


@dataclass(frozen=True)
class CloseInfo:
    """How a connection ended."""

    code: int | None
    """Close code from the peer's close frame; 1005 when it had none, 1006 when
    the connection dropped without a close frame."""
    reason: str
    initiated_by: str
    """``server``, ``client`` or ``network``."""
    at: float


class Collector(Protocol):
    """Decides, message by message, what a waiting keyword gathers and when it is done."""

    def offer(self, message: Message) -> bool:
        """Look at the next message; ``True`` when it belongs to the collection."""

    @property
    def finished(self) -> bool:
        """Waiting longer cannot change the outcome."""

    @property
    def satisfied(self) -> bool:
        """The collection is what was asked for: take its messages out of the inbox."""

    def restart(self) -> None:
        """Forget every offer: the inbox looks at its messages again from the start."""


@dataclass
class CountCollector:
    """The first ``count`` messages that match ``predicate``."""

    predicate: Predicate
    count: int
    gathered: int = 0

    def offer(self, message: Message) -> bool:
        if self.gathered < self.count and self.predicate(message):
            self.gathered += 1
            return True
        return False

    @property
    def finished(self) -> bool:
        return self.gathered >= self.count

    satisfied = finished

    def restart(self) -> None:
        self.gathered = 0


class Inbox:
    """Thread-safe store of received messages with blocking, selective take."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._condition = threading.Condition()
        self._closed: CloseInfo | None = None
        self._received = 0
        self._removals = 0  # Bumped whenever messages leave, so waiters know to rescan.
        self.pump: Callable[[float, int], bool] | None = None
        """Reads the connection in the waiting thread until bytes come or the deadline (a
        ``time.monotonic()`` value) passes, unless the count of received messages is no
        longer the one given; ``False`` when it cannot, and the wait is for another thread
        to put messages in."""

    # Producer side (the read loop).

    def put(self, data: str | bytes) -> Message:
        with self._condition:
            self._received += 1
            message = Message(data, time.time(), time.monotonic(), self._received)
            self._messages.append(message)
            self._condition.notify_all()
            return message

    def carry_over(self, messages: list[Message]) -> None:
        """Put messages from an earlier connection in front, keeping their arrival data."""
        with self._condition:
            self._messages = [*messages, *self._messages]
            self._removals += 1  # Positions moved: waiters rescan.
            self._condition.notify_all()

    def close(self, info: CloseInfo) -> None:
        with self._condition:
            if self._closed is None:
                self._closed = info
            self._condition.notify_all()

    # Consumer side (keywords).

    @property
    def closed(self) -> CloseInfo | None:
        return self._closed

    @property
    def received_count(self) -> int:
        return self._received

    def take(self, predicate: Predicate, timeout: float) -> Message | None:
        """Remove and return the first message matching ``predicate``.

        Waits up to ``timeout`` seconds. Returns ``None`` on timeout, or at once
        when the connection is closed and no queued message matches.
        """
        found = self.take_many(predicate, 1, timeout)
        return found[0] if len(found) == 1 else None

    def take_many(self, predicate: Predicate, count: int, timeout: float) -> list[Message]:
        """Remove ``count`` matching messages, all or none.

        Returns fewer than ``count`` (and removes nothing) when time runs out or
        the connection closes first, so the caller can report how far it got.
        """
        return self.collect(CountCollector(predicate, count), timeout)

    def peek(self, predicate: Predicate, timeout: float) -> Message | None:
        """Return the first matching message without removing it, waiting up to ``timeout``."""
        found = self.collect(CountCollector(predicate, 1), timeout, remove=False)
        return found[0] if found else None

    def collect(
        self, collector: Collector, timeout: float, *, remove: bool = True
    ) -> list[Message]:
        """Offer messages to ``collector``, waiting for new ones, until it is finished.

        Returns the messages it took, in arrival order. They leave the inbox only
        when the collector is satisfied (and ``remove`` is true): on a timeout, a
        close or a failed collection everything stays for the failure message and
        for later keywords. Gives up at once when the connection is closed.
        """
        with self._condition:
            gathered = self._gather(collector, timeout)
            if remove and collector.satisfied:
                taken = {id(m) for m in gathered}
                self._messages = [m for m in self._messages if id(m) not in taken]
                self._removals += 1
            return gathered

    def _gather(self, collector: Collector, timeout: float) -> list[Message]:
        # Each wake-up looks only at messages not seen yet, so a long inbox does not
        # make every arrival cost a full scan while the reader waits for the lock.
        deadline = time.monotonic() + timeout
        gathered: list[Message] = []
        scanned, removals = 0, self._removals
        while True:
            if removals != self._removals:  # Messages left or moved: look again from the start.
                collector.restart()
                gathered, scanned, removals = [], 0, self._removals
            while scanned < len(self._messages) and not collector.finished:
                message = self._messages[scanned]
                scanned += 1
                if collector.offer(message):
                    gathered.append(message)
            if collector.finished:
                return gathered
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed is not None:
                return gathered
            if not self._pumped(deadline):
                self._condition.wait(remaining)

    def _pumped(self, deadline: float) -> bool:
        if self.pump is None:
            return False
        received = self._received  # What the caller has looked at.
        # Released while reading: what the pump reads comes in through put().
        self._condition.release()
        try:
            return self.pump(deadline, received)
        finally:
            self._condition.acquire()

    def wait_for_close(self, timeout: float) -> CloseInfo | None:
        with self._condition:
            self._condition.wait_for(lambda: self._closed is not None, timeout)
            return self._closed

    def snapshot(self) -> list[Message]:
        with self._condition:
            return list(self._messages)

    def clear(self) -> list[Message]:
        with self._condition:
            removed, self._messages = self._messages, []
            self._removals += 1
            return removed

    def __len__(self) -> int:
        with self._condition:
            return len(self._messages)
