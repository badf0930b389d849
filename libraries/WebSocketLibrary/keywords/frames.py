"""Keywords that act like a broken or hostile client: raw frames and dropped connections."""

from __future__ import annotations

from enum import Enum

from robot.api.deco import keyword

from ..errors import WebSocketLibraryError
from ..frames import Opcode
from .base import LibraryComponent


class DropMode(Enum):
    """How `Drop Connection` ends the TCP connection."""

    FIN = "fin"
    """An orderly TCP close (FIN), but no WebSocket close frame."""
    RESET = "reset"
    """A TCP reset (RST), as when a process dies or a network device gives up."""


class FrameKeywords(LibraryComponent):
    @keyword(tags=("frames", "fault injection"))
    def send_frame(
        self,
        opcode: Opcode | int,
        payload: str | bytes = b"",
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
        masked: bool = True,
        declared_length: int | None = None,
        connection: str | None = None,
    ) -> None:
        """Sends one frame exactly as described, whether RFC 6455 allows it or not.

        - ``opcode``: ``TEXT``, ``BINARY``, ``CONTINUATION``, ``CLOSE``, ``PING``,
          ``PONG``, or a number 0-15, reserved ones (3-7, 11-15) included.
        - ``payload``: text is sent as UTF-8; pass bytes (``${{b"\\xff"}}``) for
          anything else, such as invalid UTF-8 in a text frame.
        - ``fin``, ``rsv1``-``rsv3``: the header bits. ``fin=False`` starts or
          continues a fragmented message.
        - ``masked``: clients must mask; ``masked=False`` breaks that rule.
        - ``declared_length``: the length written in the header, when it should
          not match the payload (a frame that lies about its size).

        Use it to check how a server treats bad input; follow with
        `Wait For Close` or `Wait For Message` for the expected outcome.

        | `Send Frame` | TEXT | ${{b"\\xff\\xfe"}} | | # invalid UTF-8 |
        | `Send Frame` | 3 | reserved opcode |
        | `Send Frame` | PING | ${{b"x" * 126}} | | # control frame too long |
        | `Send Frame` | TEXT | hello | masked=False |
        | `Send Frame` | BINARY | abc | declared_length=1000 |
        """
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        try:
            self.connection(connection).send_frame(
                int(opcode),
                data,
                fin=fin,
                rsv1=rsv1,
                rsv2=rsv2,
                rsv3=rsv3,
                masked=masked,
                declared_length=declared_length,
            )
        except ValueError as error:
            raise WebSocketLibraryError(f"Cannot build that frame: {error}") from None

    @keyword(tags=("frames", "fault injection"))
    def send_fragmented_message(
        self,
        fragments: list[str | bytes],
        opcode: Opcode = Opcode.TEXT,
        ping_between: bool = False,
        connection: str | None = None,
    ) -> None:
        """Sends one message split into ``fragments``, one frame each.

        The first frame has ``opcode`` (``TEXT`` or ``BINARY``), the others are
        continuation frames, and the last has FIN set. With ``ping_between``, a
        ping goes between every two fragments, as RFC 6455 allows control frames
        in the middle of a fragmented message.

        | @{parts} = | Create List | {"type": "echo", | "id": 1} |
        | `Send Fragmented Message` | ${parts} | ping_between=True |
        """
        if not fragments:
            raise WebSocketLibraryError("Send Fragmented Message needs at least one fragment.")
        target = self.connection(connection)
        last = len(fragments) - 1
        for index, fragment in enumerate(fragments):
            data = fragment.encode("utf-8") if isinstance(fragment, str) else bytes(fragment)
            frame_opcode = int(opcode) if index == 0 else Opcode.CONTINUATION
            target.send_frame(frame_opcode, data, fin=index == last)
            if ping_between and index < last:
                target.send_frame(Opcode.PING, b"between fragments")

    @keyword(tags=("connection", "fault injection"))
    def drop_connection(self, mode: DropMode = DropMode.FIN, connection: str | None = None) -> None:
        """Ends the connection without a close frame, as a crashed client or a lost network would.

        ``mode`` is ``fin`` (an orderly TCP close) or ``reset`` (a TCP reset).
        The server sees the connection vanish; check that it notices, e.g. in
        its metrics. The connection is then closed on this side too.

        | `Drop Connection` |
        | `Drop Connection` | reset | connection=alice |
        """
        self.connection(connection).abort(reset=mode is DropMode.RESET)
