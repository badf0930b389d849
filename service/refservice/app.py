"""The FastAPI application: HTTP auth endpoints, health, metrics and the ``/ws`` socket."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psutil
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from refservice.config import Settings
from refservice.metrics import Metrics
from refservice.protocol import (
    CLOSE_IDLE_TIMEOUT,
    CLOSE_IDLE_TIMEOUT_REASON,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TOO_MANY_CONNECTIONS_REASON,
    Protocol,
    Reply,
    Session,
    encode,
    internal_error,
)
from refservice.store import Store
from refservice.tokens import TokenError, TokenService

logger = logging.getLogger("refservice")

BEARER_SUBPROTOCOL = "bearer"


@dataclass
class Services:
    """Everything the endpoints share; stored on ``app.state.services``."""

    settings: Settings
    store: Store
    tokens: TokenService
    metrics: Metrics
    protocol: Protocol


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


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """Build the application. ``store`` defaults to one opened on ``settings.database``."""
    services = Services(
        settings=settings,
        store=store if store is not None else Store(settings.database),
        tokens=TokenService(settings),
        metrics=Metrics(),
        protocol=Protocol(),
    )
    services.store.seed_users(settings.users)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.store.close()

    app = FastAPI(title="refservice", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    process = psutil.Process(os.getpid())

    @app.get("/metrics")
    async def metrics() -> dict[str, Any]:
        return {
            **services.metrics.snapshot(),
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
        return _token_response(services, username)

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
            _check_user(services, claims["sub"])
        except TokenError as error:
            return token_error_response(error)
        return _token_response(services, claims["sub"])

    @app.websocket("/ws")
    async def websocket_endpoint(websocket: WebSocket) -> None:
        try:
            token = extract_token(websocket)
            claims = services.tokens.verify(token, "access")
            _check_user(services, claims["sub"])
        except TokenError as error:
            logger.info("Refused WebSocket handshake: %s", error.reason)
            await websocket.send_denial_response(token_error_response(error))
            return
        offered = websocket.scope.get("subprotocols", [])
        subprotocol = BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
        await websocket.accept(subprotocol=subprotocol)
        session = Session(user=claims["sub"], claims=claims)
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

    return app


def _check_user(services: Services, username: str) -> None:
    if not services.store.user_exists(username):
        raise TokenError("unknown_user", f"User {username!r} does not exist.")


def _token_response(services: Services, username: str) -> JSONResponse:
    pair = services.tokens.issue_pair(username)
    return JSONResponse(
        {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "bearer",
            "expires_in": pair.expires_in,
        }
    )


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


def _handle(services: Services, session: Session, event: dict[str, Any]) -> list[str | bytes]:
    """Run the protocol on one data message and encode the replies.

    Any exception here (a handler bug, a reply that cannot be encoded) is logged and
    answered with an ``internal_error`` message: it never ends the connection, and never
    reaches another one.
    """
    protocol = services.protocol
    try:
        if event.get("text") is not None:
            replies: list[Reply] = protocol.receive_text(session, event["text"])
        else:
            replies = protocol.receive_bytes(session, event.get("bytes") or b"")
        return [encode(reply) for reply in replies]
    except Exception:
        logger.exception("Failed to handle a message on connection %s", session.connection_id)
        return [encode(internal_error())]


async def _serve_connection(services: Services, websocket: WebSocket, session: Session) -> None:
    """Run one accepted (and already counted) connection until it closes."""
    metrics, protocol = services.metrics, services.protocol
    idle_timeout = services.settings.idle_timeout
    logger.info("Connection %s opened for %s", session.connection_id, session.user)
    close_code: int | None = None
    try:
        await _send(services, websocket, encode(protocol.welcome(session)))
        while True:
            event = await _receive(websocket, idle_timeout)
            if event is None:
                close_code = CLOSE_IDLE_TIMEOUT
                await _close(websocket, CLOSE_IDLE_TIMEOUT, CLOSE_IDLE_TIMEOUT_REASON)
                break
            if event["type"] == "websocket.disconnect":
                close_code = event.get("code")
                break
            metrics.message_received()
            for data in _handle(services, session, event):
                await _send(services, websocket, data)
    except WebSocketDisconnect as disconnect:
        close_code = disconnect.code
    except OSError:
        close_code = 1006
    finally:
        metrics.connection_closed(session.user)
        logger.info(
            "Connection %s for %s closed (code %s)", session.connection_id, session.user, close_code
        )
