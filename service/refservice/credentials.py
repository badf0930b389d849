"""Where a request carries its JWT: the ``Authorization`` header, the query, a subprotocol."""

from __future__ import annotations

import logging
import re

from starlette.requests import HTTPConnection

from refservice.tokens import TokenError

BEARER_SUBPROTOCOL = "bearer"

# A query parameter whose name says it carries a credential, and its value.
_CREDENTIAL_IN_QUERY = re.compile(
    r"(?i)([?&][\w.-]*(?:token|secret|password|passwd|api[_-]?key|auth|signature)[\w.-]*=)"
    r"[^&#\s\"']*"
)
REDACTED = "[redacted]"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (``None`` when there is no header).

    Raises :class:`TokenError` (``malformed_token``) for a header that is not a Bearer
    credential.
    """
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise TokenError("malformed_token", "The Authorization header must be 'Bearer <token>'.")
    return credentials.strip()


def handshake_token(connection: HTTPConnection) -> str | None:
    """The JWT of a WebSocket handshake: Authorization header, query, then subprotocol."""
    header_token = bearer_token(connection.headers.get("authorization"))
    if header_token is not None:
        return header_token
    query_token = connection.query_params.get("access_token")
    if query_token:
        return query_token
    offered: list[str] = list(connection.scope.get("subprotocols", []))
    if BEARER_SUBPROTOCOL in offered:
        index = offered.index(BEARER_SUBPROTOCOL)
        if index + 1 < len(offered):
            return offered[index + 1]
    return None


def chosen_subprotocol(connection: HTTPConnection) -> str | None:
    """``bearer`` when the client offered it (the token came that way), else none."""
    offered = connection.scope.get("subprotocols", [])
    return BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None


def redact_query_credentials(text: str) -> str:
    """``text`` with the value of every credential-looking query parameter redacted."""
    return _CREDENTIAL_IN_QUERY.sub(rf"\1{REDACTED}", text)


class RedactCredentials(logging.Filter):
    """Redacts query-string tokens in a log record before any handler writes it.

    uvicorn logs each request's path with its query (``GET /ws?access_token=...``), in
    the access log and in its WebSocket ``[accepted]`` lines: a token would end up in
    the service's log in full.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query_credentials(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query_credentials(arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True
