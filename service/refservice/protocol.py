"""Sans-I/O message protocol: a frame and the session go in, the replies come out.

Nothing here touches a socket, so every rule can be tested by calling functions.
The I/O layer (:mod:`refservice.ws_routes`) sends each reply: a ``dict`` as a JSON text
frame, ``bytes`` as a binary frame.

Message types are dispatched through a table (:attr:`Protocol.handlers`) keyed by the
envelope's ``type``. With a :class:`~refservice.store.Store` the durable queue
(``publish``, ``subscribe``, ``unsubscribe``, ``ack``, ``resume``) and state sync
(``state.get``, ``state.patch``, ``state.resume``) handlers are registered too.

Handlers only answer their own connection. What must happen elsewhere (wake the
delivery of other connections, restart this connection's delivery, send a
``state.updated`` to the user's other connections) is appended to
:attr:`Session.effects` as :class:`Effect` values, which the I/O layer carries out in
order once the handler has returned.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refservice.config import DEFAULT_IDEMPOTENCY_KEY_TTL, PUBLISHER_ROLE
from refservice.idempotency import KEY_RULE, is_valid_idempotency_key
from refservice.metrics import iso_time, utc_now_iso
from refservice.store import (
    AckBeyondLatestError,
    IdempotencyConflictError,
    Published,
    QueueFullError,
    Store,
    UnknownUserError,
)
from refservice.tokens import TokenError

logger = logging.getLogger("refservice")

JSONObject = dict[str, Any]
MessageId = str | int | float
Reply = JSONObject | bytes

ERROR_CODES: Mapping[str, str] = {
    "invalid_json": "The text frame is not valid JSON.",
    "not_an_object": "The message is valid JSON but not a JSON object.",
    "missing_type": "The message has no 'type' field.",
    "unknown_type": "The message type is not one the service knows.",
    "invalid_field": "A field has the wrong JSON type or value; 'field' names it.",
    "unknown_user": "A publish named a recipient user that does not exist.",
    "queue_full": "A recipient has max_queue_length unacknowledged events; nothing was enqueued.",
    "idempotency_conflict": "A publish reused its sender's idempotency key for another target "
    "or data; nothing was enqueued.",
    "conflict": "state.patch named a base_version that is not the current version.",
    "internal_error": "The service failed while handling the message; it is logged.",
    "forbidden": "The user may not do this: publish to another user or a topic without the "
    "publisher role, or subscribe to another user's private topic.",
    "invalid_token": "auth.refresh carried a token the service refuses; 'reason' says why.",
    "rate_limited": "The connection sent messages faster than the rate limit; this one was not "
    "processed. 'retry_after' says when the next one would be.",
}
# Refusals the service logs as security events (at INFO, without the message's data).
SECURITY_ERROR_CODES = frozenset({"forbidden", "invalid_token"})

# Application close codes (4000-4999, private use under RFC 6455). Each is sent with
# the reason text shown; see docs/protocol.md.
CLOSE_IDLE_TIMEOUT = 4000
CLOSE_IDLE_TIMEOUT_REASON = "idle timeout"
CLOSE_TOKEN_EXPIRED = 4001
CLOSE_TOKEN_EXPIRED_REASON = "token expired"
CLOSE_TOO_MANY_CONNECTIONS = 4008
CLOSE_TOO_MANY_CONNECTIONS_REASON = "too many connections"
CLOSE_TOO_SLOW = 4009
CLOSE_TOO_SLOW_REASON = "client too slow"
# RFC 6455 policy violation: the connection went on sending over its message rate limit.
CLOSE_RATE_LIMITED = 1008
CLOSE_RATE_LIMITED_REASON = "rate limit exceeded"
# Stack-level code the application also uses: its writer task failed unexpectedly.
CLOSE_INTERNAL_ERROR = 1011
CLOSE_INTERNAL_ERROR_REASON = "internal error"

# Largest seq/version a client may name: SQLite integers are signed 64-bit.
MAX_SEQ = 2**63 - 1


MAX_TOPIC_LENGTH = 200
PRIVATE_TOPIC_PREFIX = "user."
"""Topics ``user.<name>`` and ``user.<name>.*`` belong to user ``name``: only they subscribe."""


def has_role(claims: Mapping[str, Any], role: str) -> bool:
    """Whether the token's ``roles`` claim (a list; absent: none) holds ``role``."""
    roles = claims.get("roles")
    return isinstance(roles, list) and role in roles


