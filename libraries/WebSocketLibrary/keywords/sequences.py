"""Keywords for numbered messages: wait until a range has arrived, check it is continuous."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from ..connection import WebSocketConnection
from ..errors import MessageTimeoutError, UnexpectedMessageError, WebSocketLibraryError
from ..matchers import check_path
from ..sequences import (
    Duplicates,
    SequenceCollector,
    check_sequence,
    dedupe,
    describe_ranges,
    values_at,
)
from ..transcript import preview
from .base import PREVIEW_CHARS_IN_FAILURES, LibraryComponent, capitalized, ended

PROBLEMS_IN_FAILURES = 10
LAST_ARRIVALS_IN_FAILURES = 5


class SequenceKeywords(LibraryComponent):
    @keyword(tags=("messages", "sequence", "wait"))
    def wait_for_sequence(
        self,
        first: int,
        last: int,
        field: str = "seq",
        timeout: timedelta | None = None,
        duplicates: Duplicates = Duplicates.ALLOW,
        ordered: bool = False,
        regex: str | None = None,
        connection: str | None = None,
        **criteria: Any,
    ) -> list[Any]:
        """Waits until matching messages carry every ``field`` value from ``first`` to ``last``.

        For at-least-once delivery, where counting messages is not enough: after
        a reconnect the service sends the unacknowledged tail again, and messages
        kept from the old connection (see `Reconnect`) come first, so the first
        N messages need not hold N different values. This keyword counts values,
        not messages.

        A message counts when it meets the criteria (as in `Wait For Message`)
        and ``field`` (a dotted path or JSONPath) holds a JSON integer from
        ``first`` to ``last``. Returns one message per value, the first that
        arrived with it, in value order. Takes from the inbox every message it
        counted, repeats included; messages that arrive after the range is
        complete, and messages outside it, stay for later keywords. On failure
        nothing is taken.

        - ``duplicates``: ``allow`` (default) counts repeats and logs them;
          ``fail`` fails at the first repeat, for exactly-once delivery.
        - ``ordered``: fail as soon as a value arrives after a higher one, for a
          live connection that promises order. Leave it off across a reconnect,
          where kept messages come before the redelivered ones.

        Fails when the range is not complete within ``timeout`` or the
        connection closes first, naming the missing values (as ranges), the
        repeated ones, the last arrivals, and messages that met the criteria but
        held no value in the range (a wrong ``field`` shows there).

        A JSON field named like an argument of this keyword (``first``,
        ``last``, ``field``, ``duplicates``, ``ordered``...) is matched with
        JSONPath: ``$.first=yes``.

        | `Reconnect` | reader |
        | @{events} = | `Wait For Sequence` | 1 | 300 | type=event | timeout=30s |
        | `Should Be Equal` | ${events}[-1][seq] | ${300} |
        | @{replies} = | `Wait For Sequence` | 0 | 49 | field=id | duplicates=fail | ordered=True |
        """
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        try:
            check_path(field)
            collector = SequenceCollector(
                self.criteria(criteria, regex), field, first, last, duplicates, ordered
            )
        except ValueError as error:
            raise WebSocketLibraryError(str(error)) from None
        target.inbox.collect(collector, wait)
        if collector.satisfied:
            logger.info(_coverage_summary(target, collector))
            return [message.structured for message in collector.in_order()]
        raise _coverage_failure(target, collector, wait, self.describe_inbox(target))

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
        `Wait For Sequence` does both while it waits.

        | ${unique} = | `Remove Duplicate Messages` | ${events} | field=seq |
        """
        return dedupe(messages, self._values(messages, field))

    @staticmethod
    def _values(messages: list[Any], field: str) -> list[Any]:
        try:
            return values_at(messages, field)
        except ValueError as error:
            raise WebSocketLibraryError(str(error)) from None


def _range_text(collector: SequenceCollector) -> str:
    return f"{collector.path} {collector.first} to {collector.last}"


def _repeats_text(collector: SequenceCollector) -> str:
    repeated = collector.coverage.repeated()
    shown = [f"{value} ({times} times)" for value, times in list(repeated.items())[:10]]
    more = len(repeated) - len(shown)
    return ", ".join(shown) + (f" and {more} more value(s)" if more > 0 else "")


def _coverage_summary(target: WebSocketConnection, collector: SequenceCollector) -> str:
    coverage = collector.coverage
    text = (
        f"{capitalized(target.describe())} covered {_range_text(collector)} with "
        f"{coverage.arrivals} message(s)"
    )
    if coverage.duplicates:
        text += f"; {coverage.duplicates} repeated a value: {_repeats_text(collector)}"
    if coverage.late:
        text += f"; {len(coverage.late)} value(s) arrived after a higher one"
    return text + "."


def _coverage_failure(
    target: WebSocketConnection, collector: SequenceCollector, wait: float, inbox: str
) -> WebSocketLibraryError:
    coverage = collector.coverage
    name = capitalized(target.describe())
    error: type[WebSocketLibraryError] = UnexpectedMessageError
    if collector.violated and coverage.duplicates and collector.duplicates is Duplicates.FAIL:
        value = next(iter(coverage.repeated()))
        header = (
            f"{name} received {collector.path} {value} more than once, expected each of "
            f"{collector.first} to {collector.last} once (duplicates=fail)."
        )
    elif collector.violated:
        value, higher = coverage.late[0]
        header = (
            f"{name} received {collector.path} {value} after {higher}, expected "
            f"{collector.first} to {collector.last} in order (ordered=True)."
        )
    else:
        error = MessageTimeoutError
        wanted = f"messages {collector.criteria.describe()} covering {_range_text(collector)}"
        header = (
            f"{name} {ended(target, wanted, wait)}: {coverage.distinct} of {coverage.size} "
            f"values arrived, in {coverage.arrivals} message(s)."
        )
    lines = [header]
    if not coverage.complete:
        lines.append(f"  missing: {describe_ranges(coverage.missing())}")
    if coverage.duplicates:
        lines.append(f"  repeated: {_repeats_text(collector)}")
    if coverage.late:
        shown = ", ".join(f"{value} after {higher}" for value, higher in coverage.late[:10])
        lines.append(f"  out of order: {shown}")
    if collector.ignored:
        sample = collector.first_ignored
        lines.append(
            f"  not counted: {collector.ignored} message(s) met the criteria but held no integer "
            f"'{collector.path}' from {collector.first} to {collector.last}, the first: "
            f"#{sample.sequence} {preview(sample.data, PREVIEW_CHARS_IN_FAILURES)}"
        )
    if collector.gathered:
        last = collector.gathered[-LAST_ARRIVALS_IN_FAILURES:]
        arrivals = ", ".join(f"#{message.sequence}: {value}" for message, value in last)
        lines.append(f"  last arrivals (#arrival: {collector.path}): {arrivals}")
    return error("\n".join([*lines, inbox]))
