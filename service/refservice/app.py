"""The FastAPI application: HTTP auth endpoints, health, metrics, ``POST /events`` and ``/ws``.

With ``--conformance-echo`` it also has ``/conformance/echo``, a plain echo for the
Autobahn server cases (conformance runs only).

Every database call that writes (and the reads that must see writes in order) runs on
one dedicated thread, :attr:`Services.db`, so the event loop never waits for an fsync
and results come back in commit order. Each WebSocket connection has one writer task
that sends everything after ``welcome``: replies, ``state.updated`` pushes and queued
events, which it reads from the database from the connection's delivery cursor on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import psutil
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from refservice.config import PUBLISHER_ROLE, Settings
from refservice.metrics import Metrics
from refservice.protocol import (
    CLOSE_IDLE_TIMEOUT,
    CLOSE_IDLE_TIMEOUT_REASON,
    CLOSE_INTERNAL_ERROR,
    CLOSE_INTERNAL_ERROR_REASON,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TOO_MANY_CONNECTIONS_REASON,
    CLOSE_TOO_SLOW,
    CLOSE_TOO_SLOW_REASON,
    MAX_SEQ,
    MAX_TOPIC_LENGTH,
    Effect,
    EventsAcked,
    Message,
    NotifyUsers,
    Protocol,
    ProtocolError,
    Reply,
    RestartDelivery,
    SendToOthers,
    Session,
    deliveries,
    encode,
    internal_error,
    publish,
)
from refservice.store import Store
from refservice.tokens import TokenError, TokenService

logger = logging.getLogger("refservice")

BEARER_SUBPROTOCOL = "bearer"
CONFORMANCE_ECHO_PATH = "/conformance/echo"
# Events read from the database per query when delivering a backlog.
DELIVERY_BATCH = 500

T = TypeVar("T")


@dataclass
class Services:
    """Everything the endpoints share; stored on ``app.state.services``."""

    settings: Settings
    store: Store
    tokens: TokenService
    metrics: Metrics
    protocol: Protocol
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="refservice-db")
    )
    # Open connections per user, for event notification and state.updated pushes.
    connections: dict[str, set[Connection]] = field(default_factory=dict)
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    async def db(self, function: Callable[..., T], *args: Any) -> T:
        """Run a store call on the database thread (in submission order)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(function, *args))

    def notify(self, users: tuple[str, ...]) -> None:
        """New events were committed for ``users``: wake their connections' delivery."""
        self.metrics.events_published(len(users))
        for user in users:
            for connection in self.connections.get(user, ()):
                connection.notify()

    def prune_later(self, user: str, acked: int | None = None) -> None:
        """Delete the user's acknowledged events that every open connection has been sent.

        ``acked`` limits the deletion further; the store never deletes unacknowledged
        events whatever the limit.
        """
        cursors = [connection.cursor - 1 for connection in self.connections.get(user, ())]
        limits = cursors if acked is None else [acked, *cursors]
        floor = min(limits) if limits else 2**62
        if floor <= 0:
            return
        try:
            task = asyncio.get_running_loop().create_task(self.db(self.store.prune, user, floor))
        except RuntimeError:  # shutting down: the next start prunes instead
            return
        self.background.add(task)
        task.add_done_callback(self._pruned)

    def _pruned(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("Pruning acknowledged events failed: %r", task.exception())


class Connection:
    """One open WebSocket: its outbox, its delivery cursor and the task that sends both.

    Only the writer task sends (after ``welcome``), so frames never interleave. Events
    are read from the database starting at :attr:`cursor`; a ``resume`` moves the cursor
    and bumps :attr:`generation`, which makes the writer drop whatever it had read for
    the old position. Events therefore reach each connection in seq order, without gaps
    (an event is deleted only after it is acknowledged *and* sent on every open
    connection of its user).
    """

    def __init__(self, services: Services, websocket: WebSocket, session: Session) -> None:
        self.services = services
        self.websocket = websocket
        self.session = session
        self.cursor = session.delivery_from
        self.generation = 0
        self.events_pending = True
        self.outbox: deque[str | bytes] = deque()
        self.outbox_bytes = 0
        # Set when the outbox overflowed: nothing more is queued, the close is under way.
        self.closing = False
        self.wake = asyncio.Event()
        self.wake.set()
        self.task: asyncio.Task[None] | None = None

    def push(self, data: str | bytes) -> None:
        if self.closing:
            return
        self.outbox.append(data)
        self.outbox_bytes += _size(data)
        settings = self.services.settings
        if (
            len(self.outbox) > settings.max_outbox_messages
            or self.outbox_bytes > settings.max_outbox_bytes
        ):
            self._overflow()
            return
        self.wake.set()

    def _overflow(self) -> None:
        """The client does not read fast enough: drop its outbox and close with 4009.

        The writer is cancelled (it may be blocked on a full TCP buffer) and the close
        frame goes out as soon as the socket is writable; the memory held for this
        connection is bounded from now on, and other connections are not affected.
        """
        logger.warning(
            "Closing connection %s for %s with %d: %d messages (%d bytes) waiting to be sent",
            self.session.connection_id,
            self.session.user,
            CLOSE_TOO_SLOW,
            len(self.outbox),
            self.outbox_bytes,
        )
        self.closing = True
        self.outbox.clear()
        self.outbox_bytes = 0
        if self.task is not None:
            self.task.cancel()
        task = asyncio.get_running_loop().create_task(
            _close(self.websocket, CLOSE_TOO_SLOW, CLOSE_TOO_SLOW_REASON)
        )
        self.services.background.add(task)
        task.add_done_callback(self.services.background.discard)

    def notify(self) -> None:
        self.events_pending = True
        self.wake.set()

    def restart_delivery(self, from_seq: int) -> None:
        self.cursor = from_seq
        self.generation += 1
        self.notify()

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _run(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                await self._flush()
                if self.events_pending:
                    self.events_pending = False
                    await self._deliver()
        except asyncio.CancelledError:
            raise
        except (WebSocketDisconnect, OSError) as error:  # the peer is gone
            logger.debug("Writer of %s stopped: %r", self.session.connection_id, error)
        except Exception as error:
            # Anything else would leave an open socket that is never sent to again:
            # close it, so the client sees 1011 and can reconnect.
            logger.warning(
                "Writer of connection %s failed, closing it with %d: %r",
                self.session.connection_id,
                CLOSE_INTERNAL_ERROR,
                error,
            )
            await _close(self.websocket, CLOSE_INTERNAL_ERROR, CLOSE_INTERNAL_ERROR_REASON)

    async def _flush(self) -> None:
        while self.outbox:
            data = self.outbox.popleft()
            self.outbox_bytes -= _size(data)
            await _send(self.services, self.websocket, data)

    async def _deliver(self) -> None:
        services, generation = self.services, self.generation
        events = await services.db(
            services.store.events_from, self.session.user, self.cursor, DELIVERY_BATCH
        )
        for event in events:
            await self._flush()
            if generation != self.generation:
                break
            await _send(services, self.websocket, encode(event))
            services.metrics.events_delivered(1)
            if generation != self.generation:
                break
            self.cursor = event["seq"] + 1
        if generation != self.generation or len(events) == DELIVERY_BATCH:
            self.notify()


def error_response(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message})


def token_error_response(error: TokenError) -> JSONResponse:
    return error_response(401, error.reason, error.message)


def extract_token(websocket: WebSocket) -> str | None:
    """Find the JWT in the handshake: Authorization header, query, then subprotocol.

    Raises :class:`TokenError` (``malformed_token``) for an ``Authorization`` header that
    is not a Bearer credential.
    """
    authorization = websocket.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise TokenError(
                "malformed_token", "The Authorization header must be 'Bearer <token>'."
            )
        return credentials.strip()
    query_token = websocket.query_params.get("access_token")
    if query_token:
        return query_token
    offered: list[str] = list(websocket.scope.get("subprotocols", []))
    if BEARER_SUBPROTOCOL in offered:
        index = offered.index(BEARER_SUBPROTOCOL)
        if index + 1 < len(offered):
            return offered[index + 1]
    return None


async def _read_json_object(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(400, "invalid_request", "The request body must be valid JSON.")
    if not isinstance(body, dict):
        return error_response(400, "invalid_request", "The request body must be a JSON object.")
    return body


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (``None`` when there is no header)."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise TokenError("malformed_token", "The Authorization header must be 'Bearer <token>'.")
    return credentials.strip()


_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """Build the application. ``store`` defaults to one opened on ``settings.database``."""
    store = store if store is not None else Store(settings.database)
    services = Services(
        settings=settings,
        store=store,
        tokens=TokenService(settings),
        metrics=Metrics(),
        protocol=Protocol(
            store=store,
            max_queue_length=settings.max_queue_length,
            state_history=settings.state_history,
        ),
    )
    services.store.seed_users(settings.users)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.executor.shutdown(wait=True)
        services.store.close()

    app = FastAPI(title="refservice", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    process = psutil.Process(os.getpid())

    @app.get("/metrics")
    async def metrics() -> dict[str, Any]:
        snapshot = services.metrics.snapshot()
        snapshot["queue"]["pending"] = await services.db(services.store.pending_counts)
        return {
            **snapshot,
            "process": {"rss_bytes": process.memory_info().rss, "pid": process.pid},
            "heartbeat": {
                "interval": settings.heartbeat_interval,
                "timeout": settings.heartbeat_timeout,
            },
        }

    @app.post("/auth/login", response_model=None)
    async def login(request: Request) -> JSONResponse:
        body = await _read_json_object(request)
        if isinstance(body, JSONResponse):
            return body
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return error_response(
                400, "invalid_request", "'username' and 'password' must both be strings."
            )
        valid = await run_in_threadpool(services.store.verify_password, username, password)
        if not valid:
            return error_response(401, "invalid_credentials", "Wrong user name or password.")
        return await _token_response(services, username)

    @app.post("/auth/refresh", response_model=None)
    async def refresh(request: Request) -> JSONResponse:
        body = await _read_json_object(request)
        if isinstance(body, JSONResponse):
            return body
        refresh_token = body.get("refresh_token")
        if refresh_token is not None and not isinstance(refresh_token, str):
            return error_response(400, "invalid_request", "'refresh_token' must be a string.")
        try:
            claims = services.tokens.verify(refresh_token, "refresh")
            await _check_user(services, claims["sub"])
        except TokenError as error:
            return token_error_response(error)
        return await _token_response(services, claims["sub"])

    @app.post("/events", response_model=None)
    async def post_events(request: Request) -> JSONResponse:
        try:
            claims = services.tokens.verify(
                bearer_token(request.headers.get("authorization")), "access"
            )
            await _check_user(services, claims["sub"])
        except TokenError as error:
            return token_error_response(error)
        roles = claims.get("roles")
        if not isinstance(roles, list) or PUBLISHER_ROLE not in roles:
            return error_response(
                403, "forbidden", f"Publishing needs the {PUBLISHER_ROLE!r} role."
            )
        body = await _read_json_object(request)
        if isinstance(body, JSONResponse):
            return body
        user, topic = body.get("user"), body.get("topic")
        if ("user" in body) == ("topic" in body):
            return error_response(
                400, "invalid_request", "The body needs exactly one of 'user' and 'topic'."
            )
        if "user" in body and (not isinstance(user, str) or not user):
            return error_response(400, "invalid_request", "'user' must be a non-empty string.")
        if "topic" in body and (
            not isinstance(topic, str) or not topic or len(topic) > MAX_TOPIC_LENGTH
        ):
            return error_response(
                400,
                "invalid_request",
                f"'topic' must be a non-empty string of at most {MAX_TOPIC_LENGTH} characters.",
            )
        if "data" not in body:
            return error_response(400, "invalid_request", "'data' is required (any JSON).")
        try:
            result = await services.db(
                partial(
                    publish,
                    services.store,
                    user=user,
                    topic=topic,
                    data=body["data"],
                    limit=settings.max_queue_length,
                )
            )
        except ProtocolError as error:
            if error.code == "queue_full":
                return JSONResponse(
                    status_code=507,
                    content={"error": error.code, **error.extra, "message": error.message},
                )
            return error_response(404, error.code, error.message)
        services.notify(tuple(name for name, _ in result))
        return JSONResponse(status_code=201, content={"deliveries": deliveries(result)})

    @app.websocket("/ws")
    async def websocket_endpoint(websocket: WebSocket) -> None:
        claims = await _authenticate(services, websocket)
        if claims is None:
            return
        resume_after = websocket.query_params.get("resume_after")
        if resume_after is not None and not (
            _WHOLE_NUMBER.fullmatch(resume_after) and int(resume_after) <= MAX_SEQ
        ):
            await websocket.send_denial_response(
                error_response(
                    400,
                    "invalid_request",
                    f"resume_after must be a whole number from 0 to {MAX_SEQ}.",
                )
            )
            return
        offered = websocket.scope.get("subprotocols", [])
        subprotocol = BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
        await websocket.accept(subprotocol=subprotocol)
        session = Session(user=claims["sub"], claims=claims, resume_after=int(resume_after or 0))
        # Accept, then close: the limit is reported as a close code, not an HTTP status.
        if not services.metrics.try_connection_opened(
            session.user, settings.max_connections_per_user
        ):
            logger.info(
                "Closing connection %s for %s: more than %d connections",
                session.connection_id,
                session.user,
                settings.max_connections_per_user,
            )
            await _close(websocket, CLOSE_TOO_MANY_CONNECTIONS, CLOSE_TOO_MANY_CONNECTIONS_REASON)
            return
        await _serve_connection(services, websocket, session)

    if settings.conformance_echo:
        app.add_api_websocket_route(CONFORMANCE_ECHO_PATH, partial(_conformance_echo, services))

    return app


async def _authenticate(services: Services, websocket: WebSocket) -> dict[str, Any] | None:
    """Check the handshake's token like ``/ws``: the claims, or ``None`` after a 401."""
    try:
        token = extract_token(websocket)
        claims = services.tokens.verify(token, "access")
        await _check_user(services, claims["sub"])
    except TokenError as error:
        logger.info("Refused WebSocket handshake: %s", error.reason)
        await websocket.send_denial_response(token_error_response(error))
        return None
    return claims


async def _conformance_echo(services: Services, websocket: WebSocket) -> None:
    """``/conformance/echo`` (only with ``--conformance-echo``): a plain RFC 6455 echo.

    For conformance runs (the Autobahn server cases) only. Authenticated like ``/ws``,
    then it sends nothing of its own and echoes every text message as text and every
    binary message as binary, unchanged, until the client closes. No protocol, no
    queue, and it is not counted in ``/metrics``. Everything below the application
    (framing, fragments, UTF-8, control frames, closing handshake, size limit,
    heartbeat) is the same WebSocket stack as ``/ws``.
    """
    if await _authenticate(services, websocket) is None:
        return
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(
        subprotocol=BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
    )
    with suppress(WebSocketDisconnect, OSError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message.get("bytes") or b"")


async def _check_user(services: Services, username: str) -> None:
    # On the database thread: the store's lock may be held through a slow commit, and
    # waiting for it on the event loop would stall every connection and /health.
    if not await services.db(services.store.user_exists, username):
        raise TokenError("unknown_user", f"User {username!r} does not exist.")


async def _token_response(services: Services, username: str) -> JSONResponse:
    roles = await services.db(services.store.user_roles, username)
    pair = services.tokens.issue_pair(username, roles)
    return JSONResponse(
        {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "bearer",
            "expires_in": pair.expires_in,
        }
    )


def _size(data: str | bytes) -> int:
    """Bytes of a frame's payload (UTF-8 for text)."""
    return len(data) if isinstance(data, bytes) else len(data.encode())


async def _send(services: Services, websocket: WebSocket, data: str | bytes) -> None:
    if isinstance(data, bytes):
        await websocket.send_bytes(data)
    else:
        await websocket.send_text(data)
    services.metrics.message_sent()


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Send a close frame; a peer that is already gone is not an error."""
    with suppress(WebSocketDisconnect, OSError, RuntimeError):
        await websocket.close(code, reason)


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
    services: Services, connection: Connection, event: dict[str, Any]
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
        _apply_effects(services, connection, session.effects)
        return [encode(reply) for reply in replies]
    except Exception:
        logger.exception("Failed to handle a message on connection %s", session.connection_id)
        return [encode(internal_error())]
    finally:
        session.effects.clear()


def _dispatch(protocol: Protocol, session: Session, message: Message) -> list[Reply]:
    session.effects.clear()
    return protocol.dispatch(session, message)


def _apply_effects(services: Services, connection: Connection, effects: list[Effect]) -> None:
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
            data = encode(effect.message)
            for other in services.connections.get(effect.user, ()):
                if other is not connection:
                    other.push(data)


async def _serve_connection(services: Services, websocket: WebSocket, session: Session) -> None:
    """Run one accepted (and already counted) connection until it closes."""
    metrics, protocol = services.metrics, services.protocol
    idle_timeout = services.settings.idle_timeout
    logger.info("Connection %s opened for %s", session.connection_id, session.user)
    close_code: int | None = None
    connection = Connection(services, websocket, session)
    # Registered before the welcome reads the queue position: an event committed in
    # between is still found, because the writer reads the database after this point.
    services.connections.setdefault(session.user, set()).add(connection)
    try:
        welcome = await services.db(protocol.welcome, session)
        connection.cursor = session.delivery_from
        await _send(services, websocket, encode(welcome))
        connection.start()
        while True:
            event = await _receive(websocket, idle_timeout)
            if event is None:
                close_code = CLOSE_IDLE_TIMEOUT
                await connection.stop()
                await _close(websocket, CLOSE_IDLE_TIMEOUT, CLOSE_IDLE_TIMEOUT_REASON)
                break
            if event["type"] == "websocket.disconnect":
                close_code = event.get("code")
                break
            metrics.message_received()
            if connection.closing:  # closed for being too slow: ignore what it still sends
                continue
            for data in await _handle(services, connection, event):
                connection.push(data)
    except WebSocketDisconnect as disconnect:
        close_code = disconnect.code
    except OSError:
        close_code = 1006
    finally:
        await connection.stop()
        peers = services.connections.get(session.user, set())
        peers.discard(connection)
        if not peers:
            services.connections.pop(session.user, None)
        services.prune_later(session.user)
        metrics.connection_closed(session.user)
        logger.info(
            "Connection %s for %s closed (code %s)", session.connection_id, session.user, close_code
        )