def may_publish_to(claims: Mapping[str, Any], sender: str, user: str | None) -> bool:
    """Whether ``sender`` may publish to ``user`` (``None``: to a topic).

    Anyone may publish to their own queue; publishing to another user or to a topic
    needs the publisher role.
    """
    if has_role(claims, PUBLISHER_ROLE):
        return True
    return user is not None and user == sender


def may_subscribe(user: str, topic: str) -> bool:
    """Whether ``user`` may subscribe to ``topic``: not to another user's private topics."""
    if not topic.startswith(PRIVATE_TOPIC_PREFIX):
        return True
    owner = topic[len(PRIVATE_TOPIC_PREFIX) :].split(".", 1)[0]
    return owner == user


@dataclass(frozen=True)
class NotifyUsers:
    """New events were enqueued for ``users``: wake the delivery of their connections."""

    users: tuple[str, ...]


@dataclass(frozen=True)
class RestartDelivery:
    """Deliver this connection's events again from ``from_seq`` (``resume``)."""

    from_seq: int


@dataclass(frozen=True)
class EventsAcked:
    """``user`` acknowledged ``count`` more events (their last ack is now ``seq``)."""

    user: str
    seq: int
    count: int


@dataclass(frozen=True)
class SendToOthers:
    """Send ``message`` to every open connection of ``user`` except this one."""

    user: str
    message: JSONObject


@dataclass(frozen=True)
class TokenRefreshed:
    """The connection's access token was replaced in-band: its expiry is now ``expires``."""

    expires: float


Effect = NotifyUsers | RestartDelivery | EventsAcked | SendToOthers | TokenRefreshed


@dataclass
class Session:
    """Per-connection state the protocol may read and update."""

    user: str
    connection_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    opened_at: str = field(default_factory=utc_now_iso)
    claims: Mapping[str, Any] = field(default_factory=dict)
    # Free-form room for later features.
    state: dict[str, Any] = field(default_factory=dict)
    # The handshake's ?resume_after=S (0 when not given).
    resume_after: int = 0
    # Set by Protocol.welcome: the first seq to deliver on this connection.
    delivery_from: int = 1
    # Effects of the last handler, carried out (and cleared) by the I/O layer.
    effects: list[Effect] = field(default_factory=list)


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
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.message_id = message_id
        self.extra = dict(extra or {})

    def reply(self) -> JSONObject:
        reply = error_reply(self.code, self.message, message_id=self.message_id, field=self.field)
        reply.update(self.extra)
        return reply


Handler = Callable[[Session, Message], list[Reply]]
TokenVerifier = Callable[[str], Mapping[str, Any]]
"""Returns the claims of a valid access token; raises :class:`TokenError` otherwise."""
PresenceSource = Callable[[str], list[JSONObject]]
"""A user's open connections, oldest first: ``connection_id`` and ``opened_at`` of each."""


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


def rate_limited(retry_after: float, message_id: MessageId | None = None) -> JSONObject:
    """The answer to a message over the connection's rate limit (it was not processed)."""
    reply = error_reply(
        "rate_limited",
        "Too many messages on this connection; this one was not processed.",
        message_id=message_id,
    )
    # Rounded up: a client that waits exactly this long is accepted.
    reply["retry_after"] = math.ceil(retry_after * 1000) / 1000
    return reply


def message_id_of(text: str) -> MessageId | None:
    """The usable ``id`` of a text frame, or ``None`` (not JSON, not an object, no id)."""
    try:
        return parse_envelope(text).id
    except ProtocolError as error:
        return error.message_id


def encode(reply: Reply) -> str | bytes:
    """A reply as frame data: JSON text (strict: no NaN/Infinity) or the bytes themselves."""
    if isinstance(reply, bytes):
        return reply
    return json.dumps(reply, separators=(",", ":"), allow_nan=False)


def welcome(
    session: Session,
    *,
    server_time: str | None = None,
    position: tuple[int, int] | None = None,
) -> JSONObject:
    """The first message sent on every accepted connection.

    ``position`` is the user's ``(last_acked_seq, latest_seq)`` when there is a queue.
    """
    reply: JSONObject = {
        "type": "welcome",
        "connection_id": session.connection_id,
        "user": session.user,
        "server_time": server_time or utc_now_iso(),
    }
    if position is not None:
        reply["last_acked_seq"], reply["latest_seq"] = position
    return reply


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


