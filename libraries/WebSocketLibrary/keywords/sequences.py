"""Keywords that check numbered messages arrived complete, once each and in order."""

from __future__ import annotations

from typing import Any

from robot.api.deco import keyword

from ..errors import WebSocketLibraryError
from ..sequences import check_sequence, dedupe, values_at
from .base import LibraryComponent

PROBLEMS_IN_FAILURES = 10


class SequenceKeywords(LibraryComponent):
    @keyword(tags=("messages", "sequence"))
    def sequence_should_be_continuous(
        self, messages: list[Any], field: str = "seq", start: int | None = None
    ) -> None:
        """Fails unless ``field`` goes up by exactly one from message to message.

        ``messages`` are JSON messages as `Wait For Messages` and `Get Inbox`
        return them; ``field`` is a dotted path or JSONPath as in
        `Wait For Message`. With ``start``, the first value must be it. The
        failure lists every place the sequence breaks: gaps (with the missing
        values), duplicates and values out of order.

        | @{events} = | `Wait For Messages` | 100 | type=event |
        | `Sequence Should Be Continuous` | ${events} | field=seq | start=1 |
        """
        values = self._values(messages, field)
        report = check_sequence(values, start)
        if report.ok:
            return
        shown = report.problems[:PROBLEMS_IN_FAILURES]
        more = len(report.problems) - len(shown)
        lines = [f"  at position {position}: {problem}" for position, problem in shown]
        if more:
            lines.append(f"  ... and {more} more")
        first, last = (values[0], values[-1]) if values else (None, None)
        raise WebSocketLibraryError(
            f"Sequence '{field}' of {len(values)} messages (from {first} to {last}) is not "
            f"continuous, {len(report.problems)} problem(s):\n" + "\n".join(lines)
        )

    @keyword(tags=("messages", "sequence"))
    def remove_duplicate_messages(self, messages: list[Any], field: str = "seq") -> list[Any]:
        """Returns ``messages`` without repeats of the same ``field`` value, keeping the first.

        For at-least-once delivery, where a message can arrive twice after a
        reconnect: remove the repeats, then check with `Sequence Should Be Continuous`.

        | ${unique} = | `Remove Duplicate Messages` | ${events} | field=seq |
        """
        return dedupe(messages, self._values(messages, field))

    @staticmethod
    def _values(messages: list[Any], field: str) -> list[Any]:
        try:
            return values_at(messages, field)
        except ValueError as error:
            raise WebSocketLibraryError(str(error)) from None
