"""The WebSocket endpoints: ``/ws`` (the reference protocol) and the conformance echo.

Each accepted ``/ws`` connection is a :class:`~refservice.connection.Connection` in the
:class:`~refservice.registry.Registry` while it is open. This module reads its frames,
runs the sans-I/O protocol on them and carries out the effects: replies go to the
connection's outbox, fan-out goes through the registry.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from refservice.connection import Connection, close_quietly
from refservice.credentials import chosen_subprotocol, handshake_token
from refservice.expiry import ExpiryWatch
from refservice.http_routes import error_response, peer, token_error_response
from refservice.protocol import (
    CLOSE_IDLE_TIMEOUT,
    CLOSE_IDLE_TIMEOUT_REASON,
    CLOSE_RATE_LIMITED,
    CLOSE_RATE_LIMITED_REASON,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TOO_MANY_CONNECTIONS_REASON,
    MAX_SEQ,
    Effect,
    EventsAcked,
    Message,
    NotifyUsers,
    Protocol,
    Reply,
    RestartDelivery,
    SendToOthers,
    Session,
    TokenRefreshed,
    encode,
    internal_error,
    message_id_of,
    rate_limited,
    token_expiry,
)
from refservice.ratelimit import MessageRateLimit, Verdict
from refservice.services import Services, services_of
from refservice.tokens import TokenError

logger = logging.getLogger("refservice")

CONFORMANCE_ECHO_PATH = "/conformance/echo"

router = APIRouter()

_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    services = services_of(websocket)
    settings = services.settings
    if not await origin_allowed(services, websocket):
        return
    claims = await authenticate(services, websocket)
    if claims is None:
        return
    resume_after = websocket.query_params.get("resume_after")
    if resume_after is not None and not (
        _WHOLE_NUMBER.fullmatch(resume_after) and int(resume_after) <= MAX_SEQ
    ):
        await websocket.send_denial_response(
            error_response(
                400, "invalid_request", f"resume_after must be a whole number from 0 to {MAX_SEQ}."
            )
        )
        return
    await websocket.accept(subprotocol=chosen_subprotocol(websocket))
    session = Session(user=claims["sub"], claims=claims, resume_after=int(resume_after or 0))
    # Accept, then close: the limit is reported as a close code, not an HTTP status.
    if not services.metrics.try_connection_opened(session.user, settings.max_connections_per_user):
        logger.info(
            "Closing connection %s for %s: more than %d connections",
            session.connection_id,
            session.user,
            settings.max_connections_per_user,
        )
        await close_quietly(
            websocket, CLOSE_TOO_MANY_CONNECTIONS, CLOSE_TOO_MANY_CONNECTIONS_REASON
        )
        return
    await _serve_connection(services, websocket, session)


async def conformance_echo(websocket: WebSocket) -> None:
    """``/conformance/echo`` (only with ``--conformance-echo``): a plain RFC 6455 echo.

    For conformance runs (the Autobahn server cases) only. Authenticated like ``/ws``,
    then it sends nothing of its own and echoes every text message as text and every
    binary message as binary, unchanged, until the client closes. No protocol, no
    queue, and it is not counted in ``/metrics``. Everything below the application
    (framing, fragments, UTF-8, control frames, closing handshake, size limit,
    heartbeat) is the same WebSocket stack as ``/ws``.
    """
    if await authenticate(services_of(websocket), websocket) is None:
        return
    await websocket.accept(subprotocol=chosen_subprotocol(websocket))
    with suppress(WebSocketDisconnect, OSError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message.get("bytes") or b"")


async def origin_allowed(services: Services, websocket: WebSocket) -> bool:
    """Whether the handshake's ``Origin`` is allowed; answers 403 when it is not.

    Browsers send ``Origin`` with every WebSocket handshake and do not apply CORS to
    it, so without this check any web page could open a connection with the user's
    cookies (cross-site WebSocket hijacking). Clients that are not browsers send no
    ``Origin``; they are let through.
    """
    allowed = services.settings.allowed_origins
    origin = websocket.headers.get("origin")
    if not allowed or origin is None or origin.rstrip("/") in allowed:
        return True
    # A security event: who tried, from which page (the value is escaped and cut short).
    logger.info(
        "Refused WebSocket handshake from %s: origin %.200r not allowed",
        peer(websocket),
        origin,
    )
    await websocket.send_denial_response(
        error_response(403, "origin_not_allowed", "This Origin may not open a WebSocket here.")
    )
    return False


async def authenticate(services: Services, websocket: WebSocket) -> dict[str, Any] | None:
    """Check the handshake's token: the claims, or ``None`` after a 401 answer."""
    try:
        claims = services.tokens.verify(handshake_token(websocket), "access")
        await services.check_user(claims["sub"])
    except TokenError as error:
        logger.info("Refused WebSocket handshake from %s: %s", peer(websocket), error.reason)
        await websocket.send_denial_response(token_error_response(error))
        return None
    return claims


async def _receive(websocket: WebSocket, idle_timeout: float) -> dict[str, Any] | None:
    """The next ASGI event, or ``None`` when no data message came within ``idle_timeout``.

    Only data messages reach the application: ping and pong control frames are answered
    by the WebSocket stack and never reset the idle clock.
    """
    if not idle_timeout:
        return dict(await websocket.receive())
    try:
        return dict(await asyncio.wait_for(websocket.receive(), idle_timeout))
    except TimeoutError:
        return None