def presence_handler(source: PresenceSource) -> Handler:
    """``presence``: the asking user's open connections (tabs), as ``source`` lists them."""

    def handle_presence(session: Session, message: Message) -> list[Reply]:
        tabs = source(session.user)
        return [
            _with_id(
                {
                    "type": "presence",
                    "user": session.user,
                    "connection_id": session.connection_id,
                    "count": len(tabs),
                    "connections": tabs,
                },
                message,
            )
        ]

    return handle_presence


def token_expiry(claims: Mapping[str, Any]) -> float | None:
    """The ``exp`` of verified claims as a number (``None`` when there is none)."""
    expires = claims.get("exp")
    if isinstance(expires, int | float) and not isinstance(expires, bool):
        return float(expires)
    return None


def auth_expiring(expires: float, now: float) -> JSONObject:
    """The warning sent a while before the connection's token expires."""
    return {
        "type": "auth.expiring",
        "expires_at": iso_time(expires),
        "expires_in": round(max(expires - now, 0.0), 3),
    }


def auth_refresh_handler(verify: TokenVerifier) -> Handler:
    """``auth.refresh``: a fresh access token for the same user, sent over the open connection."""

    def handle_auth_refresh(session: Session, message: Message) -> list[Reply]:
        token = message.body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ProtocolError(
                "invalid_field", "'access_token' must be a non-empty string.", field="access_token"
            )
        try:
            claims = verify(token)
        except TokenError as error:
            raise ProtocolError(
                "invalid_token",
                f"The access token is refused ({error.reason}); the connection keeps its old one.",
                extra={"reason": error.reason},
            ) from None
        if claims.get("sub") != session.user:
            raise ProtocolError(
                "invalid_token",
                "The access token belongs to another user; the connection keeps its old one.",
                extra={"reason": "other_user"},
            )
        expires = token_expiry(claims)
        session.claims = claims
        session.effects.append(TokenRefreshed(expires if expires is not None else math.inf))
        reply: JSONObject = {"type": "auth.refreshed"}
        if expires is not None:
            reply["expires_at"] = iso_time(expires)
        return [_with_id(reply, message)]

    return handle_auth_refresh


DEFAULT_HANDLERS: Mapping[str, Handler] = {
    "echo": handle_echo,
    "ping": handle_ping,
}


def _with_id(reply: JSONObject, message: Message) -> JSONObject:
    if message.id is not None:
        reply = {"type": reply["type"], "id": message.id, **reply}
    return reply


def _count(message: Message, name: str) -> int:
    """A required whole number 0..MAX_SEQ (not a bool, not a float)."""
    value = message.body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEQ:
        raise ProtocolError(
            "invalid_field",
            f"'{name}' must be a whole number from 0 to {MAX_SEQ}.",
            field=name,
        )
    return value


