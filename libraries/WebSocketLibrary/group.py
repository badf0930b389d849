"""Many connections as one: open concurrently, send to all, wait until all have a message.

Nothing here knows about Robot Framework. A :class:`ConnectionGroup` owns its
members (ordinary :class:`WebSocketConnection` objects, numbered from 1), opens them
from a thread pool with a concurrency limit, and keeps what each handshake gave:
an open connection, or a refusal with its HTTP status and body, or an error.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .connection import (
    ConnectOptions,
    HandshakeRefusedError,
    WebSocketConnection,
    close_together,
)
from .errors import HandshakeError
from .inbox import CloseInfo, Message
from .latency import percentile

Predicate = Callable[[Message], bool]
PredicateFor = Callable[[int], Predicate]
"""The criteria of one member, by its index (criteria may differ per member)."""

INDEX_PLACEHOLDER = "{i}"
"""Replaced by the member's index (from 1) in URL, header and message templates."""

# Descriptors beyond one per connection: the interpreter, logs, the service's pipes.
_SPARE_FILE_DESCRIPTORS = 256


@dataclass(frozen=True)
class MemberResult:
    """How one member's opening handshake ended."""

    index: int
    name: str
    opened: bool
    status: int | None = None
    """HTTP status: 101 when opened, the refusal's otherwise; ``None`` with no answer."""
    body: str = ""
    error: str = ""
    handshake_seconds: float | None = None


def fill(template: Any, index: int, *, exact_as_number: bool = True) -> Any:
    """``template`` with ``{i}`` replaced by ``index`` in every string inside it.

    A string that is exactly ``{i}`` becomes the number itself (unless
    ``exact_as_number`` is false), so a JSON template ``{"id": "{i}"}`` gives
    ``{"id": 3}``. Replacement is textual, not ``str.format``, so JSON braces need
    no escaping.
    """
    if isinstance(template, str):
        if template == INDEX_PLACEHOLDER and exact_as_number:
            return index
        return template.replace(INDEX_PLACEHOLDER, str(index))
    if isinstance(template, Mapping):
        return {
            fill(key, index, exact_as_number=exact_as_number): fill(
                value, index, exact_as_number=exact_as_number
            )
            for key, value in template.items()
        }
    if isinstance(template, list | tuple):
        return [fill(item, index, exact_as_number=exact_as_number) for item in template]
    return template


def has_placeholder(template: Any) -> bool:
    """Whether ``{i}`` appears in any string inside ``template``."""
    if isinstance(template, str):
        return INDEX_PLACEHOLDER in template
    if isinstance(template, Mapping):
        return any(has_placeholder(k) or has_placeholder(v) for k, v in template.items())
    if isinstance(template, list | tuple):
        return any(has_placeholder(item) for item in template)
    return False


def per_member(value: Any, count: int, what: str) -> list[Any]:
    """One value per member: a list of ``count`` values as it is, or a template filled."""
    if isinstance(value, list | tuple):
        if len(value) != count:
            raise ValueError(f"Expected one {what} per connection ({count}), got {len(value)}.")
        return list(value)
    return [fill(value, index) for index in range(1, count + 1)]


def ensure_file_descriptors(needed: int) -> str:
    """Raise the soft limit of open files to fit ``needed`` more; say what was done.

    Raises ``OSError`` naming both limits when the hard limit is too low.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed + _SPARE_FILE_DESCRIPTORS
    if wanted <= soft:
        return ""
    if hard != resource.RLIM_INFINITY and wanted > hard:
        raise OSError(
            f"{needed} connections need about {wanted} file descriptors, but this process may "
            f"open at most {hard} (soft limit {soft}, hard limit {hard}). Raise the hard "
            "limit (ulimit -Hn, or LimitNOFILE for a service) or open fewer connections."
        )
    new_soft = wanted if hard == resource.RLIM_INFINITY else max(wanted, min(hard, 65536))
    resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    return f"raised the soft limit of open files from {soft} to {new_soft} (hard {hard})"


@dataclass(frozen=True)
class GroupOutcomes:
    """How each member's wait ended: a match, a close, still waiting, or never opened."""

    matched: dict[int, Message]
    closed: dict[int, CloseInfo]
    waiting: list[int]
    refused: list[int]

    def close_codes(self) -> dict[int | None, int]:
        """How many members closed with each close code."""
        counts: dict[int | None, int] = {}
        for info in self.closed.values():
            counts[info.code] = counts.get(info.code, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or 0)))


