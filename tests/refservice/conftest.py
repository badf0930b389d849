"""Helpers for the reference service tests, offered as fixtures.

``client`` talks to the session-wide ``service``; ``client_for(process)`` builds one for a
private service made with ``make_service``. Helpers are fixtures (not an importable
module) so the tests work under any pytest import mode.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
import websocket
from token_claims import access_claims

from ReferenceServiceLibrary.process import ServiceProcess

TIMEOUT = 5.0
# The seeded account whose tokens carry the metrics role (GET /metrics needs it).
OPERATOR = "operator"


class Client:
    """Small test client for one running reference service."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.http_url = service.http_url
        self.ws_url = service.ws_url
        self._operator_token: str | None = None

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
        return access_claims(
            issuer=self.service.issuer, audience=self.service.audience, **overrides
        )

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

    def get_metrics(self, token: str | None = None) -> requests.Response:
        """``GET /metrics`` with ``token`` as its Bearer credential (``None``: no header)."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return requests.get(f"{self.http_url}/metrics", headers=headers, timeout=TIMEOUT)

    def metrics(self) -> dict[str, Any]:
        """The ``/metrics`` document, read with an operator token (kept; renewed on a 401)."""
        response = None if self._operator_token is None else self.get_metrics(self._operator_token)
        if response is None or response.status_code == 401:  # 401: e.g. a short access_token_ttl
            self._operator_token = self.token(OPERATOR)
            response = self.get_metrics(self._operator_token)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def open_connections(self, user: str | None = None) -> int:
        connections = self.metrics()["connections"]
        return int(connections["open"] if user is None else connections["per_user"].get(user, 0))


class RawSocket:
    """A WebSocket client written by hand on a plain TCP socket.

    It does only what a test tells it to: it never answers pings, never closes politely,
    and can send frames no well-behaved library would (bad opcodes, unmasked, bad UTF-8).
    """

    OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

    def __init__(self, ws_url: str, token: str, timeout: float = TIMEOUT) -> None:
        url = urlsplit(ws_url)
        assert url.hostname is not None and url.port is not None
        self.sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, f"connection closed during the handshake: {self.buffer!r}"
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.status_line = head.split(b"\r\n", 1)[0].decode()
        assert " 101 " in self.status_line, head

    # --- sending -----------------------------------------------------------------

    @staticmethod
    def frame(
        opcode: int,
        payload: bytes = b"",
        *,
        fin: bool = True,
        rsv: int = 0,
        mask: bool = True,
        length: int | None = None,
    ) -> bytes:
        """Encode one frame; ``length`` overrides the advertised payload length."""
        length = len(payload) if length is None else length
        head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
        mask_bit = 0x80 if mask else 0
        if length < 126:
            head += bytes([mask_bit | length])
        elif length < 1 << 16:
            head += bytes([mask_bit | 126]) + struct.pack("!H", length)
        else:
            head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
        if not mask:
            return head + payload
        key = os.urandom(4)
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    def send_frame(self, opcode: int, payload: bytes = b"", **options: Any) -> None:
        self.sock.sendall(self.frame(opcode, payload, **options))

    def send_text(self, text: str) -> None:
        self.send_frame(self.OP_TEXT, text.encode())

    # --- receiving ---------------------------------------------------------------

    def _read_exactly(self, count: int) -> bytes | None:
        while len(self.buffer) < count:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_frame(self) -> tuple[int, bytes] | None:
        """The next ``(opcode, payload)`` from the server, or ``None`` at end of stream."""
        head = self._read_exactly(2)
        if head is None:
            return None
        length = head[1] & 0x7F
        if length == 126:
            raw = self._read_exactly(2)
            length = struct.unpack("!H", raw)[0] if raw else 0
        elif length == 127:
            raw = self._read_exactly(8)
            length = struct.unpack("!Q", raw)[0] if raw else 0
        payload = self._read_exactly(length) if length else b""
        if payload is None:
            return None
        return head[0] & 0x0F, payload

    def read_text(self) -> Any:
        frame = self.read_frame()
        assert frame is not None and frame[0] == self.OP_TEXT, frame
        return json.loads(frame[1])

    def read_until_close(self) -> tuple[int | None, str, list[int]]:
        """Read to the close frame: ``(code, reason, opcodes seen before it)``.

        ``code`` is ``None`` when the stream ended without a close frame.
        """
        seen: list[int] = []
        while (frame := self.read_frame()) is not None:
            opcode, payload = frame
            if opcode == self.OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, payload[2:].decode(errors="replace"), seen
            seen.append(opcode)
        return None, "", seen

    def at_eof(self) -> bool:
        """Whether the server has closed the TCP connection (after any buffered data)."""
        return self._read_exactly(len(self.buffer) + 1) is None

    def close(self) -> None:
        self.sock.close()


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
def raw_socket() -> Iterator[Callable[..., RawSocket]]:
    """``raw_socket(ws_url, token)``: a hand-made :class:`RawSocket`, closed at teardown."""
    opened: list[RawSocket] = []

    def open_raw(ws_url: str, token: str, timeout: float = TIMEOUT) -> RawSocket:
        raw = RawSocket(ws_url, token, timeout)
        opened.append(raw)
        return raw

    try:
        yield open_raw
    finally:
        for raw in opened:
            raw.close()


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
