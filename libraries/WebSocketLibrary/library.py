"""The ``WebSocketLibrary`` class: keyword components over a connection cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError
from robot.utils import ConnectionCache
from robotlibcore import DynamicCore

from AuthLibrary.masking import mask_credentials, reveals_secrets

from .connection import WebSocketConnection, close_together
from .errors import WebSocketLibraryError
from .group import ConnectionGroup
from .incomplete import IncompleteHandshake
from .keywords import (
    ConnectionKeywords,
    FrameKeywords,
    GroupKeywords,
    HandshakeKeywords,
    HeartbeatKeywords,
    ReceivingKeywords,
    ResourceKeywords,
    SendingKeywords,
    SequenceKeywords,
)
from .receiver import DEFAULT_MAX_MESSAGE_SIZE
from .transcript import render_html

__version__ = "0.1.0"


class Connections(ConnectionCache):
    """The connection cache, plus putting a reopened connection in its old place."""

    def replace(self, index: int, connection: WebSocketConnection) -> None:
        # ConnectionCache keeps connections in a list by index; aliases map to indexes,
        # so replacing the list entry keeps the alias and the index.
        was_current = self.current is self._connections[index - 1]
        self._connections[index - 1] = connection
        if was_current:
            self.current = connection


class _Listener:
    """Closes what tests left open when the library goes out of scope."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, library: WebSocketLibrary) -> None:
        self.library = library

    def close(self) -> None:
        self.library.close_all()


class WebSocketLibrary(DynamicCore):
    """Test any WebSocket server: connect, send, wait for messages, check the close.

    = Connections =

    `Connect` opens a connection and makes it the current one. Give it an
    ``alias`` to come back to it with `Switch Connection`, or pass the alias
    (or index) as the ``connection`` argument of any keyword to act on another
    connection without switching. `Close All Connections` in a teardown closes
    everything; the library also closes what is left when it goes out of scope.

    = The inbox =

    Every connection has a background reader that takes each frame off the
    socket as it arrives. Messages go into the connection's inbox, where they
    wait until a keyword takes them: nothing that arrives between two keywords
    is lost. `Receive Message` takes the oldest; `Wait For Message` takes the
    first that matches its criteria and leaves the others in order. Pings from
    the server are answered at once, whether or not a keyword is running.

    = TLS =

    ``wss://`` servers are verified: their certificate must chain to a trusted CA
    and name the host of the URL. The system's trust store is used unless a CA
    file is given, to one `Connect` (``ca_file=``) or to every connection opened
    from then on (`Set Default CA File`, or the ``ca_file`` import argument),
    which suits a test service with a CA of its own. Only ``verify=False`` of
    `Connect` accepts any certificate.

    = Failures =

    A failure names the connection, says what was expected, and shows what
    did arrive: the last unconsumed messages, shortened, or how the connection
    was closed. A refused handshake shows the HTTP status and body.

    = Transcript =

    After every keyword of this library, log.html gets a table of what crossed
    the wire since the previous one: time, connection, direction, type, size
    and content (shortened). JWTs, credential headers (``Authorization``,
    ``Cookie``, ``X-Api-Key``...) and credential query parameters
    (``access_token=``...) are masked unless the log level is DEBUG or TRACE.
    Import with ``transcript=False`` to turn the transcript off.

    = Timeouts =

    Times are Robot Framework time strings: ``5s``, ``1.5 seconds``,
    ``1 min 30 s``, ``200ms``. The library's default timeout (10 seconds, or
    the ``timeout`` import argument) applies to connections opened without
    their own; a connection's timeout is the default wait of its keywords.

    = Example =

    | ***** Settings *****
    | Library    WebSocketLibrary    timeout=5s
    | Test Teardown    Close All Connections
    |
    | ***** Test Cases *****
    | Echo Is Answered
    |     Connect    ws://127.0.0.1:8765/ws?access_token=${TOKEN}    alias=alice
    |     Wait For Message    type=welcome
    |     Send Json Message    {"type": "echo", "id": 1, "payload": "hi"}
    |     ${reply} =    Wait For Message    type=echo    id=1
    |     Should Be Equal    ${reply}[payload]    hi
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(
        self,
        timeout: timedelta = timedelta(seconds=10),
        transcript: bool = True,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        ca_file: str | None = None,
    ) -> None:
        """``timeout`` is the default for connections; ``transcript`` logs the wire traffic.

        ``max_message_size`` is the largest message in bytes that a connection
        accepts from the server (16 MiB; ``None`` for no limit): see `Connect`.

        ``ca_file`` is the default CA certificate (PEM) that ``wss://`` servers are
        verified with, instead of the system's trust store: see `Set Default CA File`.

        | Library | WebSocketLibrary | timeout=3s | transcript=False |
        | Library | WebSocketLibrary | max_message_size=${1048576} |
        | Library | WebSocketLibrary | ca_file=${CURDIR}/ca.pem |
        """
        self.timeout = timeout.total_seconds()
        self.ca_file = ca_file or None
        self.max_message_size = max_message_size
        self.transcript_enabled = transcript
        self.connections = Connections("No open WebSocket connection.")
        self.groups: dict[str, ConnectionGroup] = {}
        self.incomplete_handshakes: dict[str, IncompleteHandshake] = {}
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)
        super().__init__(
            [
                ConnectionKeywords(self),
                SendingKeywords(self),
                ReceivingKeywords(self),
                HeartbeatKeywords(self),
                FrameKeywords(self),
                ResourceKeywords(self),
                SequenceKeywords(self),
                GroupKeywords(self),
                HandshakeKeywords(self),
            ]
        )

    def run_keyword(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None):
        try:
            return super().run_keyword(name, args, kwargs)
        except WebSocketLibraryError as error:
            # One place masks every failure: URLs, headers and bodies can carry secrets.
            error.args = (self.mask(str(error)),)
            raise
        finally:
            self.log_transcript(*self.connections)

    def close_all(self) -> None:
        """Close every connection, group member and incomplete handshake, and forget them.

        Connections and group members close together, within one timeout.
        """
        for attempt in self.incomplete_handshakes.values():
            attempt.close()
        self.incomplete_handshakes.clear()
        connections = list(self.connections)
        members = [m for group in self.groups.values() for m in group.members.values()]
        everything = connections + members
        close_together(everything, max((c.options.timeout for c in everything), default=0))
        self.log_transcript(*connections)
        for member in members:
            member.transcript.drain()
        self.connections.empty_cache()
        for group in self.groups.values():
            group.members.clear()
        self.groups.clear()

    def log_transcript(self, *connections: WebSocketConnection) -> None:
        """Log the wire events recorded since the last call, as one HTML table."""
        events, dropped = [], 0
        for connection in connections:
            drained, lost = connection.transcript.drain()
            events += drained
            dropped += lost
        if events and self.transcript_enabled:
            logger.info(render_html(events, self._masker(), dropped), html=True)

    def mask(self, text: str) -> str:
        return self._masker()(text)

    def _masker(self):
        try:
            level = BuiltIn().get_variable_value("${LOG_LEVEL}")
        except RobotNotRunningError:
            level = None
        if reveals_secrets(level):
            return lambda text: text
        return mask_credentials
