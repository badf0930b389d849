"""Checks over a field that numbers messages: increasing by one, no gaps, no duplicates.

:class:`Coverage` follows at-least-once delivery as it happens: which values of a
range have arrived, which arrived more than once, which came after a higher one.
:class:`SequenceCollector` feeds it from an inbox; both are free of I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .inbox import Message
from .matchers import Criteria, lookup


@dataclass
class SequenceReport:
    """Everything wrong with a sequence, as (position, description) pairs; positions from 0."""

    values: list[Any]
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def values_at(messages: Sequence[Any], path: str) -> list[Any]:
    """The value of ``path`` in each message; ``ValueError`` naming the first that lacks it."""
    values = []
    for position, message in enumerate(messages):
        found = lookup(message, path) if isinstance(message, (dict, list)) else []
        if not found:
            raise ValueError(f"Message at position {position} has no '{path}': {message!r:.200}")
        values.append(found[0])
    return values


def check_sequence(values: Sequence[Any], start: int | None = None) -> SequenceReport:
    """Every place where ``values`` is not ``start, start+1, start+2, ...``."""
    report = SequenceReport(list(values))
    seen: dict[Any, int] = {}
    for position, value in enumerate(values):
        if not isinstance(value, int) or isinstance(value, bool):
            report.problems.append((position, f"{value!r} is not an integer"))
            continue
        if value in seen:
            report.problems.append((position, f"{value} is a duplicate of position {seen[value]}"))
            continue
        seen[value] = position
        if position == 0:
            if start is not None and value != start:
                report.problems.append((0, f"starts at {value}, expected {start}"))
            continue
        previous = values[position - 1]
        if not isinstance(previous, int) or isinstance(previous, bool):
            continue
        if value < previous:
            report.problems.append((position, f"{value} follows {previous}: out of order"))
        elif value > previous + 1:
            missing = _describe_range(previous + 1, value - 1)
            report.problems.append((position, f"{value} follows {previous}: {missing} missing"))
    return report


def dedupe(messages: Sequence[Any], values: Sequence[Any]) -> list[Any]:
    """``messages`` without those whose value was already seen, in order."""
    seen: set[Any] = set()
    unique = []
    for message, value in zip(messages, values, strict=True):
        key = repr(value)
        if key not in seen:
            seen.add(key)
            unique.append(message)
    return unique


def _describe_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first} to {last} ({last - first + 1} values)"


def describe_ranges(ranges: Sequence[tuple[int, int]], limit: int = 10) -> str:
    """``3, 7 to 9 (3 values)``: at most ``limit`` ranges, then how many more."""
    shown = ", ".join(_describe_range(first, last) for first, last in ranges[:limit])
    more = len(ranges) - limit
    return f"{shown} and {more} more range(s)" if more > 0 else shown


def is_integer(value: Any) -> bool:
    """JSON integers only: not booleans, not floats, not digit strings."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Coverage:
    """Which values from ``first`` to ``last`` have arrived, how often, and in what order.

    With at-least-once delivery a value may arrive more than once (after a
    reconnect the unacknowledged tail comes again) and a value may arrive after
    a higher one (messages kept from the old connection come first). Coverage
    counts both instead of being fooled by them. ``last=None`` leaves the
    range open at the top.
    """

    first: int
    last: int | None = None
    counts: dict[int, int] = field(default_factory=dict)
    """Value -> how many times it arrived."""
    arrivals: int = 0
    late: list[tuple[int, int]] = field(default_factory=list)
    """(value, the higher value that arrived before it), for first arrivals out of order."""
    highest: int | None = None
    contiguous: int = 0
    """The highest value up to which every value has arrived; ``first - 1`` if none."""

    def __post_init__(self) -> None:
        if self.last is not None and self.last < self.first:
            raise ValueError(f"The range {self.first} to {self.last} is empty: last < first.")
        self.contiguous = self.first - 1

    def wants(self, value: Any) -> bool:
        """Is ``value`` an integer inside the range?"""
        return (
            is_integer(value) and value >= self.first and (self.last is None or value <= self.last)
        )

    def add(self, value: int) -> bool:
        """Count one arrival of ``value``; ``True`` when it is the first of that value."""
        self.arrivals += 1
        seen = self.counts.get(value, 0)
        self.counts[value] = seen + 1
        if seen:
            return False
        if self.highest is not None and value < self.highest:
            self.late.append((value, self.highest))
        if self.highest is None or value > self.highest:
            self.highest = value
        while self.contiguous + 1 in self.counts:
            self.contiguous += 1
        return True

    @property
    def size(self) -> int | None:
        """How many values the range holds; ``None`` when it is open."""
        return None if self.last is None else self.last - self.first + 1

    @property
    def distinct(self) -> int:
        return len(self.counts)

    @property
    def duplicates(self) -> int:
        """Arrivals that repeated a value already seen."""
        return self.arrivals - len(self.counts)

    @property
    def complete(self) -> bool:
        return self.last is not None and self.contiguous == self.last

    def repeated(self) -> dict[int, int]:
        """Value -> times it arrived, for the values that arrived more than once, in order."""
        return {value: n for value, n in sorted(self.counts.items()) if n > 1}

    def missing(self) -> list[tuple[int, int]]:
        """The values not arrived yet, as (first, last) ranges; an open range ends at
        the highest value seen."""
        gaps, expected = [], self.contiguous + 1
        for value in sorted(v for v in self.counts if v > self.contiguous):
            if value > expected:
                gaps.append((expected, value - 1))
            expected = value + 1
        if self.last is not None and expected <= self.last:
            gaps.append((expected, self.last))
        return gaps


