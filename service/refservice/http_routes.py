"""The HTTP endpoints: health, metrics, login, refresh and ``POST /events``."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from functools import cache, partial
from typing import Any

import psutil
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from refservice.config import METRICS_ROLE, PUBLISHER_ROLE
from refservice.credentials import bearer_token
from refservice.protocol import (
    MAX_TOPIC_LENGTH,
    ProtocolError,
    deliveries,
    has_role,
    idempotency_key_problem,
    publish,
)
from refservice.services import Services, services_of
from refservice.store import RefreshOutcome
from refservice.tokens import TokenError, TokenPair

logger = logging.getLogger("refservice")

router = APIRouter()

# A retry of POST /events with the same key stores nothing and gets the first answer.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def error_response(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message})


def token_error_response(error: TokenError) -> JSONResponse:
    return error_response(401, error.reason, error.message)


def peer(connection: HTTPConnection) -> str:
    """``host:port`` of the client, for the log."""
    client = connection.client
    return f"{client.host}:{client.port}" if client else "an unknown peer"


async def bearer_claims(services: Services, request: Request) -> dict[str, Any]:
    """The claims of the request's ``Authorization: Bearer`` access token, of a known user.

    Raises :class:`TokenError` when there is no such token or it is refused.
    """
    claims = services.tokens.verify(bearer_token(request.headers.get("authorization")), "access")
    await services.check_user(claims["sub"])
    return claims


@cache
def _this_process() -> psutil.Process:
    return psutil.Process(os.getpid())


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", response_model=None)
async def metrics(request: Request) -> dict[str, Any] | JSONResponse:
    services = services_of(request)
    if not services.settings.public_metrics:
        refusal = await _metrics_refusal(services, request)
        if refusal is not None:
            return refusal
    snapshot = services.metrics.snapshot()
    snapshot["queue"]["pending"] = await services.db(services.store.pending_counts)
    process = _this_process()
    return {
        **snapshot,
        "process": {"rss_bytes": process.memory_info().rss, "pid": process.pid},
        "heartbeat": {
            "interval": services.settings.heartbeat_interval,
            "timeout": services.settings.heartbeat_timeout,
        },
    }


async def _metrics_refusal(services: Services, request: Request) -> JSONResponse | None:
    """The 401/403 answer for a ``GET /metrics`` without a token of the metrics role, or ``None``.

    The metrics name every connected user and every user with queued events.
    """
    try:
        claims = await bearer_claims(services, request)
    except TokenError as error:
        # A security event, like refused handshakes: who asked, and why not (never the token).
        logger.info("Refused GET /metrics from %s: %s", peer(request), error.reason)
        return token_error_response(error)
    if not has_role(claims, METRICS_ROLE):
        logger.info("Refused GET /metrics from %s for %s: forbidden", peer(request), claims["sub"])
        return error_response(403, "forbidden", f"Metrics need the {METRICS_ROLE!r} role.")
    return None


@router.post("/auth/login", response_model=None)
async def login(request: Request) -> JSONResponse:
    services = services_of(request)
    body = await _read_json_object(request)
    if isinstance(body, JSONResponse):
        return body
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error_response(
            400, "invalid_request", "'username' and 'password' must both be strings."
        )
    wait = services.throttle.retry_after(username)
    if wait is not None:
        seconds = math.ceil(wait)
        response = error_response(
            429,
            "too_many_attempts",
            f"Too many failed logins for this user; try again in {seconds} s.",
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    valid = await run_in_threadpool(services.store.verify_password, username, password)
    if not valid:
        services.throttle.failed(username)
        return error_response(401, "invalid_credentials", "Wrong user name or password.")
    services.throttle.succeeded(username)
    pair = await _issue_pair(services, username)
    await services.db(
        partial(
            services.store.start_refresh_family,
            username,
            pair.refresh_id,
            pair.refresh_expires,
            now=_forget_refresh_tokens_before(services),
        )
    )
    return _token_response(pair)


@router.post("/auth/refresh", response_model=None)
async def refresh(request: Request) -> JSONResponse:
    services = services_of(request)
    body = await _read_json_object(request)
    if isinstance(body, JSONResponse):
        return body
    refresh_token = body.get("refresh_token")
    if refresh_token is not None and not isinstance(refresh_token, str):
        return error_response(400, "invalid_request", "'refresh_token' must be a string.")
    try:
        claims = services.tokens.verify(refresh_token, "refresh")
        await services.check_user(claims["sub"])
        pair = await _issue_pair(services, claims["sub"])
        await _rotate(services, claims, pair)
    except TokenError as error:
        return token_error_response(error)
    return _token_response(pair)


# (reason, message) of each refused rotation.
_REFUSED_REFRESH: dict[RefreshOutcome, tuple[str, str | None]] = {
    RefreshOutcome.REUSED: ("token_reused", None),
    RefreshOutcome.REVOKED: (
        "token_revoked",
        "This refresh token's family was revoked: a token of it was used twice. Log in again.",
    ),
    RefreshOutcome.UNKNOWN: (
        "token_revoked",
        "The service has no record of this refresh token. Log in again.",
    ),
}


async def _rotate(services: Services, claims: dict[str, Any], pair: TokenPair) -> None:
    """Retire the presented refresh token for ``pair``'s; raise ``TokenError`` if refused."""
    presented = claims.get("jti")
    outcome = RefreshOutcome.UNKNOWN
    if isinstance(presented, str):
        outcome = await services.db(
            partial(
                services.store.rotate_refresh_token,
                presented,
                pair.refresh_id,
                pair.refresh_expires,
                now=_forget_refresh_tokens_before(services),
            )
        )
    if outcome is not RefreshOutcome.ROTATED:
        if outcome is RefreshOutcome.REUSED:
            logger.warning("Refresh token of %s reused: its family is revoked", claims["sub"])
        raise TokenError(*_REFUSED_REFRESH[outcome])


