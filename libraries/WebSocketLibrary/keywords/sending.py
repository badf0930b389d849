"""Keywords that send messages."""

from __future__ import annotations

import json
from typing import Any

from robot.api.deco import keyword

from ..errors import WebSocketLibraryError
from .base import LibraryComponent


class SendingKeywords(LibraryComponent):
    @keyword(tags=("messages", "send"))
    def send_text_message(self, text: str, connection: str | None = None) -> None:
        """Sends ``text`` in one text frame.

        On the current connection unless ``connection`` names another. The text
        is sent as is; use `Send Json Message` for JSON values.

        | `Send Text Message` | hello |
        | `Send Text Message` | {not json | connection=alice |
        """
        self.connection(connection).send_text(text)

    @keyword(tags=("messages", "send"))
    def send_binary_message(self, data: bytes, connection: str | None = None) -> None:
        """Sends ``data`` as one binary frame.

        Robot Framework turns a string into bytes one character per byte, so
        ``\\x00\\xff`` sends two bytes; ``${{bytes.fromhex("00ff")}}`` works too.

        | `Send Binary Message` | \\x00\\x01\\x02 |
        """
        self.connection(connection).send_binary(data)

    @keyword(tags=("messages", "send", "json"))
    def send_json_message(self, message: Any, connection: str | None = None) -> str:
        """Sends ``message`` as JSON; returns the text sent.

        The JSON is compact and goes in one text frame.
        ``message`` is a dictionary or list (e.g. from ``Create Dictionary`` or
        ``${{ {...} }}``), or a string holding JSON, which is checked first so a
        typo fails here rather than as a puzzling server error. To send broken
        JSON on purpose, use `Send Text Message`.

        | `Send Json Message` | {"type": "echo", "id": 1, "payload": "hi"} |
        | `Send Json Message` | ${{ {"type": "echo", "id": 2} }} | connection=bob |
        """
        if isinstance(message, (str, bytes)):
            try:
                message = json.loads(message)
            except ValueError as error:
                raise WebSocketLibraryError(
                    f"Send Json Message needs valid JSON, got {message!r}: {error}. "
                    "Use 'Send Text Message' to send it as it is."
                ) from None
        try:
            return self.connection(connection).send_json(message)
        except TypeError as error:
            raise WebSocketLibraryError(f"Cannot send {message!r} as JSON: {error}.") from None