class Duplicates(Enum):
    """What `Wait For Sequence` does with a value that arrives twice."""

    ALLOW = "allow"
    """At-least-once delivery: count repeats, report them, pass."""
    FAIL = "fail"
    """Exactly-once delivery: a repeat fails the keyword."""


@dataclass
class SequenceCollector:
    """Gathers the messages that cover a range of a numbering field, for the inbox.

    A message belongs when it meets ``criteria`` and its ``path`` holds an
    integer inside the range. Messages that meet the criteria but hold no such
    value are counted (and the first kept), so a failure can say why they did
    not count.
    """

    criteria: Criteria
    path: str
    first: int
    last: int
    duplicates: Duplicates = Duplicates.ALLOW
    ordered: bool = False
    coverage: Coverage = field(init=False)
    gathered: list[tuple[Message, int]] = field(init=False)
    """(message, value) in arrival order."""
    ignored: int = field(init=False)
    first_ignored: Message | None = field(init=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.coverage = Coverage(self.first, self.last)
        self.gathered, self.ignored, self.first_ignored = [], 0, None

    def offer(self, message: Message) -> bool:
        if not self.criteria.matches(message):
            return False
        found = lookup(message.json, self.path) if message.is_json else []
        value = next((v for v in found if self.coverage.wants(v)), None)
        if value is None:
            self.ignored += 1
            self.first_ignored = self.first_ignored or message
            return False
        self.coverage.add(value)
        self.gathered.append((message, value))
        return True

    @property
    def violated(self) -> bool:
        """A repeat where none may come, or a value after a higher one where order counts."""
        return (self.duplicates is Duplicates.FAIL and self.coverage.duplicates > 0) or (
            self.ordered and bool(self.coverage.late)
        )

    @property
    def finished(self) -> bool:
        """Waiting longer cannot change the outcome."""
        return self.coverage.complete or self.violated

    @property
    def satisfied(self) -> bool:
        """The range is covered as asked: the inbox may hand the messages over."""
        return self.coverage.complete and not self.violated

    def in_order(self) -> list[Message]:
        """The first message of each value, in value order."""
        first: dict[int, Message] = {}
        for message, value in self.gathered:
            first.setdefault(value, message)
        return [first[value] for value in sorted(first)]