async def _handle(
    services: Services, connection: Connection, watch: ExpiryWatch, event: dict[str, Any]
) -> list[str | bytes]:
    """Run the protocol on one data message, carry out its effects, encode the replies.

    Any exception here (a handler bug, a reply that cannot be encoded) is logged and
    answered with an ``internal_error`` message: it never ends the connection, and never
    reaches another one.
    """
    protocol, session = services.protocol, connection.session
    try:
        if event.get("text") is None:
            replies: list[Reply] = protocol.receive_bytes(session, event.get("bytes") or b"")
        else:
            parsed = protocol.parse(event["text"])
            if isinstance(parsed, list):
                replies = parsed
            elif parsed.type in protocol.store_types:
                replies = await services.db(_dispatch, protocol, session, parsed)
            else:
                replies = protocol.dispatch(session, parsed)
        _apply_effects(services, connection, watch, session.effects)
        return [encode(reply) for reply in replies]
    except Exception:
        logger.exception("Failed to handle a message on connection %s", session.connection_id)
        return [encode(internal_error())]
    finally:
        session.effects.clear()


def _dispatch(protocol: Protocol, session: Session, message: Message) -> list[Reply]:
    session.effects.clear()
    return protocol.dispatch(session, message)


def _apply_effects(
    services: Services, connection: Connection, watch: ExpiryWatch, effects: list[Effect]
) -> None:
    """Carry out a handler's effects, synchronously and in order (no await in between)."""
    for effect in effects:
        if isinstance(effect, NotifyUsers):
            services.notify(effect.users)
        elif isinstance(effect, RestartDelivery):
            connection.restart_delivery(effect.from_seq)
        elif isinstance(effect, EventsAcked):
            services.metrics.events_acked(effect.count)
            services.prune_later(effect.user, effect.seq)
        elif isinstance(effect, SendToOthers):
            services.registry.send_to_user(effect.user, encode(effect.message), besides=connection)
        elif isinstance(effect, TokenRefreshed):
            watch.restart(effect.expires)


def _within_rate_limit(
    services: Services, connection: Connection, limit: MessageRateLimit, event: dict[str, Any]
) -> bool:
    """Whether the data message ``event`` is within the connection's rate limit.

    One over it is not processed: it is answered ``rate_limited`` (a reply takes nothing
    from the limit, only messages received do), or once the connection has had its
    allowance of those answers, the connection is closed with 1008 after the replies
    already queued.
    """
    now = time.monotonic()
    verdict = limit.check(now)
    if verdict is Verdict.ACCEPT:
        return True
    if verdict is Verdict.REFUSE:
        text = event.get("text")
        message_id = message_id_of(text) if text is not None else None
        connection.push(encode(rate_limited(limit.retry_after(now), message_id)))
        return False
    settings, session = services.settings, connection.session
    logger.info(
        "Closing connection %s for %s with %d: over %g messages/s (burst %d) after %d "
        "rate_limited replies within %g s",
        session.connection_id,
        session.user,
        CLOSE_RATE_LIMITED,
        settings.max_messages_per_second,
        settings.max_message_burst,
        settings.max_refused_messages,
        settings.refused_message_window,
    )
    connection.close_after_sending(CLOSE_RATE_LIMITED, CLOSE_RATE_LIMITED_REASON)
    return False


async def _serve_connection(services: Services, websocket: WebSocket, session: Session) -> None:
    """Run one accepted (and already counted) connection until it closes."""
    metrics, protocol, registry = services.metrics, services.protocol, services.registry
    idle_timeout = services.settings.idle_timeout
    logger.info("Connection %s opened for %s", session.connection_id, session.user)
    close_code: int | None = None
    connection = Connection(
        websocket,
        session,
        read_events=services.read_events,
        limits=services.outbox_limits,
        metrics=metrics,
    )
    settings = services.settings
    rate_limit = MessageRateLimit(
        settings.max_messages_per_second,
        settings.max_message_burst,
        settings.max_refused_messages,
        settings.refused_message_window,
        now=time.monotonic(),
    )
    watch = ExpiryWatch(
        websocket,
        connection,
        warning=services.settings.expiry_warning,
        leeway=services.settings.leeway,
    )
    # Registered before the welcome reads the queue position: an event committed in
    # between is still found, because the writer reads the database after this point.
    registry.add(connection)
    try:
        welcome = await services.db(protocol.welcome, session)
        connection.cursor = session.delivery_from
        await connection.send(encode(welcome))
        connection.start()
        watch.restart(token_expiry(session.claims))
        while True:
            event = await _receive(websocket, idle_timeout)
            if event is None:
                close_code = CLOSE_IDLE_TIMEOUT
                await connection.stop()
                await close_quietly(websocket, CLOSE_IDLE_TIMEOUT, CLOSE_IDLE_TIMEOUT_REASON)
                break
            if event["type"] == "websocket.disconnect":
                close_code = event.get("code")
                break
            metrics.message_received()
            if connection.closing or watch.expired:  # closing: ignore what it still sends
                continue
            if not _within_rate_limit(services, connection, rate_limit, event):
                continue
            for data in await _handle(services, connection, watch, event):
                connection.push(data)
    except WebSocketDisconnect as disconnect:
        close_code = disconnect.code
    except OSError:
        close_code = 1006
    finally:
        await watch.stop()
        await connection.stop()
        registry.discard(connection)
        services.prune_later(session.user)
        metrics.connection_closed(session.user)
        logger.info(
            "Connection %s for %s closed (code %s)", session.connection_id, session.user, close_code
        )
