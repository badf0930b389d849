"""The WebSocket stack: uvicorn's implementations, with one RFC 6455 fix for the default.

``websockets-sansio`` (the default) is uvicorn's sans-I/O glue around the ``websockets``
protocol, except for one deviation of that protocol, corrected here: a close frame
that arrives in the middle of a fragmented message. RFC 6455 allows control frames
between the fragments of a message (section 5.4), and a close frame must be answered
with a close frame (5.5.1), after which further data is discarded (1.4). The
``websockets`` protocol instead fails the connection with 1002 "incomplete fragmented
message" (Autobahn case 7.1.5). :class:`ServerProtocol` drops the unfinished message
and lets the close frame be handled as usual, so the client's close code is echoed.

``websockets`` (legacy) and ``wsproto`` are passed to uvicorn by name, unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol as _WebsocketsServerProtocol

_OPEN_MESSAGE_SIZE = ("current_size", "cur_size")


class ServerProtocol(_WebsocketsServerProtocol):
    """``websockets``' server protocol, accepting a close frame inside a fragmented message."""

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.CLOSE:
            # The unfinished message is abandoned; its fragments already went to the
            # glue, which only hands complete messages to the application. (The size
            # of the open message is ``current_size``; ``cur_size`` before websockets 14.)
            for name in _OPEN_MESSAGE_SIZE:
                if getattr(self, name, None) is not None:
                    setattr(self, name, None)
        super().recv_frame(frame)


class SansIOProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` implementation running :class:`ServerProtocol`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The connection is built by uvicorn (extensions, max size, logger); only its
        # class changes, to the subclass above, which adds no state of its own.
        if type(self.conn) is _WebsocketsServerProtocol:
            self.conn.__class__ = ServerProtocol


def uvicorn_ws(implementation: str) -> str | type[asyncio.Protocol]:
    """What to pass as uvicorn's ``ws`` for the service's ``ws_implementation`` setting."""
    if implementation == "websockets-sansio":
        return SansIOProtocol
    return implementation
