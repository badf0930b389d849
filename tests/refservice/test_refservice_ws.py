"""End-to-end WebSocket tests: handshake auth, messages, errors, metrics, size limit."""

from __future__ import annotations

import json
import struct
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import websocket

# --- handshake: carriers --------------------------------------------------------------


def test_bearer_header_carrier(client: Any) -> None:
    ws = client.open(client.token())
    welcome = json.loads(ws.recv())
    ws.close()
    assert welcome["type"] == "welcome"
    assert welcome["user"] == "alice"
    assert str(uuid.UUID(welcome["connection_id"])) == welcome["connection_id"]
    server_time = datetime.fromisoformat(welcome["server_time"].replace("Z", "+00:00"))
    assert abs(server_time - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_query_parameter_carrier(client: Any) -> None:
    ws = websocket.create_connection(f"{client.ws_url}?access_token={client.token('bob')}")
    assert json.loads(ws.recv())["user"] == "bob"
    ws.close()


def test_subprotocol_carrier_selects_bearer_without_echoing_token(client: Any) -> None:
    token = client.token("carol")
    ws = client.open(None, subprotocols=["bearer", token])
    assert ws.getsubprotocol() == "bearer"
    assert token not in str(ws.getheaders())
    assert json.loads(ws.recv())["user"] == "carol"
    ws.close()


def test_header_wins_over_query_and_subprotocol(client: Any) -> None:
    ws = websocket.create_connection(
        f"{client.ws_url}?access_token=garbage",
        header=[f"Authorization: Bearer {client.token('bob')}"],
        subprotocols=["bearer", "also-garbage"],
    )
    assert json.loads(ws.recv())["user"] == "bob"
    assert ws.getsubprotocol() == "bearer"
    ws.close()


def test_query_wins_over_subprotocol(client: Any) -> None:
    ws = websocket.create_connection(
        f"{client.ws_url}?access_token={client.token('carol')}",
        subprotocols=["bearer", "garbage"],
    )
    assert json.loads(ws.recv())["user"] == "carol"
    ws.close()


def test_bad_header_is_not_skipped(client: Any) -> None:
    status, body = client.rejection(
        None,
        header=["Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="],
        subprotocols=["bearer", client.token()],
    )
    assert (status, body["error"]) == (401, "malformed_token")


# --- handshake: rejections --------------------------------------------------------------

NOW = int(time.time())


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": NOW - 60}, "token_expired"),
        ({"nbf": NOW + 3600}, "token_not_yet_valid"),
        ({"key": "some-other-secret-with-enough-length"}, "invalid_signature"),
        ({"aud": "somebody-else"}, "invalid_audience"),
        ({"iss": "somebody-else"}, "invalid_issuer"),
        ({"algorithm": "HS384"}, "algorithm_not_allowed"),
        ({"algorithm": "none", "key": ""}, "algorithm_not_allowed"),
        ({"aud": None}, "missing_claim"),
        ({"sub": None}, "missing_claim"),
        ({"typ": "refresh"}, "wrong_token_type"),
        ({"sub": "mallory"}, "unknown_user"),
    ],
)
def test_forged_token_rejections(client: Any, overrides: dict[str, Any], reason: str) -> None:
    if overrides.get("algorithm") == "none":
        import jwt

        token = jwt.encode(client.claims(), "", "none")
    else:
        token = client.forge(**overrides)
    status, body = client.rejection(token)
    assert status == 401
    assert body["error"] == reason
    assert isinstance(body["message"], str) and body["message"]


def test_missing_token_rejection(client: Any) -> None:
    assert client.rejection(None) == (
        401,
        {"error": "missing_token", "message": "No token was supplied."},
    )


@pytest.mark.parametrize(
    "options",
    [
        {"header": ["Authorization: Bearer not.a.jwt"]},
        {"header": ["Authorization: Bearer"]},
        {"subprotocols": ["bearer", "garbage"]},
    ],
)
def test_malformed_token_rejection(client: Any, options: dict[str, Any]) -> None:
    status, body = client.rejection(None, **options)
    assert (status, body["error"]) == (401, "malformed_token")


def test_refresh_token_cannot_connect(client: Any) -> None:
    refresh = client.login()["refresh_token"]
    assert client.rejection(refresh)[1]["error"] == "wrong_token_type"


def test_rejected_handshakes_do_not_count_as_connections(client: Any) -> None:
    before = client.metrics()["connections"]["per_user"].get("mallory", 0)
    client.rejection(client.forge(sub="mallory"))
    assert client.metrics()["connections"]["per_user"].get("mallory", 0) == before == 0


def test_expired_after_short_ttl(make_service: Any, client_for: Any) -> None:
    short = client_for(make_service(access_token_ttl=0.3))
    token = short.token()
    short.connect(token).close()
    time.sleep(0.5)
    assert short.rejection(token)[1]["error"] == "token_expired"


# --- messages ----------------------------------------------------------------------------


@pytest.mark.parametrize("message_id", ["req-1", 42, 2.5])
def test_echo_with_id(alice: Any, ws_send: Any, message_id: Any) -> None:
    payload = {"text": "héllo ✓", "list": [1, None, True], "n": {"deep": [{}]}}
    reply = ws_send(alice, {"type": "echo", "id": message_id, "payload": payload})
    assert reply == {"type": "echo", "id": message_id, "payload": payload}


