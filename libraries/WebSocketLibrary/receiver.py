"""What a client receives, without I/O: bytes from a server in, WebSocket events out.

:class:`Receiver` is fed whatever the socket returned, in pieces of any size, and
answers with the events those bytes complete: whole messages (fragments joined),
pings, pongs, the server's close, or one :class:`ProtocolViolation` naming the
RFC 6455 rule broken and the close code to fail the connection with. It enforces
every rule a client must check of a server's frames (section 5 and 7.4), checks
a fragmented text message's UTF-8 fragment by fragment, and refuses a message
larger than ``max_message_size`` as soon as a frame header announces it, before
any of its payload is buffered. After a close or a violation it ignores the rest.
"""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass

from .frames import Opcode

CLOSE_NO_STATUS = 1005
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_MESSAGE_TOO_BIG = 1009

NOT_UTF8 = "text message is not valid UTF-8"

DEFAULT_MAX_MESSAGE_SIZE = 16 * 2**20
"""16 MiB: larger than any message a test sends, small enough to keep a runner alive."""

# Close codes a peer may send (RFC 6455 section 7.4): 1004-1006 and 1015 are never
# sent on the wire, 1016-2999 are reserved for future standards.
_SENDABLE_CLOSE_CODES = frozenset([1000, 1001, 1002, 1003, *range(1007, 1015), *range(3000, 5000)])


@dataclass(frozen=True)
class Message:
    """A whole data message: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes


@dataclass(frozen=True)
class Ping:
    payload: bytes


@dataclass(frozen=True)
class Pong:
    payload: bytes


@dataclass(frozen=True)
class Close:
    """The server's close frame. ``code`` is 1005 when the frame had no body."""

    code: int
    reason: str
    payload: bytes


@dataclass(frozen=True)
class ProtocolViolation:
    """The server broke a rule: fail the connection with ``code`` (1002, 1007 or 1009)."""

    code: int
    reason: str


Event = Message | Ping | Pong | Close | ProtocolViolation


class _ViolationError(Exception):
    def __init__(self, reason: str, code: int = CLOSE_PROTOCOL_ERROR) -> None:
        super().__init__(reason)
        self.violation = ProtocolViolation(code, reason)


