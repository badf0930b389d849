"""Keywords that open, switch, inspect and close connections."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from robot.api.deco import keyword
from robot.utils import DotDict

from ..connection import (
    CLOSE_NORMAL,
    ConnectOptions,
    HandshakeRefusedError,
    WebSocketConnection,
    describe_close,
)
from ..errors import HandshakeError, WebSocketLibraryError
from ..inbox import CloseInfo
from ..transcript import TranscriptMode, transcript_mode
from .base import LibraryComponent, timestr


class ConnectionKeywords(LibraryComponent):
    @keyword(tags=("connection",))
    def connect(
        self,
        url: str,
        alias: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
        origin: str | None = None,
        cookie: str | None = None,
        timeout: timedelta | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        client_cert: str | None = None,
        client_key: str | None = None,
        max_message_size: int | None = None,
    ) -> int:
        """Opens a WebSocket connection to ``url`` and makes it the current one.

        Returns the connection's index. ``alias`` names the connection for
        `Switch Connection` and for the ``connection`` argument of other
        keywords; it also names the connection in failures and in the transcript.

        Handshake options:
        - ``headers``: extra HTTP headers, e.g. ``Authorization``.
        - ``subprotocols``: offered in ``Sec-WebSocket-Protocol``; the server's
          choice is in `Get Connection Details`.
        - ``origin``, ``cookie``: the ``Origin`` and ``Cookie`` headers.
        - ``timeout``: for the handshake, for sending, and the default wait of
          receiving keywords on this connection. Defaults to the library's timeout.
        - ``ca_file``, ``verify``, ``client_cert``, ``client_key``: TLS for
          ``wss://`` URLs. ``ca_file`` is the CA certificate (PEM) that verifies
          the server, by default the one of `Set Default CA File`, or else the
          system's trust store. ``verify=False`` accepts any server certificate.
        - ``max_message_size``: the largest message, in bytes, accepted from the
          server; defaults to the library's (16 MiB unless set at import). A
          frame header announcing more fails the connection with close code
          1009 before its payload is read, so a broken server cannot exhaust
          the test runner's memory.

        A background reader starts at once: every message that arrives is kept
        in the connection's inbox until a keyword takes it, and pings are
        answered immediately.

        Fails, naming the connection, when the server refuses the handshake
        (showing the HTTP status and body) or cannot be reached. To test a
        refusal, use `Connect Should Be Refused`.

        | ${index} = | `Connect` | ws://127.0.0.1:8765/ws | alias=alice | headers=${auth} |
        | `Connect` | wss://example.test/ws | subprotocols=${{["chat", "v2"]}} | ca_file=ca.pem |
        | `Connect` | ws://localhost:8765/ws?access_token=${token} | timeout=3s |
        """
        options = self.connect_options(
            timeout,
            max_message_size,
            headers=headers,
            subprotocols=subprotocols,
            origin=origin,
            cookie=cookie,
            ca_file=ca_file,
            verify=verify,
            client_cert=client_cert,
            client_key=client_key,
        )
        connection = self._open(url, alias, options)
        return self.library.connections.register(connection, alias)

    @keyword(tags=("connection", "handshake"))
    def connect_should_be_refused(
        self,
        url: str,
        status: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
        origin: str | None = None,
        cookie: str | None = None,
        timeout: timedelta | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        client_cert: str | None = None,
        client_key: str | None = None,
        max_message_size: int | None = None,
    ) -> DotDict:
        """Attempts a handshake that the server must refuse, and returns the refusal.

        Passes when the server answers the opening handshake with an HTTP status
        other than 101 (and, when ``status`` is given, with exactly that status).
        Fails when the handshake is accepted (the accepted connection is closed
        again) or the status differs, showing what the server answered.

        The result has ``status``, ``reason`` (the HTTP reason phrase),
        ``headers``, ``body`` (text) and ``json`` (the parsed body, or ``None``).
        Other arguments are as in `Connect`.

        | ${refusal} =  | `Connect Should Be Refused` | ${WS_URL} | 401 |
        | Should Be Equal | ${refusal.json}[error] | token_expired |
        """
        options = self.connect_options(
            timeout,
            max_message_size,
            headers=headers,
            subprotocols=subprotocols,
            origin=origin,
            cookie=cookie,
            ca_file=ca_file,
            verify=verify,
            client_cert=client_cert,
            client_key=client_key,
        )
        try:
            connection = self._open(url, None, options)
        except HandshakeRefusedError as refused:
            refusal = refused.refusal
            if status is not None and refusal.status != status:
                raise HandshakeError(
                    f"Handshake to {url} was refused with HTTP {refusal.status} {refusal.reason}, "
                    f"expected {status}. Body: {refusal.text or '(empty)'}"
                ) from None
            return DotDict(
                status=refusal.status,
                reason=refusal.reason,
                headers=refusal.headers,
                body=refusal.text,
                json=refusal.json,
            )
        subprotocol = connection.subprotocol
        connection.close()
        self.library.log_transcript(connection)
        raise HandshakeError(
            f"Handshake to {url} was expected to be refused"
            + (f" with HTTP {status}" if status is not None else "")
            + " but the server accepted it (HTTP 101"
            + (f", subprotocol '{subprotocol}'" if subprotocol else "")
            + ")."
        )

    def _open(self, url: str, alias: str | None, options: ConnectOptions) -> WebSocketConnection:
        name = alias or f"#{len(self.library.connections) + 1}"
        connection = WebSocketConnection(url, options, name=name)
        try:
            connection.open()
        except HandshakeError:
            self.library.log_transcript(connection)
            raise
        return connection

    @keyword(tags=("connection",))
    def reconnect(
        self,
        connection: str | None = None,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: timedelta | None = None,
    ) -> int:
        """Opens a connection again with the same alias, index and options; returns the index.

        For tests that drop a connection, or restart the server, and then come
        back. A connection that is still open is closed first. ``url`` and
        ``headers`` replace the old ones when given (e.g. a refreshed token);
        everything else is kept. Messages the old connection received but no
        keyword took stay in the inbox, in front of the new ones.

        While the server refuses the TCP connection (it is restarting), tries
        again until ``timeout`` (the connection's timeout by default). A refused
        handshake fails at once.

        | `Drop Connection` | connection=alice |
        | `Reconnect` | alice |
        | `Reconnect` | alice | url=${WS_URL}?access_token=${new_token} | timeout=15s |
        """
        old = self.connection(connection)
        index = self.library.connections.get_connection_index(old)
        try:
            fresh = old.reopen(url, headers, self.seconds(timeout, old))
        except HandshakeError as error:
            self.library.log_transcript(error.attempt or old)
            raise
        self.library.log_transcript(old)
        self.library.connections.replace(index, fresh)
        return index

    @keyword(tags=("connection",))
    def switch_connection(self, connection: str) -> int | None:
        """Makes the connection with the given alias or index the current one.

        Returns the index of the previous current connection (``None`` if there
        was none), so a test can switch back:

        | ${previous} = | `Switch Connection` | bob |
        | `Send Json Message` | {"type": "echo"} |
        | `Switch Connection` | ${previous} |
        """
        previous = self.library.connections.current_index
        target = self.connection(connection)
        self.library.connections.switch(target)
        return previous

    @keyword(tags=("connection",))
    def get_connection_details(self, connection: str | None = None) -> DotDict:
        """Returns what is known about a connection (the current one by default).

        Keys: ``index``, ``alias``, ``url``, ``open`` (``True``/``False``),
        ``subprotocol`` (chosen by the server), ``status`` and ``headers`` of the
        handshake response, ``handshake_time`` (seconds), ``inbox_size``,
        ``received`` (messages so far), ``pings_received`` (the server's pings so
        far), ``answering_pings``, and ``close_code``, ``close_reason``,
        ``closed_by`` once closed.

        | ${details} = | `Get Connection Details` | alice |
        | Should Be Equal | ${details.subprotocol} | bearer |
        """
        target = self.connection(connection)
        closed = target.closed
        return DotDict(
            index=self.library.connections.get_connection_index(target),
            alias=target.name,
            url=target.url,
            open=target.is_open,
            subprotocol=target.subprotocol,
            status=target.response_status,
            headers=target.response_headers,
            handshake_time=target.handshake_seconds,
            inbox_size=len(target.inbox),
            received=target.inbox.received_count,
            pings_received=target.control.ping_count,
            answering_pings=target.answer_pings,
            close_code=closed.code if closed else None,
            close_reason=closed.reason if closed else None,
            closed_by=closed.initiated_by if closed else None,
        )

    @keyword(tags=("connection",))
    def connection_should_be_open(self, connection: str | None = None) -> None:
        """Fails if the connection (the current one by default) has been closed.

        The failure says who closed it, with which code and reason.

        | `Connection Should Be Open` | connection=alice |
        """
        target = self.connection(connection)
        if not target.is_open:
            raise WebSocketLibraryError(
                f"Expected {target.describe()} to be open, but it was "
                f"{describe_close(target.closed or _NEVER_OPENED)}."
            )

    @keyword(tags=("connection", "timing"))
    def handshake_time_should_be_below(
        self, budget: timedelta, connection: str | None = None
    ) -> float:
        """Fails if the opening handshake took longer than ``budget``; returns its seconds.

        The time runs from opening the TCP connection to the server's 101 response.

        | `Handshake Time Should Be Below` | 200ms |
        """
        target = self.connection(connection)
        took = target.handshake_seconds or 0.0
        if took > budget.total_seconds():
            raise WebSocketLibraryError(
                f"Handshake of {target.describe()} took {took * 1000:.1f} ms, "
                f"over the budget of {budget.total_seconds() * 1000:.0f} ms."
            )
        return took

    @keyword(tags=("connection",))
    def close_connection(
        self,
        code: int = CLOSE_NORMAL,
        reason: str = "",
        connection: str | None = None,
        timeout: timedelta | None = None,
    ) -> DotDict:
        """Closes a connection (the current one by default) with ``code`` and ``reason``.

        Runs the closing handshake: sends a close frame and waits up to
        ``timeout`` for the server's. Returns how the connection ended:
        ``code`` and ``reason`` from the server's close frame and ``closed_by``
        (``client``, ``server``, or ``network`` for a drop). A connection the
        server had already closed is just cleaned up.

        | `Close Connection` |
        | ${result} = | `Close Connection` | 4000 | going away | connection=alice |
        """
        target = self.connection(connection)
        try:
            info = target.close(code, reason, self.seconds(timeout, target))
        except ValueError as error:
            raise WebSocketLibraryError(f"Cannot close {target.describe()}: {error}") from None
        return _close_details(info)

    @keyword(tags=("connection",))
    def close_all_connections(self) -> None:
        """Closes every connection and forgets them all; use in teardowns.

        After this, indexes start again from 1 and no reader thread or socket
        of the library is left.

        | Suite Teardown | `Close All Connections` |
        """
        self.library.close_all()

    @keyword(tags=("configuration",))
    def set_transcript_logging(self, mode: TranscriptMode | bool) -> TranscriptMode:
        """Chooses when the wire transcript is written to log.html; returns the previous mode.

        ``mode`` is ``test``, ``keyword``, ``failure`` or ``off`` (see `Transcript`);
        ``on`` means ``test``. What was recorded before the change is written
        as the old mode would have written it.

        Turn it off around loops that open hundreds of connections, where the
        lines would bloat the log without telling anything new.

        | ${previous} = | `Set Transcript Logging` | off |
        | FOR | ${i} | IN RANGE | 200 |
        | | `Connect` | ${WS_URL} |
        | | `Close Connection` |
        | END |
        | `Set Transcript Logging` | ${previous} |
        | `Set Transcript Logging` | keyword | # a block after every keyword |
        """
        return self.library.set_transcript_mode(transcript_mode(mode))

    @keyword(tags=("configuration",))
    def set_default_timeout(self, timeout: timedelta) -> str:
        """Sets the timeout of connections opened from now on; returns the previous one.

        The timeout given when importing the library (``timeout=10s`` by default)
        applies until this is called.

        | ${old} = | `Set Default Timeout` | 2s |
        """
        previous = self.library.timeout
        self.library.timeout = timeout.total_seconds()
        return timestr(previous)

    @keyword(tags=("configuration", "tls"))
    def set_default_ca_file(self, ca_file: str | None) -> str | None:
        """Sets the CA certificate that verifies ``wss://`` servers; returns the previous one.

        ``ca_file`` is a PEM file of one or more CA certificates. Connections
        opened after this (by `Connect`, `Connect Should Be Refused` and the
        group keywords) trust those CAs instead of the system's trust store,
        unless they are given their own ``ca_file``. ``None`` or an empty
        value goes back to the system's trust store. Fails when the file does
        not exist. Verification stays on: only ``verify=False`` of `Connect`
        turns it off.

        | `Set Default CA File` | ${service}[ca_file] |
        | ${old} = | `Set Default CA File` | ${CURDIR}/test-ca.pem |
        | `Set Default CA File` | ${None} |
        """
        if ca_file and not Path(ca_file).is_file():
            raise WebSocketLibraryError(f"CA file '{ca_file}' does not exist or is not a file.")
        previous = self.library.ca_file
        self.library.ca_file = ca_file or None
        return previous


_NEVER_OPENED = CloseInfo(None, "never opened", "client", 0.0)


def _close_details(info: CloseInfo) -> DotDict:
    return DotDict(code=info.code, reason=info.reason, closed_by=info.initiated_by)
