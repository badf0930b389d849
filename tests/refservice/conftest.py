"""Helpers for the reference service tests, offered as fixtures.

``client`` talks to the session-wide ``service``; ``client_for(process)`` builds one for a
private service made with ``make_service``. Helpers are fixtures (not an importable
module) so the tests work under any pytest import mode.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import requests
import websocket

from ReferenceServiceLibrary.process import ServiceProcess

TIMEOUT = 5.0


class Client:
    """Small test client for one running reference service."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.http_url = service.http_url
        self.ws_url = service.ws_url

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.http_url}{path}", json=body, timeout=TIMEOUT, **kwargs)

    def login(self, user: str = "alice", password: str | None = None) -> dict[str, Any]:
        response = self.post(
            "/auth/login", {"username": user, "password": password or f"{user}-password"}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def token(self, user: str = "alice") -> str:
        return str(self.login(user)["access_token"])

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid access-token claims for alice; ``name=None`` removes a claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "iss": self.service.issuer,
            "aud": self.service.audience,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def forge(self, *, key: Any = None, algorithm: str = "HS256", **overrides: Any) -> str:
        """A token signed with the service's secret (or ``key``) and ``overrides`` applied."""
        return jwt.encode(self.claims(**overrides), key or self.service.jwt_secret, algorithm)

    def open(self, token: str | None = None, **options: Any) -> websocket.WebSocket:
        """Open a socket (bearer header unless ``token`` is None) without reading."""
        if token is not None:
            options.setdefault("header", [f"Authorization: Bearer {token}"])
        return websocket.create_connection(self.ws_url, timeout=TIMEOUT, **options)

    def connect(self, token: str | None = None, **options: Any) -> websocket.WebSocket:
        """Open a socket, check the welcome message and return the socket."""
        ws = self.open(token if token is not None else self.token(), **options)
        welcome = json.loads(ws.recv())
        assert welcome["type"] == "welcome", welcome
        return ws

    def rejection(self, token: str | None = None, **options: Any) -> tuple[int, Any]:
        """Attempt a handshake that must be refused; return the status and JSON body."""
        with pytest.raises(websocket.WebSocketBadStatusException) as caught:
            self.open(token, **options).close()
        error = caught.value
        assert error.resp_headers is not None and error.resp_body is not None
        assert error.resp_headers["content-type"] == "application/json"
        return error.status_code, json.loads(error.resp_body)

    def metrics(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.http_url}/metrics", timeout=TIMEOUT).json())

    def open_connections(self, user: str | None = None) -> int:
        connections = self.metrics()["connections"]
        return int(connections["open"] if user is None else connections["per_user"].get(user, 0))


def send_json(ws: websocket.WebSocket, message: Any) -> Any:
    ws.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(ws.recv())


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``predicate``: the server handles a close a moment after the client sees it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def client(service: ServiceProcess) -> Client:
    return Client(service)


@pytest.fixture
def client_for() -> Callable[[ServiceProcess], Client]:
    return Client


@pytest.fixture
def ws_send() -> Callable[[websocket.WebSocket, Any], Any]:
    """``ws_send(ws, message)``: send JSON (or raw text) and return the parsed reply."""
    return send_json


@pytest.fixture
def poll() -> Callable[..., bool]:
    return wait_for


@pytest.fixture
def alice(client: Client) -> Iterator[websocket.WebSocket]:
    ws = client.connect()
    try:
        yield ws
    finally:
        ws.close()
