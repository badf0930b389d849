"""Exceptions whose messages Robot Framework shows as plain sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import WebSocketConnection


class WebSocketLibraryError(AssertionError):
    """Base of every failure the library reports.

    ``ROBOT_SUPPRESS_NAME`` keeps the class name out of the failure message,
    so log.html reads "Connection 'alice' ..." rather than "WebSocketLibraryError: ...".
    """

    ROBOT_SUPPRESS_NAME = True


class NoConnectionError(WebSocketLibraryError):
    """No connection is open, or the given alias or index is unknown."""


class HandshakeError(WebSocketLibraryError):
    """The opening handshake failed or had an outcome the test did not expect.

    ``attempt`` is the connection that failed, when a reopen gave up.
    """

    attempt: WebSocketConnection | None = None


class MessageTimeoutError(WebSocketLibraryError):
    """No (matching) message arrived in time."""


class UnexpectedMessageError(WebSocketLibraryError):
    """A message arrived that the test said must not, or of the wrong kind."""


class ConnectionClosedError(WebSocketLibraryError):
    """The connection is closed, so the operation cannot happen."""
