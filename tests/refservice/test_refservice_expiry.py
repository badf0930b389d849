"""A token that expires on an open connection: auth.expiring, 4001, or an in-band refresh."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import websocket
from refservice_wire import recv, request

from ReferenceServiceLibrary.process import ServiceProcess

TTL = 2.5
WARNING = 1.0
# How late the close may come after exp: the event loop's timer plus a loaded machine.
CLOSE_TOLERANCE = 1.0


@pytest.fixture
def expiring(make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]) -> Any:
    return client_for(make_service(access_token_ttl=TTL, expiry_warning=WARNING))


def expiry_of(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


def reply_to(ws: websocket.WebSocket, message: dict[str, Any], pushed: list[Any]) -> Any:
    """Send ``message``; its reply, keeping what the server pushed meanwhile in ``pushed``."""
    ws.send(json.dumps(message))
    while True:
        answer = recv(ws)
        if answer.get("id") == message["id"]:
            return answer
        pushed.append(answer)


def close_of(ws: websocket.WebSocket, timeout: float) -> tuple[int, str, float]:
    """Read until the server's close frame; its code, reason and arrival time."""
    ws.settimeout(timeout)
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(frame.data[:2], "big")
            return code, frame.data[2:].decode(), time.time()


def test_a_connection_is_warned_then_closed_with_4001_when_its_token_expires(expiring):
    token = expiring.token()
    expires = expiry_of(token)
    ws = expiring.connect(token)
    assert request(ws, {"type": "echo", "id": 1})["type"] == "echo"
    warning = recv(ws)
    arrived = time.time()
    assert warning["type"] == "auth.expiring", warning
    assert 0 < warning["expires_in"] <= WARNING + 0.05
    assert expires - WARNING - 0.05 <= arrived < expires
    code, reason, closed_at = close_of(ws, TTL + 2)
    assert (code, reason) == (4001, "token expired")
    assert expires <= closed_at <= expires + CLOSE_TOLERANCE, closed_at - expires


def test_an_in_band_refresh_keeps_the_connection_its_id_and_subscriptions(expiring):
    token = expiring.token()
    ws = expiring.connect(token)
    first = request(ws, {"type": "presence", "id": "p1"})
    assert request(ws, {"type": "subscribe", "topic": "kept", "id": "s"})["type"] == "subscribed"
    assert recv(ws)["type"] == "auth.expiring"
    fresh = expiring.token()
    refreshed = request(ws, {"type": "auth.refresh", "id": "r", "access_token": fresh})
    assert refreshed["type"] == "auth.refreshed", refreshed
    assert refreshed["expires_at"].endswith("Z")
    # Past the first token's exp the connection still works, as the same tab.
    time.sleep(max(expiry_of(token) + CLOSE_TOLERANCE - time.time(), 0))
    pushed: list[Any] = []
    second = reply_to(ws, {"type": "presence", "id": "p2"}, pushed)
    assert second["connection_id"] == first["connection_id"]
    unsubscribed = reply_to(ws, {"type": "unsubscribe", "topic": "kept", "id": "u"}, pushed)
    assert unsubscribed["type"] == "unsubscribed"
    # And the new token expires in turn.
    if not pushed:
        pushed.append(recv(ws))
    assert [message["type"] for message in pushed] == ["auth.expiring"]
    code, _, closed_at = close_of(ws, TTL + 2)
    assert code == 4001 and closed_at >= expiry_of(fresh)


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda client: client.token("bob"), "other_user"),
        (lambda client: "not-a-jwt", "malformed_token"),
        (lambda client: client.login()["refresh_token"], "wrong_token_type"),
    ],
)
def test_a_refused_refresh_is_an_error_and_the_old_expiry_stands(expiring, make_token, reason):
    token = expiring.token()
    ws = expiring.connect(token)
    answer = request(ws, {"type": "auth.refresh", "id": "r", "access_token": make_token(expiring)})
    assert (answer["type"], answer["code"], answer["reason"]) == ("error", "invalid_token", reason)
    assert recv(ws)["type"] == "auth.expiring"
    code, _, closed_at = close_of(ws, TTL + 2)
    assert code == 4001
    assert closed_at <= expiry_of(token) + CLOSE_TOLERANCE


def test_the_refresh_message_needs_a_token(expiring):
    ws = expiring.connect()
    pushed: list[Any] = []
    answer = reply_to(ws, {"type": "auth.refresh", "id": "r", "access_token": 5}, pushed)
    assert (answer["code"], answer["field"]) == ("invalid_field", "access_token")
    assert reply_to(ws, {"type": "echo", "id": 2}, pushed)["type"] == "echo"
    ws.close()
