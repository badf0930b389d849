"""One WebSocket client connection: handshake, background reading, sending, closing.

Nothing here knows about Robot Framework, so it can be used and tested alone.
websocket-client does the opening handshake and writes frames; reading is ours.
The process's read loop (:mod:`.readloop`, one thread for every connection)
reads the socket as soon as bytes arrive and this class hands them to a
:class:`~.receiver.Receiver`, which applies RFC 6455's rules without I/O, then
acts on its events: it answers pings at once (websocket-client alone answers
them only while someone calls ``recv``), puts messages into the inbox, fails the
connection on a protocol violation, and records the wire traffic in the
transcript.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import struct
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NoReturn

import websocket
from websocket import ABNF

from .control import ControlFrameLog
from .errors import ConnectionClosedError, HandshakeError
from .frames import Opcode, build_frame
from .inbox import CloseInfo, Inbox
from .readloop import LEASE, READ_LOOP, THREAD_NAME
from .receiver import DEFAULT_MAX_MESSAGE_SIZE, Close, Message, Ping, Pong, Receiver
from .transcript import EVENT, RECEIVED, SENT, Transcript

READER_THREAD_PREFIX = THREAD_NAME

CLOSE_NORMAL = 1000
CLOSE_ABNORMAL = 1006

READ_SIZE = 2**16
#: Bytes of frames gathered into one write by :meth:`WebSocketConnection.send_many`.
BULK_WRITE_SIZE = 2**18
#: How long a failed send waits for the reader to record the peer's close, if it sent one.
PEER_CLOSE_GRACE = 1.0


@dataclass(frozen=True)
class ConnectOptions:
    """Everything that shapes an opening handshake, kept for reconnecting."""

    headers: Mapping[str, str] = field(default_factory=dict)
    subprotocols: Sequence[str] = ()
    origin: str | None = None
    cookie: str | None = None
    timeout: float = 10.0
    ca_file: str | None = None
    verify: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE

    def sslopt(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if not self.verify:
            options.update(cert_reqs=ssl.CERT_NONE, check_hostname=False)
        if self.ca_file:
            options["ca_certs"] = self.ca_file
        if self.client_cert:
            options["certfile"] = self.client_cert
        if self.client_key:
            options["keyfile"] = self.client_key
        return options


@dataclass(frozen=True)
class HandshakeRefusal:
    """The server answered the opening handshake with something other than 101."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class HandshakeRefusedError(HandshakeError):
    def __init__(self, message: str, refusal: HandshakeRefusal) -> None:
        super().__init__(message)
        self.refusal = refusal


