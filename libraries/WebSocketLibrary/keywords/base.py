"""What every keyword component shares: the connections, timeouts and failure texts."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from robot.utils import secs_to_timestr

from ..connection import ConnectOptions, WebSocketConnection, describe_close
from ..errors import NoConnectionError, WebSocketLibraryError
from ..matchers import Criteria
from ..transcript import preview

if TYPE_CHECKING:
    from ..library import WebSocketLibrary

INBOX_LINES_IN_FAILURES = 5
PREVIEW_CHARS_IN_FAILURES = 160


class LibraryComponent:
    def __init__(self, library: WebSocketLibrary) -> None:
        self.library = library

    def connection(self, identifier: str | int | None = None) -> WebSocketConnection:
        """The connection named by alias or index, or the current one."""
        cache = self.library.connections
        if identifier is None:
            if not cache:
                raise NoConnectionError("No open WebSocket connection. Use 'Connect' first.")
            return cache.current
        member = self._group_member(identifier)
        if member is not None:
            return member
        try:
            return cache.get_connection(identifier)
        except RuntimeError:
            known = ", ".join(f"'{c.name}'" for c in cache) or "none"
            raise NoConnectionError(
                f"No WebSocket connection with alias or index '{identifier}'. Known: {known}."
            ) from None

    def _group_member(self, identifier: str | int) -> WebSocketConnection | None:
        """The member for ``group:index``, when ``group`` names an open group."""
        group_name, _, index = str(identifier).rpartition(":")
        group = self.library.groups.get(group_name)
        if group is None:
            return None
        try:
            return group.member(int(index))
        except (ValueError, LookupError) as error:
            raise NoConnectionError(str(error)) from None

    def seconds(
        self, timeout: timedelta | None, connection: WebSocketConnection | None = None
    ) -> float:
        if timeout is not None:
            return max(timeout.total_seconds(), 0.0)
        if connection is not None:
            return connection.options.timeout
        return self.library.timeout

    def connect_options(
        self,
        timeout: timedelta | None,
        max_message_size: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
        **handshake: Any,
    ) -> ConnectOptions:
        """The options of a connection from keyword arguments; the library's defaults for None."""
        if max_message_size is None:
            max_message_size = self.library.max_message_size
        if handshake.get("ca_file") is None:
            handshake["ca_file"] = self.library.ca_file
        return ConnectOptions(
            headers=dict(headers or {}),
            subprotocols=tuple(subprotocols or ()),
            timeout=self.seconds(timeout),
            max_message_size=max_message_size,
            **handshake,
        )

    def criteria(
        self, fields: dict[str, Any], regex: str | None, arrived_after: float | None = None
    ) -> Criteria:
        """The criteria of a waiting keyword; a bad JSONPath or regex fails the keyword."""
        try:
            return Criteria(dict(fields), regex, arrived_after=arrived_after)
        except ValueError as error:
            raise WebSocketLibraryError(str(error)) from None

    def describe_inbox(self, connection: WebSocketConnection) -> str:
        """What arrived and is still unconsumed, for failure messages."""
        messages = connection.inbox.snapshot()
        if not messages:
            return "Its inbox is empty."
        shown = messages[-INBOX_LINES_IN_FAILURES:]
        lines = [
            f"  #{m.sequence} {m.kind}: {preview(m.data, PREVIEW_CHARS_IN_FAILURES)}" for m in shown
        ]
        older = len(messages) - len(shown)
        header = f"Its inbox holds {len(messages)} unconsumed message(s)"
        header += f", the last {len(shown)}:" if older else ":"
        return "\n".join([header, *lines])


def ended(target: WebSocketConnection, wanted: str, wait: float) -> str:
    """How the wait for ``wanted`` ended without it."""
    closed = target.closed
    if closed is not None:
        return f"was {describe_close(closed)} before it received {wanted}"
    return f"did not receive {wanted} within {timestr(wait)}"


def timestr(seconds: float) -> str:
    return secs_to_timestr(seconds, compact=True) if seconds else "0s"


def capitalized(text: str) -> str:
    """``text`` with its first letter in upper case and the rest untouched."""
    return text[:1].upper() + text[1:]