def _forget_refresh_tokens_before(services: Services) -> float:
    """Records of refresh tokens expired before this moment are no longer needed."""
    return time.time() - services.settings.leeway


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> dict[str, Any]:
    """The public keys tokens are verified with (none for HMAC algorithms)."""
    return services_of(request).tokens.jwks()


@router.post("/events", response_model=None)
async def post_events(request: Request) -> JSONResponse:
    services = services_of(request)
    try:
        claims = await bearer_claims(services, request)
    except TokenError as error:
        return token_error_response(error)
    if not has_role(claims, PUBLISHER_ROLE):
        return error_response(403, "forbidden", f"Publishing needs the {PUBLISHER_ROLE!r} role.")
    body = await _read_json_object(request)
    if isinstance(body, JSONResponse):
        return body
    refusal = _publish_refusal(body)
    if refusal is not None:
        return refusal
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is not None and (problem := idempotency_key_problem(key)) is not None:
        return error_response(
            400, "invalid_request", f"The {IDEMPOTENCY_KEY_HEADER} header {problem}."
        )
    try:
        result = await services.db(
            partial(
                publish,
                services.store,
                user=body.get("user"),
                topic=body.get("topic"),
                data=body["data"],
                limit=services.settings.max_queue_length,
                sender=claims["sub"],
                idempotency_key=key,
                idempotency_key_ttl=services.settings.idempotency_key_ttl,
            )
        )
    except ProtocolError as error:
        if error.code == "queue_full":
            return JSONResponse(
                status_code=507,
                content={"error": error.code, **error.extra, "message": error.message},
            )
        if error.code == "idempotency_conflict":
            return error_response(422, error.code, error.message)
        return error_response(404, error.code, error.message)
    answer = {"deliveries": deliveries(result.deliveries)}
    if result.replayed:  # stored nothing now: the first publish's answer, and no wake-up
        return JSONResponse(status_code=201, content=answer, headers={REPLAYED_HEADER: "true"})
    services.notify(tuple(name for name, _ in result.deliveries))
    return JSONResponse(status_code=201, content=answer)


def _publish_refusal(body: dict[str, Any]) -> JSONResponse | None:
    """The 400 answer for a ``POST /events`` body that is not a valid publish, or ``None``."""
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
    return None


async def _read_json_object(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(400, "invalid_request", "The request body must be valid JSON.")
    if not isinstance(body, dict):
        return error_response(400, "invalid_request", "The request body must be a JSON object.")
    return body


async def _issue_pair(services: Services, username: str) -> TokenPair:
    roles = await services.db(services.store.user_roles, username)
    return services.tokens.issue_pair(username, roles)


def _token_response(pair: TokenPair) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "bearer",
            "expires_in": pair.expires_in,
        }
    )
