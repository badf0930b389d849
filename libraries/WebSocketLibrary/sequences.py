"""Checks over a field that numbers messages: increasing by one, no gaps, no duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .matchers import lookup


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
