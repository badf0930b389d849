"""End-to-end HTTP tests against a real service process."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests

OK_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in"}


def test_health(client: Any) -> None:
    response = requests.get(f"{client.http_url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_login_issues_token_pair(client: Any) -> None:
    body = client.login("bob")
    assert set(body) == OK_FIELDS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    secret, service = client.service.jwt_secret, client.service
    access = jwt.decode(
        body["access_token"], secret, ["HS256"], audience=service.audience, issuer=service.issuer
    )
    assert access["sub"] == "bob" and access["typ"] == "access"
    assert {"sub", "iat", "nbf", "exp", "iss", "aud", "jti", "typ"} <= set(access)
    refresh = jwt.decode(body["refresh_token"], secret, ["HS256"], audience=service.audience)
    assert refresh["typ"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 24 * 3600


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong"), ("nobody", "alice-password"), ("", "")]
)
def test_login_bad_credentials(client: Any, username: str, password: str) -> None:
    response = client.post("/auth/login", {"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
    assert response.json()["message"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "not json", "headers": {"content-type": "application/json"}},
        {"json": ["alice", "alice-password"]},
        {"json": {"username": "alice"}},
        {"json": {"username": 1, "password": 2}},
    ],
)
def test_login_malformed_body(client: Any, kwargs: dict[str, Any]) -> None:
    response = requests.post(f"{client.http_url}/auth/login", timeout=5, **kwargs)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_tokens(client: Any) -> None:
    first = client.login()
    response = client.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == OK_FIELDS
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    ws = client.connect(body["access_token"])
    ws.close()


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda c: None, "missing_token"),
        (lambda c: "garbage", "malformed_token"),
        (lambda c: c.login()["access_token"], "wrong_token_type"),
        (lambda c: c.forge(typ="refresh", exp=int(time.time()) - 5), "token_expired"),
        (lambda c: c.forge(typ="refresh", key="k" * 32), "invalid_signature"),
        (lambda c: c.forge(typ="refresh", sub="ghost"), "unknown_user"),
    ],
)
def test_refresh_refusals(client: Any, make_token: Any, reason: str) -> None:
    response = client.post("/auth/refresh", {"refresh_token": make_token(client)})
    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert response.json()["message"]


def test_refresh_malformed_body(client: Any) -> None:
    assert client.post("/auth/refresh", {"refresh_token": 5}).status_code == 400


def test_metrics_shape(client: Any) -> None:
    metrics = client.metrics()
    assert set(metrics) == {
        "connections",
        "messages",
        "uptime_seconds",
        "started_at",
        "process",
        "heartbeat",
        "queue",
    }
    assert isinstance(metrics["connections"]["open"], int)
    assert isinstance(metrics["connections"]["per_user"], dict)
    assert set(metrics["messages"]) == {"received", "sent"}
    assert metrics["uptime_seconds"] > 0
    assert metrics["started_at"].endswith("Z")
    assert metrics["process"]["pid"] == client.service.pid
    assert metrics["process"]["rss_bytes"] > 1024 * 1024
    assert metrics["heartbeat"] == {"interval": 20.0, "timeout": 20.0}


def test_metrics_report_heartbeat_settings(make_service: Any, client_for: Any) -> None:
    metrics = client_for(make_service(heartbeat_interval="500ms", heartbeat_timeout=0.25)).metrics()
    assert metrics["heartbeat"] == {"interval": 0.5, "timeout": 0.25}