class ConnectionGroup:
    """Connections opened together under one name; members are numbered from 1."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: dict[int, WebSocketConnection] = {}
        self.results: list[MemberResult] = []
        self.limit_note = ""
        self.last_send_monotonic: float | None = None
        self.last_arrivals: dict[int, Message] = {}
        """What the last wait took from each member, for the arrival figures."""

    def member_name(self, index: int) -> str:
        return f"{self.name}:{index}"

    def open(
        self,
        urls: Sequence[str],
        options: Sequence[ConnectOptions],
        concurrency: int,
    ) -> list[MemberResult]:
        """Open one member per URL, at most ``concurrency`` handshakes at a time."""
        if concurrency < 1:
            raise ValueError(f"Concurrency must be 1 or more, got {concurrency}.")
        self.limit_note = ensure_file_descriptors(len(urls))
        first = len(self.results) + 1

        def open_one(offset: int) -> MemberResult:
            index = first + offset
            connection = WebSocketConnection(
                urls[offset], options[offset], name=self.member_name(index)
            )
            try:
                connection.open()
            except HandshakeRefusedError as refused:
                refusal = refused.refusal
                return MemberResult(
                    index, connection.name, False, refusal.status, refusal.text, str(refused)
                )
            except HandshakeError as error:
                return MemberResult(index, connection.name, False, error=str(error))
            self.members[index] = connection
            return MemberResult(
                index,
                connection.name,
                True,
                connection.response_status,
                handshake_seconds=connection.handshake_seconds,
            )

        with ThreadPoolExecutor(concurrency, thread_name_prefix=f"group-{self.name}") as pool:
            results = list(pool.map(open_one, range(len(urls))))
        self.results += results
        return results

    # Members.

    def open_indexes(self) -> list[int]:
        return [i for i in sorted(self.members) if self.members[i].is_open]

    def waiting_indexes(self) -> list[int]:
        """Members a group wait covers: all but those the client closed on purpose.

        A member the server closed, or that dropped, still counts: it is one that did
        not get its message.
        """
        return [
            index
            for index in sorted(self.members)
            if (closed := self.members[index].closed) is None or closed.initiated_by != "client"
        ]

    def open_members(self) -> list[WebSocketConnection]:
        return [self.members[i] for i in self.open_indexes()]

    def member(self, index: int) -> WebSocketConnection:
        try:
            return self.members[index]
        except KeyError:
            known = f"1 to {len(self.results)}" if self.results else "none"
            refused = [r.index for r in self.results if not r.opened]
            raise LookupError(
                f"Group '{self.name}' has no open member {index} (members {known}"
                + (f"; never opened: {_list_indexes(refused)}" if refused else "")
                + ")."
            ) from None

    # Sending and waiting.

    def send(
        self, send_one: Callable[[WebSocketConnection, Any], object], messages: list[Any]
    ) -> int:
        """Send ``messages[n]`` to the n-th open member; the number of members sent to."""
        members = self.open_members()
        if len(messages) != len(members):
            raise ValueError(
                f"Expected one message per open member ({len(members)}), got {len(messages)}."
            )
        self.last_send_monotonic = time.monotonic()
        for connection, message in zip(members, messages, strict=True):
            send_one(connection, message)
        return len(members)

    def take_from_all(
        self, predicate_for: PredicateFor, timeout: float
    ) -> tuple[dict[int, Message], list[int]]:
        """Take the first matching message of every member, within one timeout.

        Returns what each member got and the indexes that got nothing in time (a
        member that is closed and has no match gives up at once; one the client
        closed is left out).
        """
        deadline = time.monotonic() + timeout
        got: dict[int, Message] = {}
        missing: list[int] = []
        for index in self.waiting_indexes():
            connection = self.members[index]
            wait = max(deadline - time.monotonic(), 0)
            message = connection.inbox.take(predicate_for(index), wait)
            if message is None:
                missing.append(index)
            else:
                got[index] = message
        self.last_arrivals = got
        return got, missing

    def outcomes(self, predicate_for: PredicateFor, timeout: float) -> GroupOutcomes:
        """Wait, within one timeout, until each member has a matching message or has closed.

        Unlike :meth:`take_from_all` a member that closes is an outcome, not a
        failure: this is for checks like "exactly the limit was admitted".
        """
        got, missing = self.take_from_all(predicate_for, timeout)
        closed: dict[int, CloseInfo] = {}
        waiting: list[int] = []
        for index in missing:
            info = self.members[index].closed
            if info is None:
                waiting.append(index)
            else:
                closed[index] = info
        refused = [r.index for r in self.results if not r.opened]
        return GroupOutcomes(got, closed, waiting, refused)

    def peek_all(self, predicate_for: PredicateFor, within: float) -> dict[int, Message]:
        """The first message of each open member matching its criteria within one window.

        Nothing is taken from the inboxes. Members that have one already count at once;
        the others are watched until the window ends.
        """
        deadline = time.monotonic() + within
        found: dict[int, Message] = {}
        for index in self.open_indexes():
            wait = max(deadline - time.monotonic(), 0)
            message = self.members[index].inbox.peek(predicate_for(index), wait)
            if message is not None:
                found[index] = message
        return found

    # Figures and closing.

    def figures(self) -> dict[str, Any]:
        """Members, open, refused, handshake percentiles, and how the last wait's arrivals spread.

        Arrival times are seconds after the group's last send (or, with no send, after
        the first arrival).
        """
        handshakes = [r.handshake_seconds for r in self.results if r.handshake_seconds is not None]
        figures: dict[str, Any] = {
            "members": len(self.results),
            "open": len(self.open_members()),
            "refused": sum(1 for r in self.results if not r.opened),
            "handshake_p50": percentile(handshakes, 0.50),
            "handshake_p95": percentile(handshakes, 0.95),
            "handshake_max": max(handshakes, default=None),
        }
        arrivals = [m.monotonic for m in self.last_arrivals.values()]
        if arrivals:
            start = self.last_send_monotonic
            if start is None or start > min(arrivals):
                start = min(arrivals)
            times = [at - start for at in arrivals]
            figures.update(
                first_arrival=min(times),
                last_arrival=max(times),
                arrival_spread=max(times) - min(times),
                median_arrival=statistics.median(times),
            )
        return figures

    def close(self, timeout: float) -> None:
        """Close every member, all within one timeout."""
        close_together(list(self.members.values()), timeout)
        self.members.clear()


def _list_indexes(indexes: Sequence[int], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in indexes[:limit])
    return shown + (f" and {len(indexes) - limit} more" if len(indexes) > limit else "")
