"""Keywords for requests and replies: one keyword per round trip, bulk sends, reply times."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta
from enum import Enum
from typing import Any

from robot.api import logger
from robot.api.deco import keyword
from robot.utils import DotDict

from ..errors import MessageTimeoutError, WebSocketLibraryError
from ..exchange import (
    Measurement,
    correlated,
    encode,
    measure_pipelined,
    measure_sequential,
    request_criteria,
    send,
)
from ..group import fill
from ..latency import STATISTICS, Budget, milliseconds
from ..transcript import preview
from .base import PREVIEW_CHARS_IN_FAILURES, LibraryComponent, capitalized, ended, timestr

MISSING_NAMED_IN_FAILURES = 10
HISTOGRAM_BUCKETS = 10


class Pacing(Enum):
    """How `Measure Reply Times` sends its requests."""

    SEQUENTIAL = "sequential"
    """One at a time: send, wait for the reply, then send the next."""
    PIPELINED = "pipelined"
    """All at once, as `Send Messages` does, then wait for every reply."""


class ExchangeKeywords(LibraryComponent):
    @keyword(tags=("messages", "send", "wait"))
    def send_and_wait_for_reply(
        self,
        message: Any,
        timeout: timedelta | None = None,
        regex: str | None = None,
        connection: str | None = None,
        correlate: str | None = None,
        **fields: Any,
    ) -> Any:
        """Sends ``message`` and waits for its reply; returns it.

        One keyword for `Send Json Message` (or `Send Text Message`) followed by
        `Wait For Message`. ``message`` is a dictionary or list, sent as JSON,
        or a string, sent as it is. The reply is the first message matching the
        criteria (as in `Wait For Message`: ``field=value`` pairs and ``regex``)
        that arrived after sending began, so an older message that happens to
        match is left alone.

        ``correlate`` names a top-level field of a JSON object message that the
        reply echoes back, such as ``id``: when the message lacks it, the keyword
        fills in a fresh id (``wsqa-1``, ``wsqa-2``...); either way the reply
        must carry the same value.

        Fails when no reply arrives within ``timeout`` or the connection closes
        first, naming the connection, what was sent, the criteria and what arrived.

        | ${reply} = | `Send And Wait For Reply` | {"type": "echo", "id": 7} | type=echo | id=7 |
        | ${reply} = | `Send And Wait For Reply` | ${request} | correlate=id | timeout=2s |
        """
        target = self.connection(connection)
        if correlate is not None:
            try:
                message, value = correlated(message, correlate)
            except ValueError as error:
                raise WebSocketLibraryError(str(error)) from None
            fields = {**fields, correlate: value}
        criteria = self.criteria(fields, regex)
        wait = self.seconds(timeout, target)
        data = encode(message)
        started = send(target, data)
        reply = target.inbox.take(replace(criteria, arrived_after=started), wait)
        if reply is None:
            wanted = "any reply" if criteria.is_any else f"a reply {criteria.describe()}"
            raise MessageTimeoutError(
                f"{capitalized(target.describe())} sent "
                f"{preview(data, PREVIEW_CHARS_IN_FAILURES)} but {ended(target, wanted, wait)}. "
                f"{self.describe_inbox(target)}"
            )
        return reply.structured

    @keyword(tags=("messages", "send"))
    def send_messages(
        self,
        messages: list[Any] | None = None,
        template: Any = None,
        count: int | None = None,
        connection: str | None = None,
    ) -> int:
        """Sends many messages at once, in order; returns how many were sent.

        Either ``messages``, a list whose items are sent like ``message`` of
        `Send And Wait For Reply` (dictionaries and lists as JSON, strings as they
        are, bytes as binary), or a ``template`` sent ``count`` times with ``{i}``
        replaced by the message's number, 1 to ``count``, in every string in it
        (a string that is exactly ``{i}`` becomes the number). The frames go out
        in a few large writes instead of one per message, which makes this many
        times faster than a loop of `Send Text Message`. Each message is in the
        transcript. Wait for the replies with `Wait For Messages`.

        | `Send Messages` | template={"type":"echo","id":{i}} | count=1000 |
        | @{replies} = | `Wait For Messages` | 1000 | type=echo |
        | `Send Messages` | ${{ [{"type": "subscribe", "topic": t} for t in ("a", "b")] }} |
        """
        target = self.connection(connection)
        outgoing = self._messages(messages, template, count, "Send Messages")
        if outgoing:
            target.send_many([encode(m) for m in outgoing])
        return len(outgoing)

    @keyword(tags=("messages", "timing"))
    def measure_reply_times(
        self,
        count: int,
        message: Any,
        budget: str | None = None,
        pacing: Pacing = Pacing.SEQUENTIAL,
        timeout: timedelta | None = None,
        regex: str | None = None,
        connection: str | None = None,
        max_errors: int = 0,
        **fields: Any,
    ) -> DotDict:
        """Sends ``count`` requests, measures the time to each reply; returns the figures.

        ``message`` is a template as in `Send Messages`: ``{i}`` is replaced by
        the request's number, 1 to ``count``, and so it is in the criteria
        values and ``regex`` (``id={i}``), which say, as in `Wait For Message`,
        what the reply of each request looks like.

        ``pacing`` is ``sequential`` (the default: each request waits for its
        reply, up to ``timeout``, before the next goes) or ``pipelined`` (all are
        sent at once and ``timeout`` is the wait for all the replies; each time
        then runs from the start of the bulk send). Times run from when sending
        began to the arrival recorded by the background reader.

        Returns a dictionary of ``count`` (replies measured), ``errors``
        (requests without a reply) and ``min``, ``p50``, ``p95``, ``p99``,
        ``max`` and ``mean`` in seconds, and logs them with a histogram.

        Fails, showing the figures, when more than ``max_errors`` requests get
        no reply or when a ``budget`` condition does not hold: conditions such
        as ``p95 < 20 ms`` on ``min``, ``p50``, ``p95``, ``p99``, ``max`` or
        ``mean``, with ``<`` or ``<=``, joined by ``and``.

        | ${times} = | `Measure Reply Times` | 200 | {"type":"echo","id":{i}} | type=echo | id={i} |
        | `Measure Reply Times` | 100 | {"id":{i}} | budget=p95 < 20 ms | id={i} |
        | `Measure Reply Times` | 1000 | {"id":{i}} | id={i} | pacing=pipelined |
        | Should Be True | ${times.p99} < 0.05 |
        """
        if count < 1:
            raise WebSocketLibraryError(
                f"Measure Reply Times needs a count of 1 or more, got {count}."
            )
        try:
            limits = Budget.parse(budget) if budget else None
        except ValueError as error:
            raise WebSocketLibraryError(str(error)) from None
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        self.criteria(fields, regex)  # A bad JSONPath or regex fails before anything is sent.
        messages = [fill(message, index) for index in range(1, count + 1)]
        criteria = [request_criteria(fields, regex, index) for index in range(1, count + 1)]
        measure = measure_pipelined if pacing is Pacing.PIPELINED else measure_sequential
        measurement = measure(target, messages, criteria, wait)
        figures = measurement.figures
        self._log_figures(target.describe(), pacing, measurement, limits)
        problems = []
        if figures.errors > max_errors:
            problems.append(self._describe_missing(measurement, wait, pacing, max_errors))
        if limits is not None:
            breaches = limits.breaches(figures)
            if breaches:
                problems.append(f"the budget {limits} does not hold: {'; '.join(breaches)}")
        if problems:
            raise WebSocketLibraryError(
                f"Reply times on {target.describe()}: {'. Also, '.join(problems)}. "
                f"Figures: {figures.describe()}."
                + (f" {self.describe_inbox(target)}" if figures.errors else "")
            )
        return DotDict(figures.as_dict())

    # Shared.

    def _messages(
        self, messages: list[Any] | None, template: Any, count: int | None, keyword_name: str
    ) -> list[Any]:
        if (messages is None) == (template is None):
            raise WebSocketLibraryError(
                f"{keyword_name} needs either messages or a template with a count."
            )
        if messages is not None:
            return list(messages)
        if count is None or count < 0:
            raise WebSocketLibraryError(
                f"{keyword_name} needs a count of 0 or more with a template, got {count}."
            )
        return [fill(template, index) for index in range(1, count + 1)]

    def _describe_missing(
        self, measurement: Measurement, wait: float, pacing: Pacing, max_errors: int
    ) -> str:
        missing = measurement.missing
        named = ", ".join(str(n) for n in missing[:MISSING_NAMED_IN_FAILURES])
        left = len(missing) - MISSING_NAMED_IN_FAILURES
        more = f" and {left} more" if left > 0 else ""
        within = "each" if pacing is Pacing.SEQUENTIAL else "all"
        allowed = f" (at most {max_errors} allowed)" if max_errors else ""
        return (
            f"{len(missing)} of {measurement.count} requests got no reply within "
            f"{timestr(wait)} ({within}){allowed}: request {named}{more}"
        )

    def _log_figures(
        self, who: str, pacing: Pacing, measurement: Measurement, limits: Budget | None
    ) -> None:
        figures = measurement.figures
        head = "".join(f"<th>{name}</th>" for name in ("count", "errors", *STATISTICS))
        cells = f"<td>{figures.count}</td><td>{figures.errors}</td>" + "".join(
            f"<td>{milliseconds(getattr(figures, name))}</td>" for name in STATISTICS
        )
        budget = f", budget {html.escape(str(limits))}" if limits else ""
        logger.info(
            f"<b>Reply times</b> of {measurement.count} {pacing.value} requests on "
            f"{html.escape(who)}{budget}:"
            f"<table border='1' cellpadding='3'><tr>{head}</tr><tr>{cells}</tr></table>"
            + histogram_html(measurement.times),
            html=True,
        )


def histogram_html(times: list[float], buckets: int = HISTOGRAM_BUCKETS) -> str:
    """A bar per range of reply times, as a table that needs no script or image."""
    if not times:
        return ""
    low, high = min(times), max(times)
    if high == low:
        buckets = 1
    width = (high - low) / buckets or 1e-6
    counts = [0] * buckets
    for value in times:
        counts[min(int((value - low) / width), buckets - 1)] += 1
    tallest = max(counts)
    rows = []
    for number, tally in enumerate(counts):
        start = low + number * width
        bar = round(300 * tally / tallest)
        rows.append(
            f"<tr><td>{milliseconds(start)} to {milliseconds(start + width)}</td>"
            f"<td align='right'>{tally}</td><td><div style='background:#4a90d9;height:10px;"
            f"width:{bar}px'></div></td></tr>"
        )
    return "<table cellpadding='1'>" + "".join(rows) + "</table>"