class WebSocketConnection:
    """A client connection with an inbox that a background thread fills."""

    # Every connection object still alive, so leak checks can count them.
    alive: ClassVar[weakref.WeakSet[WebSocketConnection]] = weakref.WeakSet()

    def __init__(self, url: str, options: ConnectOptions, name: str = "") -> None:
        self.url = url
        self.options = options
        self.name = name or url
        self.inbox = Inbox()
        self.control = ControlFrameLog()
        WebSocketConnection.alive.add(self)
        self.transcript = Transcript(self.name)
        self.answer_pings = True
        self.handshake_seconds: float | None = None
        self.last_sent_monotonic: float | None = None
        self._ws = websocket.WebSocket(
            sslopt=options.sslopt(),
            enable_multithread=True,
            # Frames are read by the receiver, which checks UTF-8 itself.
            skip_utf8_validation=True,
        )
        self._receiver = Receiver(options.max_message_size)
        # Held by whoever reads the socket: the read loop, or a keyword that borrowed it.
        self._read_lock = threading.Lock()
        self._lent = False
        """The socket is out of the read loop: this connection's keywords read it."""
        self.inbox.pump = self._read_while_waiting
        self._reading = False
        """Set once the socket is in the read loop (after a successful handshake)."""
        self._read_ended = threading.Event()
        self._end: CloseInfo | None = None
        self._close_sent = threading.Event()
        # The thread sending the reply to the server's close while a keyword held the send
        # lock: it, not the read loop, closes the socket once the reply is out.
        self._close_reply: threading.Thread | None = None

    # Opening.

    def open(self) -> None:
        """Perform the opening handshake and start the reader.

        Raises ``HandshakeRefusedError`` when the server answers with an HTTP status
        other than 101, and ``HandshakeError`` when no handshake happens at all.
        """
        self.transcript.record(SENT, "handshake", note=self._describe_request())
        started = time.monotonic()
        try:
            self._ws.connect(
                self.url,
                header=[f"{name}: {value}" for name, value in self.options.headers.items()],
                subprotocols=list(self.options.subprotocols) or None,
                origin=self.options.origin,
                cookie=self.options.cookie,
                timeout=self.options.timeout,
                # A redirect is the server's answer, not something to follow: following
                # it would send the credentials in the headers to another host.
                redirect_limit=0,
            )
        except websocket.WebSocketBadStatusException as error:
            refusal = HandshakeRefusal(
                status=error.status_code,
                reason=error.status_message or "",
                headers=dict(error.resp_headers or {}),
                body=error.resp_body or b"",
            )
            self._refused(refusal)
        except (OSError, websocket.WebSocketException, ValueError) as error:
            response = self._ws.handshake_response
            if response is not None and 300 <= response.status < 400:
                self._refused(HandshakeRefusal(response.status, "redirect", response.headers, b""))
            self.transcript.record(EVENT, "error", note=f"{type(error).__name__}: {error}")
            self.inbox.close(CloseInfo(None, f"handshake failed: {error}", "network", time.time()))
            raise HandshakeError(f"Could not open {self.describe()}: {_explain(error)}") from None
        self.handshake_seconds = time.monotonic() - started
        self.transcript.record(
            RECEIVED,
            "handshake",
            note=f"HTTP 101 in {self.handshake_seconds * 1000:.1f} ms"
            + (f", subprotocol {self.subprotocol}" if self.subprotocol else ""),
        )
        self._reading = True
        READ_LOOP.add(self._ws.sock, self)

    def reopen(
        self,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry_interval: float = 0.1,
    ) -> WebSocketConnection:
        """A new, open connection like this one, holding what this inbox still held.

        Closes this connection first if it is open. ``url`` and ``headers`` replace
        the old ones when given. While the server refuses TCP (it is restarting),
        tries again every ``retry_interval`` until ``timeout`` (the connection's
        timeout by default); a refused handshake fails at once. On failure, the
        error's ``attempt`` is the last connection tried, for its transcript.
        """
        if self.is_open:
            self.close()
        options = self.options if headers is None else replace(self.options, headers=dict(headers))
        deadline = time.monotonic() + (self.options.timeout if timeout is None else timeout)
        while True:
            fresh = WebSocketConnection(url or self.url, options, name=self.name)
            try:
                fresh.open()
                break
            except HandshakeError as error:
                if isinstance(error, HandshakeRefusedError) or time.monotonic() >= deadline:
                    error.attempt = fresh
                    raise
                fresh.transcript.discard()  # Each failed attempt would repeat the same rows.
                time.sleep(retry_interval)  # A pause between attempts, not a synchronisation.
        fresh.inbox.carry_over(self.inbox.clear())
        return fresh

    def _refused(self, refusal: HandshakeRefusal) -> NoReturn:
        body: str | bytes = refusal.body
        # Error bodies are usually JSON or HTML; anything else is shown as hex.
        with contextlib.suppress(UnicodeDecodeError):
            body = refusal.body.decode("utf-8")
        self.transcript.record(
            RECEIVED, "refusal", body, note=f"HTTP {refusal.status} {refusal.reason}"
        )
        self.inbox.close(CloseInfo(None, "handshake refused", "server", time.time()))
        location = refusal.headers.get("location")
        raise HandshakeRefusedError(
            f"Handshake of {self.describe()} was refused: HTTP {refusal.status} "
            f"{refusal.reason}"
            + (f", Location: {location}" if location else "")
            + f", body: {refusal.text or '(empty)'}",
            refusal,
        ) from None

    def _describe_request(self) -> str:
        parts = [f"GET {self.url}"]
        parts += [f"{name}: {value}" for name, value in self.options.headers.items()]
        if self.options.subprotocols:
            parts.append(f"Sec-WebSocket-Protocol: {', '.join(self.options.subprotocols)}")
        if self.options.cookie:
            parts.append("Cookie: (masked)")
        return " | ".join(parts)

    # State.

    def describe(self) -> str:
        return (
            f"connection '{self.name}' ({self.url})"
            if self.name != self.url
            else (f"connection to {self.url}")
        )

    @property
    def subprotocol(self) -> str | None:
        return self._ws.getsubprotocol()

    @property
    def response_status(self) -> int | None:
        return self._ws.getstatus()

    @property
    def response_headers(self) -> dict[str, str]:
        return dict(self._ws.getheaders() or {})

    @property
    def closed(self) -> CloseInfo | None:
        return self.inbox.closed

    @property
    def is_open(self) -> bool:
        return self._reading and self.inbox.closed is None

    @property
    def reader_alive(self) -> bool:
        """Whether the read loop still serves this connection's socket."""
        return self._reading and not self._read_ended.is_set()

    # Sending.

    def send_text(self, text: str) -> float:
        """Send a text message; return the ``time.monotonic()`` at which sending began."""
        return self._send(text.encode("utf-8"), ABNF.OPCODE_TEXT, "text", text)

    def send_binary(self, data: bytes) -> float:
        """Send a binary message; return the ``time.monotonic()`` at which sending began."""
        return self._send(bytes(data), ABNF.OPCODE_BINARY, "binary", bytes(data))

    def send_json(self, value: Any) -> str:
        text = compact_json(value)
        self.send_text(text)
        return text

    def send_many(self, messages: Sequence[str | bytes]) -> float:
        """Send every message (``str`` as text, ``bytes`` as binary) in as few writes as
        possible; return the ``time.monotonic()`` at which sending began.

        The frames are built first and written in chunks of about ``BULK_WRITE_SIZE``
        bytes, so a thousand small messages cost a few system calls, not a thousand.
        """
        self._ensure_open("send messages")
        frames = []
        for message in messages:
            if isinstance(message, str):
                frames.append(ABNF.create_frame(message.encode("utf-8"), ABNF.OPCODE_TEXT))
            else:
                frames.append(ABNF.create_frame(bytes(message), ABNF.OPCODE_BINARY))
        started, started_wall = time.monotonic(), time.time()
        chunk: list[bytes] = []
        size = 0
        for frame in frames:
            data = frame.format()
            chunk.append(data)
            size += len(data)
            if size >= BULK_WRITE_SIZE:
                self._write_chunk(chunk)
                chunk, size = [], 0
        if chunk:
            self._write_chunk(chunk)
        self.last_sent_monotonic = started
        for message in messages:
            self.transcript.record(
                SENT, "text" if isinstance(message, str) else "binary", message, at=started_wall
            )
        return started

    def ping(self, payload: bytes, timeout: float) -> float | None:
        """Send a ping and wait for the pong carrying ``payload``; its round trip in seconds.

        ``None`` when no such pong arrives in time.
        """
        self._ensure_open("send a ping")
        sent_at, sent_wall = time.monotonic(), time.time()
        self._write(lambda: self._ws.ping(payload))
        self.transcript.record(SENT, "ping", payload, at=sent_wall)
        pong = self.control.wait_for_pong(payload, sent_at, timeout)
        return None if pong is None else pong.monotonic - sent_at

    def send_frame(self, opcode: int, payload: bytes, **options: Any) -> bytes:
        """Write one frame exactly as asked, valid or not; return the bytes written.

        ``options`` are those of :func:`frames.build_frame`. A close frame sent this way
        counts as the client's close: the server's answer is not echoed.
        """
        self._ensure_open("send a frame")
        data = build_frame(opcode, payload, **options)
        if opcode == Opcode.CLOSE:
            self._close_sent.set()
        self._write(lambda: self._send_raw(data))
        self.last_sent_monotonic = time.monotonic()
        name = Opcode(opcode).name.lower() if opcode in Opcode._value2member_map_ else "reserved"
        self.transcript.record(SENT, f"raw {name} frame", data)
        return data

    def _write_chunk(self, frames: list[bytes]) -> None:
        data = b"".join(frames)
        self._write(lambda: self._send_raw(data))

    def _send_raw(self, data: bytes) -> None:
        with self._ws.lock:  # The lock websocket-client's own sends take.
            sock = self._ws.sock
            if sock is None:
                raise websocket.WebSocketConnectionClosedException("socket is already closed")
            sock.sendall(data)

    def _write(self, write: Callable[[], object]) -> None:
        """Run ``write``; a failure drops the connection, as part of a frame may be out."""
        try:
            write()
        except (OSError, websocket.WebSocketException) as error:
            if not isinstance(error, (socket.timeout, websocket.WebSocketTimeoutException)):
                # The peer hung up: the reader may be about to record its close frame, which
                # is the news, not the broken pipe. It needs the send lock, released by now.
                self._read_ended.wait(PEER_CLOSE_GRACE)
            closed = self.inbox.closed
            if closed is not None:
                raise ConnectionClosedError(
                    f"Could not send on {self.describe()}: it was closed while the message was "
                    f"being sent ({describe_close(closed)})."
                ) from None
            reason = f"sending failed: {_explain(error)}"
            self._drop(CloseInfo(CLOSE_ABNORMAL, reason, "client", time.time()))
            raise ConnectionClosedError(
                f"Could not send on {self.describe()}: {_explain(error)}. The connection "
                "was dropped, since a partly sent frame would corrupt the stream."
            ) from None

    def _send(self, data: bytes, opcode: int, kind: str, shown: str | bytes) -> float:
        self._ensure_open("send a message")
        # Taken before sending: a quick reply can arrive before send() returns.
        started, started_wall = time.monotonic(), time.time()
        self._write(lambda: self._ws.send(data, opcode))
        self.last_sent_monotonic = started
        # Stamped with the time sending began, so a quick reply is listed after it.
        self.transcript.record(SENT, kind, shown, at=started_wall)
        self._borrow_for_reply()
        return started

    def _borrow_for_reply(self) -> None:
        """Take the socket from the read loop for a moment after a send: the reply then waits
        in it for the keyword that waits for it, which reads it in its own thread."""
        if not self._read_lock.acquire(blocking=False):
            return  # The loop is reading it: the reply comes by the inbox.
        try:
            sock = self._ws.sock
            if self._lent:
                self._lent = READ_LOOP.renew(self)
            if not self._lent and sock is not None and not self._read_ended.is_set():
                self._lent = READ_LOOP.lend(sock, self, lease=LEASE)
        finally:
            self._read_lock.release()

    def reclaim(self) -> bool | None:
        """The read loop's lease ran out (see readloop): the socket goes back to the loop
        unless a keyword is reading it now."""
        if not self._read_lock.acquire(blocking=False):
            return None  # A keyword is waiting on it: the loop asks again later.
        try:
            was_lent, self._lent = self._lent, False
            return was_lent
        finally:
            self._read_lock.release()

    def _ensure_open(self, action: str) -> None:
        closed = self.inbox.closed
        if not self._reading:
            raise ConnectionClosedError(f"Cannot {action}: {self.describe()} was never opened.")
        if closed is not None:
            raise ConnectionClosedError(
                f"Cannot {action}: {self.describe()} is closed ({describe_close(closed)})."
            )

    # Closing.

    def close(
        self, code: int = CLOSE_NORMAL, reason: str = "", timeout: float | None = None
    ) -> CloseInfo:
        """Run the closing handshake and release the socket (the read loop lets go of it).

        Returns how the connection ended; for a connection the server had
        already closed, that is the server's close.
        """
        wait = self.options.timeout if timeout is None else timeout
        self.start_close(code, reason)
        return self.finish_close(time.monotonic() + wait)

    def start_close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Send the close frame, unless the connection is already closed or closing."""
        payload = close_payload(code, reason)
        if not self._reading or self.inbox.closed is not None or self._close_sent.is_set():
            return
        self._close_sent.set()
        sent_at = time.time()
        try:
            self._ws.send(payload, ABNF.OPCODE_CLOSE)
            self.transcript.record(
                SENT, "close", note=f"code {code}" + (f" {reason!r}" if reason else ""), at=sent_at
            )
        except (OSError, websocket.WebSocketException):
            pass  # The reader notices the dead socket and records why.

    def finish_close(self, deadline: float) -> CloseInfo:
        """Wait until ``deadline`` for the server's close, then release everything."""
        if not self._reading:
            self._ws.shutdown()
            return self.inbox.closed or CloseInfo(None, "never opened", "client", time.time())
        if self.inbox.wait_for_close(max(deadline - time.monotonic(), 0)) is None:
            self._drop(
                CloseInfo(None, "no close frame from the server before the timeout", "client",
                          time.time())
            )  # fmt: skip
        if not self._read_ended.wait(max(deadline - time.monotonic(), 0.1)):
            self._abort()  # Only a server that never stops sending gets here.
            self._read_ended.wait(self.options.timeout)
        READ_LOOP.join_if_idle(max(deadline - time.monotonic(), 0.1))
        return self.inbox.closed  # type: ignore[return-value]

    def abort(self, reset: bool = False) -> None:
        """Drop the connection at once, without a closing handshake.

        The TCP connection ends with FIN, or with RST when ``reset`` is true.
        """
        how = "TCP reset" if reset else "TCP close"
        info = CloseInfo(
            CLOSE_ABNORMAL, f"dropped by the client without a close frame ({how})", "client",
            time.time(),
        )  # fmt: skip
        if reset and self._ws.sock is not None:
            # With a zero linger time, closing the socket sends RST instead of FIN.
            with contextlib.suppress(OSError):
                self._ws.sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
        self._drop(info, how=socket.SHUT_RD if reset else socket.SHUT_RDWR)
        if not self._reading:
            self._ws.shutdown()
        elif self._read_ended.wait(self.options.timeout):  # the loop closes the socket
            READ_LOOP.join_if_idle(self.options.timeout)

    def _drop(self, info: CloseInfo, how: int = socket.SHUT_RDWR) -> None:
        """Record why the connection ends, then cut the socket so the reader stops."""
        self._close_sent.set()
        self.inbox.close(info)  # First, so the reader's view of the cut does not win.
        self.transcript.record(EVENT, "dropped", note=info.reason)
        self._abort(how)

    def _abort(self, how: int = socket.SHUT_RDWR) -> None:
        """Wake the reader. ``SHUT_RD`` wakes it without sending FIN (for a reset)."""
        sock = self._ws.sock
        if sock is not None:
            # Already closed means nothing is left to wake up.
            with contextlib.suppress(OSError):
                sock.shutdown(how)

    # Reading (called by the read loop's thread).

    def on_readable(self) -> bool:
        """Read what the socket has and act on it; false once the connection is over."""
        if not self._read_lock.acquire(blocking=False):
            return True  # A keyword has borrowed the socket and reads it (see readloop).
        try:
            if self._end is not None or self._read_ended.is_set():
                return False  # Over: what follows the end (EOF) must not overwrite it.
            if not self._has_bytes(0):
                return True  # A borrower read them before the loop got here.
            return self._read_available()
        finally:
            self._read_lock.release()

    def _read_while_waiting(self, deadline: float, received: int) -> bool:
        """Borrow the socket from the read loop and read it in this thread until bytes come
        or ``deadline`` passes; ``False`` when it cannot be borrowed (wait for the loop).

        Called by the inbox while a keyword waits for a message, with the count of messages
        the keyword has seen: if the loop put another in meanwhile, returns at once.
        """
        sock = self._ws.sock
        if not self._reading or self._read_ended.is_set() or sock is None:
            return False
        if not self._read_lock.acquire(timeout=0.01):
            return False  # The loop is reading it now; the message comes by the inbox.
        try:
            if self.inbox.received_count != received:
                return True  # The loop read it first: look at the inbox again.
            if self._end is not None or self._read_ended.is_set():
                return False  # Over, and the loop finishing it: the inbox hears of it.
            if not self._lent:
                # Leased: kept past this wait for a moment, then the loop takes it back.
                self._lent = READ_LOOP.lend(sock, self, lease=LEASE)
                if not self._lent:
                    return False
            if self._has_bytes(max(deadline - time.monotonic(), 0)) and not (
                self._read_available()
            ):
                self._lent = False
                READ_LOOP.finish_lent(sock, self)
            return True
        finally:
            self._read_lock.release()

    def _has_bytes(self, timeout: float) -> bool:
        """Whether bytes wait on the socket (or inside TLS), waiting up to ``timeout``."""
        sock = self._ws.sock
        if sock is None:
            return True  # Let the read find out what happened.
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        try:
            return wait_readable(sock, timeout)
        except (OSError, ValueError):
            return True  # Closed under us: the read finds out how.

    def _read_available(self) -> bool:
        sock = self._ws.sock
        try:
            while True:
                try:
                    data = sock.recv(READ_SIZE)
                except TimeoutError:
                    return True  # Only part of a TLS record came: nothing was read yet.
                if not data:
                    raise ConnectionResetError("the server closed TCP without a close frame")
                self._end = self._act_on(data)
                if self._end is not None:
                    return False
                # TLS may hold decrypted bytes the selector cannot see.
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                    return True
        except (OSError, websocket.WebSocketException) as error:
            initiated_by = "client" if self._close_sent.is_set() else "network"
            self._end = CloseInfo(
                CLOSE_ABNORMAL, f"connection lost: {_explain(error)}", initiated_by, time.time()
            )
            self.transcript.record(EVENT, "dropped", note=self._end.reason)
            return False

    def on_finished(self) -> None:
        """The read loop let go of the socket: close it and record how the connection ended."""
        try:
            if self._close_reply is None:
                self._ws.shutdown()  # else the close reply's thread does, once the reply is out
            self.control.close()
        finally:
            self.inbox.close(
                self._end or CloseInfo(CLOSE_ABNORMAL, "reader stopped", "client", time.time())
            )
            self._read_ended.set()

    def _act_on(self, data: bytes) -> CloseInfo | None:
        """Feed ``data`` to the receiver and act on its events; how it ended, if it did."""
        for event in self._receiver.feed(data):
            if isinstance(event, Message):
                self._deliver(event.data)
            elif isinstance(event, Ping):
                self.control.record_ping(event.payload)
                self.transcript.record(RECEIVED, "ping", event.payload)
                if self.answer_pings:
                    self._pong(event.payload)
                    self.transcript.record(SENT, "pong", event.payload)
            elif isinstance(event, Pong):
                self.control.record_pong(event.payload)
                self.transcript.record(RECEIVED, "pong", event.payload)
            elif isinstance(event, Close):
                return self._on_close_frame(event)
            else:
                return self._fail_connection(event.code, event.reason)
        return None

    def _pong(self, payload: bytes) -> None:
        """Answer a ping without making every other socket wait for this one.

        While a keyword is sending on this socket (a big message to a slow server),
        the pong would wait for its lock, and the read loop with it: then the pong
        goes out from a short-lived thread instead.
        """
        if not self._sent_off_the_read_loop(lambda: self._ws.pong(payload), "pong"):
            self._ws.pong(payload)

    def _sent_off_the_read_loop(
        self, send: Callable[[], object], what: str, then: Callable[[], object] | None = None
    ) -> threading.Thread | None:
        """Run ``send`` (and then ``then``) from a short-lived thread if a keyword holds this
        socket's send lock; the thread, or ``None`` when the lock was free and nothing ran.

        A send failure there shows up on the next read or send.
        """
        if not self._ws.lock.locked():
            return None

        def send_later() -> None:
            try:
                with contextlib.suppress(OSError, websocket.WebSocketException):
                    send()
            finally:
                if then is not None:
                    then()

        thread = threading.Thread(target=send_later, name=f"{THREAD_NAME}-{what}", daemon=True)
        thread.start()
        return thread

    def _deliver(self, data: str | bytes) -> None:
        self.inbox.put(data)
        self.transcript.record(RECEIVED, "text" if isinstance(data, str) else "binary", data)

    def _on_close_frame(self, close: Close) -> CloseInfo:
        code, reason = close.code, close.reason
        self.transcript.record(
            RECEIVED, "close", note=f"code {code}" + (f" {reason!r}" if reason else "")
        )
        if self._close_sent.is_set():
            return CloseInfo(code, reason, "client", time.time())
        # Echo the code back, as RFC 6455 section 5.5.1 suggests.
        reply = close.payload[:2]
        self._close_sent.set()
        try:
            # Not behind a keyword's long send: the read loop serves every other socket too.
            # Set before the thread starts, so on_finished leaves the socket to it.
            self._close_reply = self._sent_off_the_read_loop(
                lambda: self._ws.send(reply, ABNF.OPCODE_CLOSE), "close", then=self._ws.shutdown
            )
            if self._close_reply is None:
                self._ws.send(reply, ABNF.OPCODE_CLOSE)
            self.transcript.record(SENT, "close", note="reply" + (f" code {code}" if reply else ""))
        except (OSError, websocket.WebSocketException):
            pass  # The server may already have gone; its close is what matters.
        return CloseInfo(code, reason, "server", time.time())

    def _fail_connection(self, code: int, reason: str) -> CloseInfo:
        """Close with ``code`` after the server broke the protocol (RFC 6455 section 7.1.7)."""
        self.transcript.record(EVENT, "protocol error", note=reason)
        if not self._close_sent.is_set():
            self._close_sent.set()
            try:
                self._ws.send(close_payload(code, _truncate_utf8(reason, 120)), ABNF.OPCODE_CLOSE)
                self.transcript.record(SENT, "close", note=f"code {code} {reason!r}")
            except (OSError, websocket.WebSocketException):
                pass
        return CloseInfo(code, f"client failed the connection: {reason}", "client", time.time())