class Receiver:
    """Turns the bytes a server sends into events; see the module's docstring."""

    def __init__(self, max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if max_message_size is not None and max_message_size < 0:
            raise ValueError(f"A maximum message size is 0 or more, got {max_message_size}.")
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._offset = 0  # Where the next frame starts in the buffer.
        self._fragments: list[bytes] = []
        self._fragments_size = 0
        self._fragmented_opcode: Opcode | None = None
        self._utf8: codecs.IncrementalDecoder | None = None
        self._checked = 0  # Payload bytes of an incomplete text frame already checked.
        self.finished = False
        """True once a close or a violation has been returned: nothing more is parsed."""

    def feed(self, data: bytes) -> list[Event]:
        """Take the next bytes from the server; return the events they complete, in order."""
        if self.finished:
            return []
        self._buffer += data
        events: list[Event] = []
        try:
            while not self.finished and (event := self._next_frame()) is not None:
                if isinstance(event, Close):
                    self.finished = True
                if not isinstance(event, _Partial):
                    events.append(event)
        except _ViolationError as error:
            self.finished = True
            self._fragments, self._fragments_size = [], 0
            events.append(error.violation)
        # Dropped once per feed, not per frame: a burst of small frames stays linear.
        del self._buffer[: self._offset]
        self._offset = 0
        if self.finished:
            self._buffer.clear()
        return events

    @property
    def buffered(self) -> int:
        """Bytes received and kept: an incomplete frame plus the fragments of a message."""
        return len(self._buffer) - self._offset + self._fragments_size

    # Frames.

    def _next_frame(self) -> Event | _Partial | None:
        """Parse one frame off the buffer; ``None`` when the buffer holds no whole frame."""
        buffer, start = self._buffer, self._offset
        available = len(buffer) - start
        if available < 2:
            return None
        first, second = buffer[start], buffer[start + 1]
        fin, rsv, opcode_bits = first & 0x80, first & 0x70, first & 0x0F
        masked, length = second & 0x80, second & 0x7F
        header = 2
        if rsv:
            bits = f"{rsv >> 4:03b}"
            raise _ViolationError(f"reserved bits set ({bits}) with no extension negotiated")
        try:
            opcode = Opcode(opcode_bits)
        except ValueError:
            raise _ViolationError(f"reserved opcode {opcode_bits}") from None
        if masked:
            raise _ViolationError("the server masked a frame")
        if opcode >= Opcode.CLOSE:
            name = opcode.name.lower()
            if not fin:
                raise _ViolationError(f"fragmented {name} frame")
            if length > 125:
                raise _ViolationError(f"{name} frame longer than 125 bytes")
        if length == 126:
            if available < 4:
                return None
            (length,) = struct.unpack_from("!H", buffer, start + 2)
            header = 4
        elif length == 127:
            if available < 10:
                return None
            (length,) = struct.unpack_from("!Q", buffer, start + 2)
            if length >> 63:
                raise _ViolationError("payload length with the top bit set")
            header = 10
        if opcode <= Opcode.BINARY:
            self._check_data_frame(opcode, length)
        if available < header + length:
            if opcode == Opcode.TEXT and self._utf8 is None:
                self._utf8 = codecs.getincrementaldecoder("utf-8")()
            if opcode <= Opcode.TEXT and self._utf8 is not None:
                # Fail fast: check what has come of a text frame before all of it is here.
                with memoryview(buffer) as view:
                    fresh = bytes(view[start + header + self._checked : len(buffer)])
                self._check_utf8(fresh, final=False)
                self._checked += len(fresh)
            return None
        with memoryview(buffer) as view:
            payload = bytes(view[start + header : start + header + length])
        self._offset = start + header + length
        return self._on_frame(opcode, bool(fin), payload)

    def _check_data_frame(self, opcode: Opcode, length: int) -> None:
        """Refuse a frame that is out of place or would make its message too big."""
        if opcode == Opcode.CONTINUATION and self._fragmented_opcode is None:
            raise _ViolationError("continuation frame with no message to continue")
        if opcode != Opcode.CONTINUATION and self._fragmented_opcode is not None:
            raise _ViolationError("new data frame before the fragmented message ended")
        size = self._fragments_size + length
        if self.max_message_size is not None and size > self.max_message_size:
            what = "fragmented message reaching" if self._fragments else "message of"
            raise _ViolationError(
                f"{what} {size} bytes is over the limit of {self.max_message_size} bytes",
                CLOSE_MESSAGE_TOO_BIG,
            )

    def _on_frame(self, opcode: Opcode, fin: bool, payload: bytes) -> Event | _Partial:
        if opcode == Opcode.PING:
            return Ping(payload)
        if opcode == Opcode.PONG:
            return Pong(payload)
        if opcode == Opcode.CLOSE:
            return _parse_close(payload)
        if opcode != Opcode.CONTINUATION:
            self._fragmented_opcode = opcode
            if opcode == Opcode.TEXT and self._utf8 is None:
                self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._fragments.append(payload)
        self._fragments_size += len(payload)
        if self._utf8 is not None:
            self._check_utf8(payload[self._checked :], final=fin)
        self._checked = 0
        if not fin:
            return _PARTIAL
        return self._finish_message()

    def _finish_message(self) -> Message:
        data = b"".join(self._fragments)
        text = self._fragmented_opcode == Opcode.TEXT
        self._fragments, self._fragments_size = [], 0
        self._fragmented_opcode, self._utf8 = None, None
        # The incremental check has already proved the bytes valid.
        return Message(data.decode("utf-8") if text else data)

    def _check_utf8(self, payload: bytes, final: bool) -> None:
        """Feed the next bytes of a text message to the UTF-8 check: 1007 when they cannot fit.

        A code point split across fragments or reads is fine until the message ends
        unfinished. Python's decoder fails at the first impossible byte, except that it
        notices a surrogate (``ED A0``-``ED BF``) only at its third byte.
        """
        assert self._utf8 is not None
        try:
            self._utf8.decode(payload, final=final)
        except UnicodeDecodeError:
            raise _ViolationError(NOT_UTF8, CLOSE_INVALID_PAYLOAD) from None


class _Partial:
    """A fragment was taken in; no event yet."""


_PARTIAL = _Partial()


def _parse_close(payload: bytes) -> Close:
    """The server's close frame, checked as RFC 6455 sections 5.5.1 and 7.4 ask."""
    if not payload:
        return Close(CLOSE_NO_STATUS, "", payload)
    if len(payload) == 1:
        raise _ViolationError("close frame with a 1-byte body")
    (code,) = struct.unpack_from("!H", payload)
    if code not in _SENDABLE_CLOSE_CODES:
        raise _ViolationError(f"close code {code} may not be sent")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise _ViolationError("close reason is not valid UTF-8", CLOSE_INVALID_PAYLOAD) from None
    return Close(code, reason, payload)
