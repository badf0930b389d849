"""Keywords for connection groups: many connections opened, fed and checked together."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword
from robot.utils import DotDict

from ..connection import WebSocketConnection, describe_close
from ..errors import (
    HandshakeError,
    MessageTimeoutError,
    NoConnectionError,
    UnexpectedMessageError,
    WebSocketLibraryError,
)
from ..exchange import send
from ..group import (
    ConnectionGroup,
    GroupOutcomes,
    MemberResult,
    PredicateFor,
    fill,
    has_placeholder,
    per_member,
)
from ..matchers import Criteria
from ..transcript import preview
from .base import PREVIEW_CHARS_IN_FAILURES, LibraryComponent, timestr

MEMBERS_NAMED_IN_FAILURES = 10


class GroupKeywords(LibraryComponent):
    @keyword(tags=("group", "connection"))
    def open_connection_group(
        self,
        group: str,
        count: int,
        url: str | list[str],
        *,
        headers: dict[str, str] | list[dict[str, str]] | None = None,
        subprotocols: list[str] | None = None,
        concurrency: int = 50,
        timeout: timedelta | None = None,
        require_all: bool = True,
    ) -> list[DotDict]:
        """Opens ``count`` connections at once as the group named ``group``; returns the results.

        ``url`` and ``headers`` are either one template for all members, in
        which ``{i}`` is replaced by the member's index (from 1), or a list with
        one entry per member (e.g. a token each). At most ``concurrency``
        handshakes run at a time. ``timeout`` is as in `Connect`.

        Returns one result per member, in index order: ``index``, ``name``
        (``group:index``), ``opened``, ``status`` (101, or the refusal's HTTP
        status, or ``None`` when the server did not answer), ``body`` (of a
        refusal), ``error`` and ``handshake_time`` (seconds).

        With ``require_all`` (the default) the keyword fails when any member
        could not open, naming them and what the server answered; with
        ``require_all=False`` it returns the results for the test to check,
        e.g. that exactly the per-user limit was admitted.

        Every member is an ordinary connection: pass ``connection=group:index``
        to any keyword, e.g. ``Send Json Message  ${msg}  connection=tabs:2``.
        Members are not in the transcript (it would drown the log); a summary is
        logged instead, with the transcripts of members that fail a keyword.
        Opening more connections than the soft file-descriptor limit allows
        raises that limit when the hard limit permits, and fails clearly when
        it does not.

        | `Open Connection Group` | tabs | 2 | ${WS_URL}?access_token=${token} |
        | ${results} = | `Open Connection Group` | users | 200 | ${WS_URL} | headers=${auth} |
        | ${results} = | `Open Connection Group` | storm | 8 | ${url} | require_all=False |
        """
        if group in self.library.groups:
            raise WebSocketLibraryError(
                f"A connection group named '{group}' is already open; close it first "
                "with 'Close Connection Group'."
            )
        if count < 0:
            raise WebSocketLibraryError(f"A group has 0 or more connections, got {count}.")
        try:
            urls = per_member(url, count, "URL")
            header_sets = per_member(headers or {}, count, "set of headers")
        except ValueError as error:
            raise WebSocketLibraryError(str(error)) from None
        options = [
            self.connect_options(timeout, headers=header_set, subprotocols=subprotocols)
            for header_set in header_sets
        ]
        target = ConnectionGroup(group)
        try:
            results = target.open(urls, options, concurrency)
        except (OSError, ValueError) as error:
            target.close(self.seconds(timeout))
            raise WebSocketLibraryError(f"Cannot open group '{group}': {error}") from None
        self.library.groups[group] = target
        self._discard_transcripts(target)
        self._log_summary(target, results)
        failed = [r for r in results if not r.opened]
        if failed and require_all:
            raise HandshakeError(
                f"Group '{group}': {len(failed)} of {count} connections did not open. "
                + _describe_failures(failed)
            )
        return [_result(r, self.library.mask) for r in results]

    @keyword(tags=("group", "messages", "send"))
    def send_message_to_group(
        self, group: str, message: Any = None, *, each: list[Any] | None = None
    ) -> int:
        """Sends a message to every open member of ``group``; returns how many were sent to.

        ``message`` is a template: a string is sent as text, a dictionary or list
        as JSON, with ``{i}`` replaced by the member's index (a value that is
        exactly ``{i}`` becomes the number). ``each`` instead gives one message per
        open member, in index order. Arrival figures of the next `Wait For Group
        Message` count from this send.

        | `Send Message To Group` | tabs | ${{ {"type": "echo", "id": "{i}"} }} |
        | `Send Message To Group` | users | hello from {i} |
        | `Send Message To Group` | users | each=${messages} |
        """
        target = self.group(group)
        if (message is None) == (each is None):
            raise WebSocketLibraryError("Give either a message template or 'each', not both.")
        if each is None:
            messages = [fill(message, index) for index in target.open_indexes()]
        else:
            messages = list(each)
        try:
            return target.send(send, messages)
        except ValueError as error:
            raise WebSocketLibraryError(f"Group '{group}': {error}") from None
        finally:
            self._discard_transcripts(target)

    @keyword(tags=("group", "messages", "receive", "wait"))
    def wait_for_group_message(
        self,
        group: str,
        timeout: timedelta | None = None,
        regex: str | None = None,
        **fields: Any,
    ) -> list[Any]:
        """Waits until every open member of ``group`` has a message matching the criteria.

        Criteria are those of `Wait For Message`; ``{i}`` in a criterion's
        value (or in ``regex``) stands for each member's index, so every member
        can wait for its own reply. Takes the first match from each member's
        inbox and returns them in index order (dictionaries or lists for JSON,
        else text or bytes). ``timeout`` (the library's by default) is one
        deadline for the whole group, not per member.

        A member the test closed itself (`Close Connection` with
        ``connection=group:index``) is left out; one the server closed, or that
        dropped, counts as a member that got nothing. Fails naming every member
        that did not get a match, with how its wait ended and what its inbox
        held instead; the transcripts of the first few
        are logged. The matches others got are taken all the same.

        | `Send Message To Group` | tabs | ${{ {"type": "echo", "id": "{i}"} }} |
        | ${replies} = | `Wait For Group Message` | tabs | type=echo | id={i} |
        | `Wait For Group Message` | subscribers | type=event | topic=news | timeout=2s |
        """
        target = self.group(group)
        criteria, criteria_for = self._member_criteria(fields, regex)
        wait = self.seconds(timeout)
        try:
            got, missing = target.take_from_all(criteria_for, wait)
            if missing:
                self._log_member_transcripts(target, missing)
                lines = [self._describe_member(target.members[i]) for i in missing]
                raise MessageTimeoutError(
                    f"Group '{group}': {len(missing)} of {len(got) + len(missing)} members did "
                    f"not receive a message {criteria.describe()} within {timestr(wait)}:\n"
                    + _first_lines(lines)
                )
            return [got[index].structured for index in sorted(got)]
        finally:
            self._discard_transcripts(target)

    @keyword(tags=("group", "messages", "receive", "wait"))
    def wait_for_group_outcomes(
        self,
        group: str,
        timeout: timedelta | None = None,
        regex: str | None = None,
        **fields: Any,
    ) -> DotDict:
        """Waits until each member of ``group`` has a matching message *or* has closed.

        For checks where some members are meant to be turned away, e.g. that a
        connect storm over a per-user limit admits exactly the limit. Criteria
        are as in `Wait For Group Message` (``{i}`` included); the wait has one
        deadline for the whole group. It does not fail by itself: it returns
        what happened, for the test to assert, and logs a summary.

        Returns a dictionary with ``matched`` (indexes of members that got a
        match, which is taken from their inbox), ``messages`` (index to that
        match), ``closed`` (indexes that closed without one), ``close_codes``
        (close code to how many members closed with it), ``waiting`` (indexes
        with neither by the deadline) and ``refused`` (indexes whose handshake
        failed).

        | ${outcome} = | `Wait For Group Outcomes` | storm | type=welcome |
        | Length Should Be | ${outcome.matched} | ${LIMIT} |
        | Should Be Equal | ${outcome.close_codes} | ${{ {4008: 5} }} |
        """
        target = self.group(group)
        _, criteria_for = self._member_criteria(fields, regex)
        try:
            outcomes = target.outcomes(criteria_for, self.seconds(timeout))
        finally:
            self._discard_transcripts(target)
        self._log_outcomes(target, outcomes)
        return DotDict(
            matched=sorted(outcomes.matched),
            messages={i: m.structured for i, m in sorted(outcomes.matched.items())},
            closed=sorted(outcomes.closed),
            close_codes=outcomes.close_codes(),
            waiting=outcomes.waiting,
            refused=outcomes.refused,
        )

    @keyword(tags=("group", "messages", "receive", "wait"))
    def group_should_not_receive_message(
        self,
        group: str,
        within: timedelta = timedelta(seconds=1),
        regex: str | None = None,
        **fields: Any,
    ) -> None:
        """Fails if any open member of ``group`` gets a matching message within ``within``.

        One window for the whole group; a match already in an inbox fails at
        once. Criteria are as in `Wait For Group Message` (``{i}`` included);
        with none, any message fails. Inboxes are left as they are. The failure
        names the members and what each got.

        | `Group Should Not Receive Message` | other_users | within=500ms | type=event |
        """
        target = self.group(group)
        criteria, criteria_for = self._member_criteria(fields, regex)
        try:
            found = target.peek_all(criteria_for, within.total_seconds())
        finally:
            self._discard_transcripts(target)
        if found:
            lines = [
                f"  {target.member_name(i)}: #{m.sequence} {m.kind}: "
                f"{preview(m.data, PREVIEW_CHARS_IN_FAILURES)}"
                for i, m in sorted(found.items())
            ]
            raise UnexpectedMessageError(
                f"Group '{group}': {len(found)} of {len(target.open_indexes())} members received "
                f"a message {criteria.describe()}, which they should not have:\n"
                + _first_lines(lines)
            )

    @keyword(tags=("group",))
    def get_group_figures(self, group: str) -> DotDict:
        """Returns figures of ``group``; times in seconds, ``None`` when there is no data.

        Keys: ``members``, ``open``, ``refused``, ``handshake_p50``,
        ``handshake_p95``, ``handshake_max``; after a `Wait For Group Message`,
        also ``first_arrival``, ``median_arrival``, ``last_arrival`` (after the
        group's last send, or the first arrival when nothing was sent) and
        ``arrival_spread`` (last minus first).

        | ${figures} = | `Get Group Figures` | subscribers |
        | Should Be True | ${figures.last_arrival} < 1 | msg=Took ${figures.last_arrival} s |
        """
        return DotDict(self.group(group).figures())

    @keyword(tags=("group", "connection"))
    def close_connection_group(self, group: str, timeout: timedelta | None = None) -> None:
        """Closes every member of ``group``, all within one ``timeout``, and forgets the group.

        `Close All Connections` closes groups too.

        | `Close Connection Group` | tabs |
        """
        target = self.group(group)
        target.close(self.seconds(timeout))
        self._discard_transcripts(target)
        del self.library.groups[group]

    # Helpers.

    def _member_criteria(
        self, fields: dict[str, Any], regex: str | None
    ) -> tuple[Criteria, PredicateFor]:
        """The criteria as written (for messages) and each member's, ``{i}`` filled in."""
        criteria = self.criteria(fields, regex)
        if not has_placeholder(list(fields.values())) and not has_placeholder(regex):
            return criteria, lambda _index: criteria

        def criteria_for(index: int) -> Criteria:
            # Textual, not a number: a criterion written in a test is text and matches
            # a JSON number written the same way.
            values = {
                path: fill(value, index, exact_as_number=False) for path, value in fields.items()
            }
            return self.criteria(values, fill(regex, index, exact_as_number=False))

        return criteria, criteria_for

    def _log_outcomes(self, target: ConnectionGroup, outcomes: GroupOutcomes) -> None:
        codes = ", ".join(
            f"{count} with {code if code is not None else 'no code'}"
            for code, count in outcomes.close_codes().items()
        )
        parts = [f"{len(outcomes.matched)} matched"]
        if outcomes.closed:
            parts.append(f"{len(outcomes.closed)} closed ({codes})")
        if outcomes.waiting:
            parts.append(f"{len(outcomes.waiting)} still waiting")
        if outcomes.refused:
            parts.append(f"{len(outcomes.refused)} never opened")
        logger.info(
            f"<b>Group '{html.escape(target.name)}'</b>: " + html.escape(", ".join(parts)),
            html=True,
        )

    def _discard_transcripts(self, target: ConnectionGroup) -> None:
        for connection in target.members.values():
            connection.transcript.discard()

    def _log_member_transcripts(self, target: ConnectionGroup, indexes: list[int]) -> None:
        shown = [target.members[i] for i in indexes[:3]]
        self.library.log_transcript(*shown)

    def _describe_member(self, connection: WebSocketConnection) -> str:
        closed = connection.closed
        state = "open" if closed is None else describe_close(closed)
        messages = connection.inbox.snapshot()
        if not messages:
            held = "inbox empty"
        else:
            last = messages[-1]
            held = (
                f"inbox holds {len(messages)}, the last: "
                f"{preview(last.data, PREVIEW_CHARS_IN_FAILURES)}"
            )
        return f"  {connection.name} ({state}): {held}"

    def _log_summary(self, target: ConnectionGroup, results: list[MemberResult]) -> None:
        figures = target.figures()
        refused = [r for r in results if not r.opened]
        rows = "".join(
            f"<tr><td>{r.index}</td><td>{r.status if r.status is not None else '-'}</td>"
            f"<td>{html.escape(self.library.mask(preview(r.body or r.error, 200)))}</td></tr>"
            for r in refused[:MEMBERS_NAMED_IN_FAILURES]
        )
        p50, p95, worst = (
            figures[key] for key in ("handshake_p50", "handshake_p95", "handshake_max")
        )
        text = (
            f"<b>Group '{html.escape(target.name)}'</b>: {figures['open']} of "
            f"{len(results)} opened"
            + (
                f"; handshake p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
                f"max {worst * 1000:.1f} ms"
                if p50 is not None
                else ""
            )
            + (f"; {html.escape(target.limit_note)}" if target.limit_note else "")
        )
        if refused:
            text += (
                f"<br>{len(refused)} did not open"
                + (
                    f" (the first {MEMBERS_NAMED_IN_FAILURES}):"
                    if len(refused) > MEMBERS_NAMED_IN_FAILURES
                    else ":"
                )
                + "<table><tr><th>member</th><th>status</th><th>answer</th></tr>"
                + rows
                + "</table>"
            )
        logger.info(text, html=True)

    def group(self, name: str) -> ConnectionGroup:
        try:
            return self.library.groups[name]
        except KeyError:
            known = ", ".join(f"'{g}'" for g in self.library.groups) or "none"
            raise NoConnectionError(
                f"No connection group named '{name}'. Open groups: {known}."
            ) from None


def _result(result: MemberResult, mask: Callable[[str], str]) -> DotDict:
    """A member's result for Robot; body and error masked, as a test may log them."""
    return DotDict(
        index=result.index,
        name=result.name,
        opened=result.opened,
        status=result.status,
        body=mask(result.body),
        error=mask(result.error),
        handshake_time=result.handshake_seconds,
    )


def _describe_failures(failed: list[MemberResult]) -> str:
    def describe(result: MemberResult) -> str:
        if result.status:
            return f"HTTP {result.status}, body: {preview(result.body, 120) or '(empty)'}"
        return result.error

    return _first_lines([f"  {r.name}: {describe(r)}" for r in failed])


def _first_lines(lines: list[str]) -> str:
    """The first ``MEMBERS_NAMED_IN_FAILURES`` lines, then how many more were left out."""
    shown = lines[:MEMBERS_NAMED_IN_FAILURES]
    more = len(lines) - len(shown)
    return "\n".join(shown) + (f"\n  ... and {more} more" if more else "")
