"""Keywords that take messages from a connection's inbox and wait for the close."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword
from robot.utils import DotDict

from ..connection import describe_close
from ..errors import MessageTimeoutError, UnexpectedMessageError, WebSocketLibraryError
from ..inbox import Message
from ..matchers import Criteria
from ..transcript import preview
from .base import PREVIEW_CHARS_IN_FAILURES, LibraryComponent, capitalized, ended, timestr


class ReceivingKeywords(LibraryComponent):
    @keyword(tags=("messages", "receive"))
    def receive_message(
        self, timeout: timedelta | None = None, connection: str | None = None
    ) -> str | bytes:
        """Takes the next message from the inbox; returns it.

        Waits up to ``timeout`` when the inbox is empty. Returns text messages
        as strings and binary ones as bytes. Messages are taken in arrival
        order; one that arrived before this keyword was called is returned at
        once. Fails, showing the connection's state, when nothing
        arrives in time or the connection closes first.

        | ${text} = | `Receive Message` | timeout=2s |
        """
        return self._take(Criteria(), timeout, connection).data

    @keyword(tags=("messages", "receive"))
    def receive_text_message(
        self, timeout: timedelta | None = None, connection: str | None = None
    ) -> str:
        """Like `Receive Message`, but fails if the next message is binary.

        | ${text} = | `Receive Text Message` | timeout=1s |
        """
        message = self._take(Criteria(), timeout, connection)
        if message.is_binary:
            raise UnexpectedMessageError(
                f"Expected a text message on {self.connection(connection).describe()}, "
                f"received binary: {preview(message.data, PREVIEW_CHARS_IN_FAILURES)}"
            )
        return str(message.data)

    @keyword(tags=("messages", "receive"))
    def receive_binary_message(
        self, timeout: timedelta | None = None, connection: str | None = None
    ) -> bytes:
        """Like `Receive Message`, but fails if the next message is text.

        | ${bytes} = | `Receive Binary Message` | connection=bob |
        """
        message = self._take(Criteria(), timeout, connection)
        if not message.is_binary:
            raise UnexpectedMessageError(
                f"Expected a binary message on {self.connection(connection).describe()}, "
                f"received text: {preview(message.data, PREVIEW_CHARS_IN_FAILURES)}"
            )
        return bytes(message.data)

    @keyword(tags=("messages", "receive", "json"))
    def receive_json_message(
        self, timeout: timedelta | None = None, connection: str | None = None
    ) -> Any:
        """Like `Receive Message`, but parses the message as JSON and returns the value.

        Fails, showing what arrived, if the next message is not JSON.

        | ${welcome} = | `Receive Json Message` |
        | Should Be Equal | ${welcome}[type] | welcome |
        """
        message = self._take(Criteria(), timeout, connection)
        if not message.is_json:
            raise UnexpectedMessageError(
                f"Expected a JSON message on {self.connection(connection).describe()}, "
                f"received {message.kind}: "
                f"{preview(message.data, PREVIEW_CHARS_IN_FAILURES)}"
            )
        return message.json

    @keyword(tags=("messages", "receive", "wait"))
    def wait_for_message(
        self,
        timeout: timedelta | None = None,
        regex: str | None = None,
        connection: str | None = None,
        **fields: Any,
    ) -> Any:
        """Waits for a message matching the criteria; returns it.

        The first matching message is taken from the inbox.
        Criteria, all of which must hold:
        - ``field=value``: in a JSON message, the field has that value. Fields
          are dotted paths (``payload.items.0.name``) or JSONPath expressions
          starting with ``$`` (``$.payload.items[0].name``; any match counts).
          String values also match JSON numbers, booleans and null written the
          same way: ``id=7`` matches ``{"id": 7}``, ``ok=true`` matches ``true``;
          objects and arrays match JSON text of the same value (``tags=[1,2]``).
          A field that is absent does not match, whatever the value.
        - ``regex``: the message text (or bytes read as Latin-1) contains a
          match of this Python regular expression.

        With no criteria, any message matches. Messages that do not match stay
        in the inbox, in order, for later keywords. Returns a dictionary or
        list for JSON messages, else the text or bytes.

        Fails when no matching message arrives within ``timeout`` or the
        connection closes first; the failure names the connection, the criteria
        and the messages that did arrive.

        A JSON field named like an argument of this keyword (``timeout``,
        ``regex``, ``connection``) can be matched with JSONPath: ``$.timeout=5``.

        | ${reply} = | `Wait For Message` | type=echo | id=${id} |
        | `Wait For Message` | $.payload.user=alice | timeout=3s |
        | `Wait For Message` | regex=^\\{"type":"error" | connection=bob |
        """
        return self._take(self.criteria(fields, regex), timeout, connection).structured

    @keyword(tags=("messages", "receive", "wait"))
    def wait_for_messages(
        self,
        count: int,
        timeout: timedelta | None = None,
        regex: str | None = None,
        connection: str | None = None,
        **fields: Any,
    ) -> list[Any]:
        """Waits until ``count`` messages match the criteria; takes and returns them in order.

        Criteria are as in `Wait For Message`. Takes all or nothing: on failure
        the messages stay in the inbox and the failure says how many matched.

        This counts messages. Where the same message can arrive twice (at-least-once
        delivery, redelivery after `Reconnect`), count values with `Wait For Sequence`.

        | @{replies} = | `Wait For Messages` | 10 | type=echo |
        """
        if count < 1:
            raise WebSocketLibraryError(
                f"Wait For Messages needs a count of 1 or more, got {count}."
            )
        criteria = self.criteria(fields, regex)
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        messages = target.inbox.take_many(criteria, count, wait)
        if len(messages) < count:
            wanted = f"{count} messages {criteria.describe()}"
            raise MessageTimeoutError(
                f"{capitalized(target.describe())} {ended(target, wanted, wait)}: "
                f"only {len(messages)} matched. {self.describe_inbox(target)}"
            )
        return [m.structured for m in messages]

    @keyword(tags=("messages", "receive", "wait"))
    def should_not_receive_message(
        self,
        within: timedelta = timedelta(seconds=1),
        regex: str | None = None,
        connection: str | None = None,
        **fields: Any,
    ) -> None:
        """Fails if a message matching the criteria arrives within ``within`` (or already has).

        Criteria are as in `Wait For Message`; with none, any message fails
        the keyword. The inbox is left as it is. The failure shows the message.

        | `Should Not Receive Message` | within=500ms | type=error |
        """
        criteria = self.criteria(fields, regex)
        target = self.connection(connection)
        found = target.inbox.peek(criteria, within.total_seconds())
        if found is not None:
            raise UnexpectedMessageError(
                f"{capitalized(target.describe())} received a message "
                f"{criteria.describe()}, which it should not have: #{found.sequence} {found.kind}: "
                f"{preview(found.data, PREVIEW_CHARS_IN_FAILURES)}"
            )

    @keyword(tags=("messages", "inbox"))
    def get_inbox(self, connection: str | None = None) -> list[Any]:
        """Returns the unconsumed messages, oldest first, without removing them.

        JSON messages are returned as dictionaries or lists, others as text or bytes.

        | @{pending} = | `Get Inbox` |
        | Length Should Be | ${pending} | 0 |
        """
        return [m.structured for m in self.connection(connection).inbox.snapshot()]

    @keyword(tags=("messages", "inbox"))
    def clear_inbox(self, connection: str | None = None) -> int:
        """Discards the unconsumed messages; returns how many there were.

        | ${discarded} = | `Clear Inbox` | connection=alice |
        """
        return len(self.connection(connection).inbox.clear())

    @keyword(tags=("messages", "timing"))
    def reply_time_should_be_below(
        self,
        budget: timedelta,
        timeout: timedelta | None = None,
        regex: str | None = None,
        connection: str | None = None,
        **fields: Any,
    ) -> tuple[Any, float]:
        """Waits for a message like `Wait For Message` and checks it came within ``budget``.

        The time runs from the last message this connection sent to the
        arrival of the matching message (as recorded when it was read, so a
        late call to this keyword does not count; a reply that comes while no
        keyword waits is read within 5 ms). Only messages that
        arrived after that send count as replies. Returns the message and the
        time in seconds; logs the time. To measure many replies, use
        `Measure Reply Times`.

        | `Send Json Message` | {"type": "echo", "id": 9} |
        | ${reply} | ${seconds} = | `Reply Time Should Be Below` | 50ms | type=echo | id=9 |
        """
        target = self.connection(connection)
        sent_at = target.last_sent_monotonic
        if sent_at is None:
            raise WebSocketLibraryError(
                f"{capitalized(target.describe())} has sent nothing to time a reply against."
            )
        criteria = self.criteria(fields, regex, arrived_after=sent_at)
        message = self._take(criteria, timeout, connection)
        took = message.monotonic - sent_at
        logger.info(f"Reply on {target.describe()} in {took * 1000:.2f} ms.")
        if took > budget.total_seconds():
            raise WebSocketLibraryError(
                f"Reply on {target.describe()} took {took * 1000:.1f} ms, over the budget of "
                f"{budget.total_seconds() * 1000:.0f} ms."
            )
        return message.structured, took

    @keyword(tags=("connection", "close", "wait"))
    def wait_for_close(
        self,
        code: int | None = None,
        reason: str | None = None,
        timeout: timedelta | None = None,
        connection: str | None = None,
    ) -> DotDict:
        """Waits until the connection is closed and checks the close ``code`` and ``reason``.

        Returns ``code``, ``reason`` and ``closed_by`` (``server``, ``client``
        or ``network`` for a drop without a close frame, code 1006). Fails when
        the connection is still open after ``timeout`` (showing what arrived
        meanwhile) or closed with another code or reason.

        | `Send Text Message` | ${too_big} |
        | `Wait For Close` | 1009 |
        """
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        info = target.inbox.wait_for_close(wait)
        if info is None:
            raise MessageTimeoutError(
                f"{capitalized(target.describe())} was still open after {timestr(wait)}, "
                f"expected a close{f' with code {code}' if code is not None else ''}. "
                f"{self.describe_inbox(target)}"
            )
        if (code is not None and info.code != code) or (
            reason is not None and info.reason != reason
        ):
            expected = " and ".join(
                part
                for part in (
                    f"code {code}" if code is not None else "",
                    f"reason '{reason}'" if reason is not None else "",
                )
                if part
            )
            raise WebSocketLibraryError(
                f"{capitalized(target.describe())} was {describe_close(info)}; expected {expected}."
            )
        return DotDict(code=info.code, reason=info.reason, closed_by=info.initiated_by)

    # Shared.

    def _take(
        self, criteria: Criteria, timeout: timedelta | None, connection: str | None
    ) -> Message:
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        message = target.inbox.take(criteria, wait)
        if message is None:
            wanted = "any message" if criteria.is_any else f"a message {criteria.describe()}"
            raise MessageTimeoutError(
                f"{capitalized(target.describe())} {ended(target, wanted, wait)}. "
                f"{self.describe_inbox(target)}"
            )
        return message
