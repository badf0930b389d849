"""No token, password or secret reaches the service's log at the default level."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.credentials import RedactCredentials, redact_query_credentials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /ws?access_token=eyJ.a.b HTTP/1.1", "GET /ws?access_token=[redacted] HTTP/1.1"),
        ('"WebSocket /ws?x=1&Token=abc&y=2"', '"WebSocket /ws?x=1&Token=[redacted]&y=2"'),
        ("/p?refresh_token=r&api_key=k#f", "/p?refresh_token=[redacted]&api_key=[redacted]#f"),
        ("/ws?resume_after=5", "/ws?resume_after=5"),
        ("no query at all", "no query at all"),
    ],
)
def test_credential_query_values_are_redacted(text: str, expected: str) -> None:
    assert redact_query_credentials(text) == expected


def test_the_filter_redacts_message_and_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s"',
        ("127.0.0.1:1", "GET", "/ws?access_token=secret-value"), None,
    )  # fmt: skip
    assert RedactCredentials().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /ws?access_token=[redacted]"'


def test_tokens_in_query_strings_are_not_in_the_service_log(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    service = make_service()
    client = client_for(service)
    tokens = client.login()
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    ws = websocket.create_connection(f"{service.ws_url}?access_token={access}", timeout=5)
    ws.recv()
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(f"{service.ws_url}?access_token=x{access}", timeout=5)
    requests.get(f"{service.http_url}/health?access_token={access}", timeout=5)
    client.post("/auth/refresh", {"refresh_token": refresh})
    service.stop()  # flushes the log
    log = service.log_file.read_text(encoding="utf-8")
    assert "/ws?access_token=[redacted]" in log, "the handshake is logged, redacted"
    for secret in (access, access[20:], refresh, service.jwt_secret, "alice-password"):
        assert secret not in log
