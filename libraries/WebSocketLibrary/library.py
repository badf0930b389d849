"""The ``WebSocketLibrary`` class: keyword components over a connection cache."""

from __future__ import annotations

from collections import deque
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
    ExchangeKeywords,
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
from .transcript import TranscriptEvent, TranscriptMode, render_html, transcript_mode

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


#: Events gathered for one transcript table at most; older ones are counted, not kept.
PENDING_EVENTS = 10_000


class _Listener:
    """Writes the transcript at the end of setups, teardowns and tests; closes what tests
    left open when the library goes out of scope."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, library: WebSocketLibrary) -> None:
        self.library = library

    def end_keyword(self, data: Any, result: Any) -> None:
        # Called after every keyword of every library: only setups and teardowns matter.
        if result.type in _SETUP_OR_TEARDOWN:
            self.library.end_of_scope(result.failed, suite_level=result.parent.type == "SUITE")

    def end_test(self, data: Any, result: Any) -> None:
        self.library.end_of_scope(result.failed)

    def close(self) -> None:
        self.library.close_all()


_SETUP_OR_TEARDOWN = frozenset({"SETUP", "TEARDOWN"})


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

    log.html shows what crossed the wire: a block of lines, one per event, with
    the time, the connection, the direction (→ sent, ← received, • event), the
    frame type, its size in bytes and its content (shortened). JWTs, credential
    headers (``Authorization``, ``Cookie``, ``X-Api-Key``...) and credential
    query parameters (``access_token=``...) are masked unless the log level is
    DEBUG or TRACE.

    The ``transcript`` import argument (or `Set Transcript Logging`) chooses
    when it is written:

    | =Mode=    | =The transcript is written=                                        |
    | ``test``  | (the default) once at the end of each test, setup and teardown,    |
    |           | and at once in a keyword of this library that fails                |
    | ``keyword`` | after every keyword of this library that had traffic: the most   |
    |           | detailed, and the most costly in a loop                            |
    | ``failure`` | only where a keyword of this library fails or a test fails       |
    | ``off``   | never                                                              |

    Each connection keeps its last 2,000 events until they are written; a
    block says how many older ones it left out. ``True`` means ``test`` and
    ``False`` means ``off``.

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
        transcript: TranscriptMode | bool = TranscriptMode.TEST,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        ca_file: str | None = None,
    ) -> None:
        """``timeout`` is the default for connections; ``transcript`` says when the wire
        traffic is logged (see `Transcript`).

        ``max_message_size`` is the largest message in bytes that a connection
        accepts from the server (16 MiB; ``None`` for no limit): see `Connect`.

        ``ca_file`` is the default CA certificate (PEM) that ``wss://`` servers are
        verified with, instead of the system's trust store: see `Set Default CA File`.

        | Library | WebSocketLibrary | timeout=3s | transcript=keyword |
        | Library | WebSocketLibrary | max_message_size=${1048576} |
        | Library | WebSocketLibrary | ca_file=${CURDIR}/ca.pem |
        """
        self.timeout = timeout.total_seconds()
        self.ca_file = ca_file or None
        self.max_message_size = max_message_size
        self.transcript_mode = transcript_mode(transcript)
        self._pending: deque[TranscriptEvent] = deque(maxlen=PENDING_EVENTS)
        self._pending_dropped = 0
        self.connections = Connections("No open WebSocket connection.")
        self.groups: dict[str, ConnectionGroup] = {}
        self.incomplete_handshakes: dict[str, IncompleteHandshake] = {}
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)
        super().__init__(
            [
                ConnectionKeywords(self),
                SendingKeywords(self),
                ReceivingKeywords(self),
                ExchangeKeywords(self),
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
            result = super().run_keyword(name, args, kwargs)
        except WebSocketLibraryError as error:
            # One place masks every failure: URLs, headers and bodies can carry secrets.
            error.args = (self.mask(str(error)),)
            self._transcript_after_keyword(failed=True)
            raise
        except BaseException:
            self._transcript_after_keyword(failed=True)
            raise
        self._transcript_after_keyword(failed=False)
        return result

    def _transcript_after_keyword(self, failed: bool) -> None:
        mode = self.transcript_mode
        # In the modes that wait for the end of a test, a passing keyword costs nothing here.
        if mode is TranscriptMode.KEYWORD or (failed and mode is not TranscriptMode.OFF):
            self.collect_transcript(*self.connections)
            self.write_transcript()

    def end_of_scope(self, failed: bool, suite_level: bool = True) -> None:
        """A test, a setup or a teardown ended: write or drop what it left in the transcript.

        In ``failure`` mode a test's setup and teardown leave their events for the
        end of the test, which knows whether it failed.
        """
        mode = self.transcript_mode
        if mode is TranscriptMode.FAILURE and not suite_level:
            return
        self.collect_transcript(*self.connections)
        if mode is TranscriptMode.FAILURE and not failed:
            self.discard_transcript()
        else:
            self.write_transcript()

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
            member.transcript.discard()
        self.connections.empty_cache()
        for group in self.groups.values():
            group.members.clear()
        self.groups.clear()

    def set_transcript_mode(self, mode: TranscriptMode) -> TranscriptMode:
        """Change when the transcript is written; events so far follow the old mode."""
        previous = self.transcript_mode
        if previous is not TranscriptMode.FAILURE:
            self.collect_transcript(*self.connections)
            self.write_transcript()
        self.transcript_mode = mode
        return previous

    def log_transcript(self, *connections: WebSocketConnection) -> None:
        """Take the events of ``connections`` for the transcript, and write it in ``keyword``
        mode (the other modes write it later, when their moment comes)."""
        self.collect_transcript(*connections)
        if self.transcript_mode is TranscriptMode.KEYWORD:
            self.write_transcript()

    def collect_transcript(self, *connections: WebSocketConnection) -> None:
        """Move the events recorded on ``connections`` to the next transcript block."""
        for connection in connections:
            if len(connection.transcript):
                drained, lost = connection.transcript.drain()
                self._pending_dropped += lost + max(
                    len(self._pending) + len(drained) - PENDING_EVENTS, 0
                )
                self._pending.extend(drained)

    def write_transcript(self, force: bool = False) -> None:
        """Log the collected events as one block (in ``off`` mode: drop them)."""
        if self._pending and (force or self.transcript_mode is not TranscriptMode.OFF):
            rendered = render_html(self._pending, self._masker(), self._pending_dropped)
            logger.info(rendered, html=True)
        self.discard_transcript()

    def discard_transcript(self) -> None:
        self._pending.clear()
        self._pending_dropped = 0

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