def _topic(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TOPIC_LENGTH:
        raise ProtocolError(
            "invalid_field",
            f"'{field_name}' must be a non-empty string of at most {MAX_TOPIC_LENGTH} characters.",
            field=field_name,
        )
    return value


class DurableHandlers:
    """Handlers of the durable event queue and of state sync, backed by a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        *,
        max_queue_length: int,
        state_history: int,
        idempotency_key_ttl: float = DEFAULT_IDEMPOTENCY_KEY_TTL,
    ) -> None:
        self.store = store
        self.max_queue_length = max_queue_length
        self.state_history = state_history
        self.idempotency_key_ttl = idempotency_key_ttl

    def table(self) -> dict[str, Handler]:
        return {
            "publish": self.publish,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "ack": self.ack,
            "resume": self.resume,
            "state.get": self.state_get,
            "state.patch": self.state_patch,
            "state.resume": self.state_resume,
        }

    # --- queue -----------------------------------------------------------------------

    def publish(self, session: Session, message: Message) -> list[Reply]:
        to = message.body.get("to")
        if not isinstance(to, dict) or ("user" in to) == ("topic" in to):
            raise ProtocolError(
                "invalid_field",
                "'to' must be an object with either 'user' or 'topic'.",
                field="to",
            )
        if "data" not in message.body:
            raise ProtocolError("invalid_field", "'data' is required (any JSON).", field="data")
        user = topic = None
        if "user" in to:
            user = to["user"]
            if not isinstance(user, str) or not user:
                raise ProtocolError(
                    "invalid_field", "'to.user' must be a non-empty string.", field="to.user"
                )
        else:
            topic = _topic(to["topic"], "to.topic")
        key = message.body.get("idempotency_key")
        if "idempotency_key" in message.body:
            problem = idempotency_key_problem(key)
            if problem is not None:
                raise ProtocolError(
                    "invalid_field", f"'idempotency_key' {problem}.", field="idempotency_key"
                )
        if not may_publish_to(session.claims, session.user, user):
            target = "another user" if user is not None else "a topic"
            raise ProtocolError(
                "forbidden", f"Publishing to {target} needs the {PUBLISHER_ROLE!r} role."
            )
        result = publish(
            self.store,
            user=user,
            topic=topic,
            data=message.body["data"],
            limit=self.max_queue_length,
            sender=session.user,
            idempotency_key=key,
            idempotency_key_ttl=self.idempotency_key_ttl,
        )
        if not result.replayed:  # a replay stored nothing: nobody has anything new
            session.effects.append(NotifyUsers(tuple(name for name, _ in result.deliveries)))
        reply = {"type": "published", "deliveries": deliveries(result.deliveries)}
        return [_with_id(reply, message)]

    def subscribe(self, session: Session, message: Message) -> list[Reply]:
        topic = _topic(message.body.get("topic"), "topic")
        if not may_subscribe(session.user, topic):
            raise ProtocolError(
                "forbidden", f"Topic {topic!r} is another user's private topic.", field="topic"
            )
        self.store.subscribe(session.user, topic)
        return [_with_id({"type": "subscribed", "topic": topic}, message)]

    def unsubscribe(self, session: Session, message: Message) -> list[Reply]:
        topic = _topic(message.body.get("topic"), "topic")
        self.store.unsubscribe(session.user, topic)
        return [_with_id({"type": "unsubscribed", "topic": topic}, message)]

    def ack(self, session: Session, message: Message) -> list[Reply]:
        seq = _count(message, "seq")
        try:
            before, after = self.store.ack(session.user, seq)
        except AckBeyondLatestError as error:
            raise ProtocolError("invalid_field", str(error), field="seq") from None
        session.effects.append(EventsAcked(session.user, after, after - before))
        return [_with_id({"type": "acked", "seq": seq}, message)]

    def resume(self, session: Session, message: Message) -> list[Reply]:
        after = _count(message, "after")
        from_seq = delivery_start(*self.store.queue_position(session.user), after)
        session.effects.append(RestartDelivery(from_seq))
        return [_with_id({"type": "resumed", "from_seq": from_seq}, message)]

    # --- state -----------------------------------------------------------------------

    def state_get(self, session: Session, message: Message) -> list[Reply]:
        version, doc = self.store.state_get(session.user)
        return [_with_id({"type": "state", "version": version, "doc": doc}, message)]

    def state_patch(self, session: Session, message: Message) -> list[Reply]:
        base_version = _count(message, "base_version")
        patch = message.body.get("patch")
        if not isinstance(patch, dict):
            raise ProtocolError(
                "invalid_field", "'patch' must be a JSON object (RFC 7386).", field="patch"
            )
        result = self.store.state_patch(session.user, base_version, patch, self.state_history)
        if not result.applied:
            raise ProtocolError(
                "conflict",
                f"base_version {base_version} is not the current version {result.version}.",
                extra={"current_version": result.version, "doc": result.doc},
            )
        session.effects.append(
            SendToOthers(
                session.user,
                {"type": "state.updated", "version": result.version, "patch": patch},
            )
        )
        return [_with_id({"type": "state.patched", "version": result.version}, message)]

    def state_resume(self, session: Session, message: Message) -> list[Reply]:
        version = _count(message, "version")
        since = self.store.state_since(session.user, version)
        replies: list[Reply] = []
        if since.patches is None:
            mode = "snapshot"
            replies.append(
                _with_id({"type": "state", "version": since.version, "doc": since.doc}, message)
            )
        else:
            mode = "patches"
            replies += [
                {"type": "state.updated", "version": number, "patch": patch}
                for number, patch in since.patches
            ]
        replies.append(
            _with_id({"type": "state.resumed", "version": since.version, "mode": mode}, message)
        )
        return replies


def delivery_start(acked: int, latest: int, after: int) -> int:
    """The first seq to deliver for a ``resume_after``/``resume`` of ``after``.

    ``after`` beyond ``latest`` is clamped to ``latest``: otherwise the events published
    next (seqs up to ``after``) would silently never reach the connection.
    """
    return max(acked, min(after, latest)) + 1


def publish(
    store: Store,
    *,
    user: str | None,
    topic: str | None,
    data: Any,
    limit: int,
    sender: str | None = None,
    idempotency_key: str | None = None,
    idempotency_key_ttl: float = DEFAULT_IDEMPOTENCY_KEY_TTL,
) -> Published:
    """Enqueue through ``store``, mapping its refusals to :class:`ProtocolError`."""
    try:
        return store.publish(
            user=user,
            topic=topic,
            data=data,
            limit=limit,
            sender=sender,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
        )
    except IdempotencyConflictError as error:
        raise ProtocolError("idempotency_conflict", str(error)) from None
    except UnknownUserError as error:
        raise ProtocolError("unknown_user", str(error)) from None
    except QueueFullError as error:
        raise ProtocolError(
            "queue_full", str(error), extra={"user": error.user, "limit": error.limit}
        ) from None


def deliveries(result: list[tuple[str, int]]) -> list[JSONObject]:
    return [{"user": name, "seq": seq} for name, seq in result]


def idempotency_key_problem(value: object) -> str | None:
    """Why ``value`` is not a usable idempotency key, to follow its name (``None``: it is)."""
    if is_valid_idempotency_key(value):
        return None
    return f"must be {KEY_RULE}"


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

    def __init__(
        self,
        handlers: Mapping[str, Handler] | None = None,
        *,
        store: Store | None = None,
        max_queue_length: int = 10000,
        state_history: int = 100,
        idempotency_key_ttl: float = DEFAULT_IDEMPOTENCY_KEY_TTL,
        presence: PresenceSource | None = None,
        verify_access_token: TokenVerifier | None = None,
    ) -> None:
        self.handlers: dict[str, Handler] = dict(DEFAULT_HANDLERS if handlers is None else handlers)
        self.store = store
        # Types whose handlers write to the database: the I/O layer runs them off the
        # event loop, one at a time, in arrival order.
        self.store_types: set[str] = set()
        if store is not None:
            durable = DurableHandlers(
                store,
                max_queue_length=max_queue_length,
                state_history=state_history,
                idempotency_key_ttl=idempotency_key_ttl,
            )
            for message_type, handler in durable.table().items():
                self.register(message_type, handler)
                self.store_types.add(message_type)
        if presence is not None:
            self.register("presence", presence_handler(presence))
        if verify_access_token is not None:
            self.register("auth.refresh", auth_refresh_handler(verify_access_token))

    def register(self, message_type: str, handler: Handler) -> None:
        self.handlers[message_type] = handler

    def welcome(self, session: Session) -> JSONObject:
        """The welcome message; with a store it also sets ``session.delivery_from``.

        Reads the database when there is a store: call it off the event loop.
        """
        if self.store is None:
            return welcome(session)
        acked, latest = self.store.queue_position(session.user)
        session.delivery_from = delivery_start(acked, latest, session.resume_after)
        return welcome(session, position=(acked, latest))

    def parse(self, text: str) -> Message | list[Reply]:
        """The message, or the error replies when its envelope is bad."""
        try:
            return parse_envelope(text)
        except ProtocolError as error:
            return [error.reply()]

    def receive_text(self, session: Session, text: str) -> list[Reply]:
        message = self.parse(text)
        if isinstance(message, list):
            return message
        return self.dispatch(session, message)

    def dispatch(self, session: Session, message: Message) -> list[Reply]:
        """Run the handler of a parsed message; errors become ``error`` replies."""
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
            if error.code in SECURITY_ERROR_CODES:
                # A refused action is a security event: log who, what, and why (no data).
                logger.info(
                    "Refused %r on connection %s for %s: %s",
                    message.type,
                    session.connection_id,
                    session.user,
                    error.code,
                )
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