def compact_json(value: Any) -> str:
    """``value`` as the JSON text the library sends: no spaces, non-ASCII kept as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def wait_readable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` has bytes (or EOF) to read, waiting up to ``timeout`` seconds.

    poll(), where there is one, since select() refuses descriptors above 1023.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    readable, _, _ = select.select([sock], [], [], timeout)
    return bool(readable)


def close_together(connections: Sequence[WebSocketConnection], timeout: float) -> None:
    """Close ``connections`` all within one ``timeout``: every close frame goes out first."""
    for connection in connections:
        connection.start_close()
    deadline = time.monotonic() + timeout
    for connection in connections:
        connection.finish_close(deadline)


def close_payload(code: int, reason: str) -> bytes:
    """The body of a close frame; ``ValueError`` when RFC 6455 does not allow it."""
    if not 1000 <= code <= 4999:
        raise ValueError(f"Close code must be between 1000 and 4999, got {code}.")
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:
        raise ValueError(f"Close reason must be at most 123 bytes in UTF-8, got {len(encoded)}.")
    return struct.pack("!H", code) + encoded


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def describe_close(info: CloseInfo) -> str:
    by = {"server": "by the server", "client": "by the client", "network": "without a close frame"}
    code = f"code {info.code}" if info.code is not None else "no close code"
    reason = f", reason '{info.reason}'" if info.reason else ""
    return f"closed {by.get(info.initiated_by, info.initiated_by)} with {code}{reason}"


def _explain(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused ({text}); is the server running?"
    if isinstance(error, (socket.timeout, websocket.WebSocketTimeoutException)):
        return f"timed out ({text})"
    return text
