"""Requests and their replies on one connection: correlation, bulk sends, reply times.

Nothing here knows about Robot Framework. A request is any message; its reply
is the first message matching the request's criteria that arrived after the
request was sent. Reply times run from the moment sending began to the arrival
recorded by the read loop, so how late a caller looks does not count.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .connection import WebSocketConnection, compact_json
from .group import fill
from .inbox import Message
from .latency import LatencyFigures
from .matchers import Criteria

_correlation_ids = itertools.count(1)
CORRELATION_PREFIX = "wsqa-"
"""Correlation ids the library fills in are ``wsqa-1``, ``wsqa-2``..., unique in the process."""


def encode(message: Any) -> str | bytes:
    """What goes on the wire: a dict or list as compact JSON, a string as is, bytes as binary."""
    if isinstance(message, (str, bytes)):
        return message
    if isinstance(message, bytearray):
        return bytes(message)
    return compact_json(message)


def correlated(message: Any, field_name: str) -> tuple[Any, Any]:
    """``message`` with ``field_name`` set to a fresh id unless it has one; and that id.

    ``message`` is a dict or a JSON object as text; ``ValueError`` otherwise.
    """
    document = message
    if isinstance(message, str):
        try:
            document = json.loads(message)
        except ValueError:
            document = None
    if not isinstance(document, Mapping):
        raise ValueError(f"A correlation field needs a JSON object to put it in, got {message!r}.")
    if field_name in document:
        return message, document[field_name]
    # Text, so that it cannot meet the small numbers tests give their own requests.
    value = f"{CORRELATION_PREFIX}{next(_correlation_ids)}"
    return {**document, field_name: value}, value


def request_criteria(
    fields: Mapping[str, Any], regex: str | None, index: int | None = None
) -> Criteria:
    """The criteria of a reply; with ``index``, ``{i}`` in the values and regex filled in."""
    if index is not None:
        fields = {path: fill(value, index, exact_as_number=False) for path, value in fields.items()}
        regex = None if regex is None else fill(regex, index)
    return Criteria(dict(fields), regex)


@dataclass
class RepliesCollector:
    """Takes, for each request, the first message matching its criteria (see inbox.Collector).

    Replies usually arrive in the order of their requests, so each message is
    offered to the oldest open requests first. Whatever matched is taken, even
    when some requests get no reply: those are the errors.
    """

    criteria: Sequence[Criteria]
    replies: dict[int, Message] = field(default_factory=dict)
    _open: dict[int, Criteria] = field(init=False)

    def __post_init__(self) -> None:
        self._open = dict(enumerate(self.criteria))

    def offer(self, message: Message) -> bool:
        for position, criteria in self._open.items():
            if criteria(message):
                del self._open[position]
                self.replies[position] = message
                return True
        return False

    @property
    def finished(self) -> bool:
        return not self._open

    satisfied = True

    def restart(self) -> None:
        self.replies.clear()
        self.__post_init__()


@dataclass(frozen=True)
class Measurement:
    """Reply times of ``count`` requests; ``missing`` lists those without a reply (from 1)."""

    count: int
    times: list[float]
    missing: list[int]

    @property
    def figures(self) -> LatencyFigures:
        return LatencyFigures.of(self.times, errors=len(self.missing))


def measure_sequential(
    connection: WebSocketConnection,
    messages: Sequence[Any],
    criteria: Sequence[Criteria],
    timeout: float,
) -> Measurement:
    """Send each message and wait up to ``timeout`` for its reply before sending the next.

    Stops sending when the connection closes: the rest count as missing.
    """
    times: list[float] = []
    missing: list[int] = []
    for position, (message, wanted) in enumerate(zip(messages, criteria, strict=True), start=1):
        if connection.closed is not None:
            missing.extend(range(position, len(messages) + 1))
            break
        started = send(connection, message)
        reply = connection.inbox.take(replace(wanted, arrived_after=started), timeout)
        if reply is None:
            missing.append(position)
        else:
            times.append(reply.monotonic - started)
    return Measurement(len(messages), times, missing)


def measure_pipelined(
    connection: WebSocketConnection,
    messages: Sequence[Any],
    criteria: Sequence[Criteria],
    timeout: float,
) -> Measurement:
    """Send every message at once, then wait up to ``timeout`` in all for their replies.

    Each reply time runs from the start of the bulk send.
    """
    started = connection.send_many([encode(m) for m in messages])
    collector = RepliesCollector([replace(c, arrived_after=started) for c in criteria])
    connection.inbox.collect(collector, timeout)
    times = [collector.replies[p].monotonic - started for p in sorted(collector.replies)]
    missing = [p + 1 for p in range(len(messages)) if p not in collector.replies]
    return Measurement(len(messages), times, missing)


def send(connection: WebSocketConnection, message: Any) -> float:
    """Send one message as :func:`encode` says; the monotonic time sending began."""
    data = encode(message)
    if isinstance(data, str):
        return connection.send_text(data)
    return connection.send_binary(data)
