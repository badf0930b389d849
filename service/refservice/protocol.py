"""Sans-I/O message protocol: a frame and the session go in, the replies come out.

Nothing here touches a socket, so every rule can be tested by calling functions.
The I/O layer (:mod:`refservice.app`) sends each reply: a ``dict`` as a JSON text
frame, ``bytes`` as a binary frame.

Message types are dispatched through a table (:attr:`Protocol.handlers`) keyed by the
envelope's ``type``; later features (acks, resume, state sync) register more handlers.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refservice.metrics import utc_now_iso

logger = logging.getLogger("refservice")

JSONObject = dict[str, Any]
MessageId = str | int | float
Reply = JSONObject | bytes

ERROR_CODES: Mapping[str, str] = {
    "invalid_json": "The text frame is not valid JSON.",
    "not_an_object": "The message is valid JSON but not a JSON object.",
    "missing_type": "The message has no 'type' field.",
    "unknown_type": "The message type is not one the service knows.",
    "invalid_field": "A field has the wrong JSON type; 'field' names it.",
    "internal_error": "The service failed while handling the message; it is logged.",
}

# Application close codes (4000-4999, private use under RFC 6455). Each is sent with
# the reason text shown; see docs/protocol.md.
CLOSE_IDLE_TIMEOUT = 4000
CLOSE_IDLE_TIMEOUT_REASON = "idle timeout"
CLOSE_TOO_MANY_CONNECTIONS = 4008
CLOSE_TOO_MANY_CONNECTIONS_REASON = "too many connections"


@dataclass
class Session:
    """Per-connection state the protocol may read and update."""

    user: str
    connection_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    claims: Mapping[str, Any] = field(default_factory=dict)
    # Free-form room for later features (subscriptions, queue cursors, ...).
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """A validated envelope: ``type`` is a string, ``id`` is usable or ``None``."""

    type: str
    id: MessageId | None
    body: JSONObject


class ProtocolError(Exception):
    """Raised by a handler (or the envelope check) to answer with an ``error`` message."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        message_id: MessageId | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.message_id = message_id

    def reply(self) -> JSONObject:
        return error_reply(self.code, self.message, message_id=self.message_id, field=self.field)


Handler = Callable[[Session, Message], list[Reply]]


def error_reply(
    code: str, message: str, *, message_id: MessageId | None = None, field: str | None = None
) -> JSONObject:
    reply: JSONObject = {"type": "error", "code": code, "message": message}
    if field is not None:
        reply["field"] = field
    if message_id is not None:
        reply["id"] = message_id
    return reply


def internal_error(message_id: MessageId | None = None) -> JSONObject:
    return error_reply(
        "internal_error", "The service failed to handle this message.", message_id=message_id
    )


def encode(reply: Reply) -> str | bytes:
    """A reply as frame data: JSON text (strict: no NaN/Infinity) or the bytes themselves."""
    if isinstance(reply, bytes):
        return reply
    return json.dumps(reply, separators=(",", ":"), allow_nan=False)


def welcome(session: Session, *, server_time: str | None = None) -> JSONObject:
    """The first message sent on every accepted connection."""
    return {
        "type": "welcome",
        "connection_id": session.connection_id,
        "user": session.user,
        "server_time": server_time or utc_now_iso(),
    }


def handle_echo(session: Session, message: Message) -> list[Reply]:
    reply: JSONObject = {"type": "echo"}
    if message.id is not None:
        reply["id"] = message.id
    if "payload" in message.body:
        reply["payload"] = message.body["payload"]
    return [reply]


def handle_ping(session: Session, message: Message) -> list[Reply]:
    """Application-level ping: answered at once with the server's clock."""
    reply: JSONObject = {"type": "pong"}
    if message.id is not None:
        reply["id"] = message.id
    reply["server_time"] = utc_now_iso()
    return [reply]


DEFAULT_HANDLERS: Mapping[str, Handler] = {
    "echo": handle_echo,
    "ping": handle_ping,
}


def _is_usable_id(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 would otherwise become inf, echoed as Infinity
        raise ValueError(f"number {text} is out of range")
    return value


def parse_envelope(text: str) -> Message:
    """Validate a text frame's envelope, raising :class:`ProtocolError` when it is bad."""
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as error:
        raise ProtocolError("invalid_json", f"The message is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise ProtocolError(
            "not_an_object",
            f"The message must be a JSON object, not {type(data).__name__}.",
        )
    raw_id = data.get("id")
    message_id = raw_id if _is_usable_id(raw_id) else None
    if "id" in data and message_id is None:
        raise ProtocolError(
            "invalid_field", "The 'id' field must be a string or a number.", field="id"
        )
    if "type" not in data:
        raise ProtocolError(
            "missing_type", "The message has no 'type' field.", message_id=message_id
        )
    if not isinstance(data["type"], str):
        raise ProtocolError(
            "invalid_field",
            "The 'type' field must be a string.",
            field="type",
            message_id=message_id,
        )
    return Message(type=data["type"], id=message_id, body=data)


class Protocol:
    """Turns incoming frames into replies using a dispatch table of handlers."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self.handlers: dict[str, Handler] = dict(DEFAULT_HANDLERS if handlers is None else handlers)

    def register(self, message_type: str, handler: Handler) -> None:
        self.handlers[message_type] = handler

    def welcome(self, session: Session) -> JSONObject:
        return welcome(session)

    def receive_text(self, session: Session, text: str) -> list[Reply]:
        try:
            message = parse_envelope(text)
        except ProtocolError as error:
            return [error.reply()]
        handler = self.handlers.get(message.type)
        if handler is None:
            return [
                error_reply(
                    "unknown_type",
                    f"Unknown message type {message.type!r}.",
                    message_id=message.id,
                )
            ]
        try:
            return handler(session, message)
        except ProtocolError as error:
            if error.message_id is None:
                error.message_id = message.id
            return [error.reply()]
        except Exception:
            # A handler bug must cost the sender one error reply, not the connection.
            logger.exception(
                "Handler for %r failed (connection %s)", message.type, session.connection_id
            )
            return [internal_error(message.id)]

    def receive_bytes(self, session: Session, data: bytes) -> list[Reply]:
        """Binary frames are echoed back unchanged."""
        return [data]