def test_binary_echo(alice: Any) -> None:
    data = bytes(range(256)) * 4
    alice.send_binary(data)
    opcode, echoed = alice.recv_data()
    assert opcode == websocket.ABNF.OPCODE_BINARY
    assert echoed == data


@pytest.mark.parametrize(
    ("message", "code", "extra"),
    [
        ("{oops", "invalid_json", {}),
        ("[1,2,3]", "not_an_object", {}),
        ('{"id": "m1"}', "missing_type", {"id": "m1"}),
        ('{"type": "teleport", "id": 5}', "unknown_type", {"id": 5}),
        ('{"type": ["echo"], "id": "m2"}', "invalid_field", {"field": "type", "id": "m2"}),
        ('{"type": "echo", "id": {"no": 1}}', "invalid_field", {"field": "id"}),
    ],
)
def test_errors_keep_connection_working(
    alice: Any, ws_send: Any, message: str, code: str, extra: dict[str, Any]
) -> None:
    reply = ws_send(alice, message)
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["message"]
    for name, value in extra.items():
        assert reply[name] == value
    if code == "unknown_type":
        assert "teleport" in reply["message"]
    assert ws_send(alice, {"type": "echo", "id": "after", "payload": 1}) == {
        "type": "echo",
        "id": "after",
        "payload": 1,
    }


# --- metrics -----------------------------------------------------------------------------


def test_metrics_follow_connections_and_messages(client: Any, ws_send: Any, poll: Any) -> None:
    token = client.token("carol")
    start = client.metrics()
    assert start["connections"]["per_user"].get("carol", 0) == 0
    first, second = client.connect(token), client.connect(token)
    during = client.metrics()
    assert during["connections"]["per_user"]["carol"] == 2
    assert during["connections"]["open"] == start["connections"]["open"] + 2
    ws_send(first, {"type": "echo", "payload": 1})
    ws_send(second, "not json")
    after_messages = client.metrics()["messages"]
    assert after_messages["received"] >= start["messages"]["received"] + 2
    assert after_messages["sent"] >= start["messages"]["sent"] + 4  # 2 welcomes + 2 replies
    first.close()
    assert poll(lambda: client.open_connections("carol") == 1)
    second.shutdown()  # abrupt: TCP closed without a close frame
    assert poll(lambda: client.open_connections("carol") == 0)
    assert "carol" not in client.metrics()["connections"]["per_user"]


def test_exact_message_counts_on_private_service(
    make_service: Any, client_for: Any, ws_send: Any, poll: Any
) -> None:
    private = client_for(make_service())
    ws = private.connect()
    for index in range(3):
        ws_send(ws, {"type": "echo", "id": index})
    ws.send_binary(b"\x01")
    ws.recv()
    metrics = private.metrics()
    assert metrics["messages"] == {"received": 4, "sent": 5}
    assert metrics["connections"] == {"open": 1, "per_user": {"alice": 1}}
    ws.close()
    assert poll(lambda: private.metrics()["connections"] == {"open": 0, "per_user": {}})


# --- size limit ---------------------------------------------------------------------------


def _close_code(ws: websocket.WebSocket) -> int:
    """Read until the close frame and return its status code."""
    while True:
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0])


@pytest.mark.parametrize("binary", [False, True])
def test_oversize_message_closes_1009_others_unaffected(
    make_service: Any, client_for: Any, ws_send: Any, poll: Any, binary: bool
) -> None:
    small = client_for(make_service(max_message_size=1024))
    big, bystander = small.connect(), small.connect()
    assert ws_send(big, {"type": "echo", "payload": "x" * 900})["payload"] == "x" * 900
    if binary:
        big.send_binary(b"\x00" * 1025)
    else:
        big.send(json.dumps({"type": "echo", "payload": "x" * 2000}))
    assert _close_code(big) == 1009
    big.close()
    assert ws_send(bystander, {"type": "echo", "id": "still-here"})["id"] == "still-here"
    assert poll(lambda: small.open_connections("alice") == 1)
    bystander.close()


def test_shutdown_closes_sockets_with_1012(make_service: Any, client_for: Any) -> None:
    process = make_service()
    ws = client_for(process).connect()
    assert process.stop() == 0
    assert _close_code(ws) == 1012
    ws.close()


def test_denials_do_not_log_errors(make_service: Any, client_for: Any) -> None:
    process = make_service()
    client_for(process).rejection(None)
    process.stop()
    log = process.log_file.read_text()
    assert "401" in log
    assert "ERROR" not in log


# --- application ping ------------------------------------------------------------------


def test_application_ping_gets_pong_with_server_time(alice: Any, ws_send: Any) -> None:
    reply = ws_send(alice, {"type": "ping", "id": "p-1"})
    assert set(reply) == {"type", "id", "server_time"}
    assert (reply["type"], reply["id"]) == ("pong", "p-1")
    server_time = datetime.fromisoformat(reply["server_time"].replace("Z", "+00:00"))
    assert abs(server_time - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert ws_send(alice, {"type": "ping"})["type"] == "pong"
