"""protocol.py without any socket: frames in, replies out."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from refservice.protocol import (
    ERROR_CODES,
    Message,
    Protocol,
    ProtocolError,
    Reply,
    Session,
    TokenRefreshed,
    auth_expiring,
    encode,
)
from refservice.tokens import TokenError


@pytest.fixture
def protocol() -> Protocol:
    return Protocol()


@pytest.fixture
def session() -> Session:
    return Session(user="alice")


def one(replies: list[Reply]) -> Any:
    assert len(replies) == 1
    return replies[0]


def test_welcome(protocol: Protocol, session: Session) -> None:
    welcome = protocol.welcome(session)
    assert welcome["type"] == "welcome"
    assert welcome["user"] == "alice"
    assert str(uuid.UUID(welcome["connection_id"])) == welcome["connection_id"]
    assert welcome["server_time"].endswith("Z")
    datetime.fromisoformat(welcome["server_time"].replace("Z", "+00:00"))


@pytest.mark.parametrize("message_id", ["abc", 7, 1.5, ""])
def test_echo_keeps_id_and_payload(protocol: Protocol, session: Session, message_id: Any) -> None:
    payload = {"nested": [1, "two", None, {"x": True}]}
    text = json.dumps({"type": "echo", "id": message_id, "payload": payload})
    assert one(protocol.receive_text(session, text)) == {
        "type": "echo",
        "id": message_id,
        "payload": payload,
    }


def test_echo_without_id_or_payload(protocol: Protocol, session: Session) -> None:
    assert one(protocol.receive_text(session, '{"type":"echo"}')) == {"type": "echo"}


def test_binary_is_echoed_unchanged(protocol: Protocol, session: Session) -> None:
    data = bytes(range(256))
    assert one(protocol.receive_bytes(session, data)) == data


@pytest.mark.parametrize(
    ("text", "code", "extra"),
    [
        ("{not json", "invalid_json", {}),
        ("", "invalid_json", {}),
        ('{"type": "echo", "payload": NaN}', "invalid_json", {}),
        ('{"type": "echo", "payload": 1e400}', "invalid_json", {}),
        ('{"type": "echo", "id": -1e999}', "invalid_json", {}),
        ("[" * 5000 + "]" * 5000, "invalid_json", {}),
        ("[1, 2]", "not_an_object", {}),
        ('"echo"', "not_an_object", {}),
        ("null", "not_an_object", {}),
        ('{"id": 3}', "missing_type", {"id": 3}),
        ('{"payload": 1}', "missing_type", {}),
        ('{"type": "nope", "id": "x"}', "unknown_type", {"id": "x"}),
        ('{"type": 5, "id": "x"}', "invalid_field", {"field": "type", "id": "x"}),
        ('{"type": "echo", "id": [1]}', "invalid_field", {"field": "id"}),
        ('{"type": "echo", "id": true}', "invalid_field", {"field": "id"}),
        ('{"type": "echo", "id": null}', "invalid_field", {"field": "id"}),
    ],
)
def test_errors(
    protocol: Protocol, session: Session, text: str, code: str, extra: dict[str, Any]
) -> None:
    reply = one(protocol.receive_text(session, text))
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert isinstance(reply["message"], str) and reply["message"]
    for name, value in extra.items():
        assert reply[name] == value
    if "id" not in extra:
        assert "id" not in reply
    assert code in ERROR_CODES


def test_unknown_type_is_named(protocol: Protocol, session: Session) -> None:
    assert "'frobnicate'" in one(protocol.receive_text(session, '{"type":"frobnicate"}'))["message"]


def test_dispatch_table_accepts_new_handlers(protocol: Protocol, session: Session) -> None:
    def whoami(session: Session, message: Message) -> list[Reply]:
        if message.body.get("fail"):
            raise ProtocolError("invalid_field", "No.", field="fail")
        return [{"type": "whoami", "user": session.user}]

    protocol.register("whoami", whoami)
    assert one(protocol.receive_text(session, '{"type":"whoami"}')) == {
        "type": "whoami",
        "user": "alice",
    }
    error = one(protocol.receive_text(session, '{"type":"whoami","id":9,"fail":1}'))
    assert error == {
        "type": "error",
        "code": "invalid_field",
        "message": "No.",
        "field": "fail",
        "id": 9,
    }


def test_custom_table_replaces_defaults(session: Session) -> None:
    protocol = Protocol(handlers={})
    assert one(protocol.receive_text(session, '{"type":"echo"}'))["code"] == "unknown_type"


@pytest.mark.parametrize("message_id", ["p1", 3, None])
def test_ping_is_answered_with_pong(protocol: Protocol, session: Session, message_id: Any) -> None:
    body: dict[str, Any] = {"type": "ping"}
    if message_id is not None:
        body["id"] = message_id
    reply = one(protocol.receive_text(session, json.dumps(body)))
    assert reply["type"] == "pong"
    assert reply.get("id") == message_id
    assert ("id" in reply) == (message_id is not None)
    datetime.fromisoformat(reply["server_time"].replace("Z", "+00:00"))


def test_handler_bug_becomes_internal_error(protocol: Protocol, session: Session) -> None:
    def broken(session: Session, message: Message) -> list[Reply]:
        raise KeyError("bug")

    protocol.register("broken", broken)
    assert one(protocol.receive_text(session, '{"type":"broken","id":"b1"}')) == {
        "type": "error",
        "code": "internal_error",
        "message": "The service failed to handle this message.",
        "id": "b1",
    }
    assert one(protocol.receive_text(session, '{"type":"echo","id":2}')) == {
        "type": "echo",
        "id": 2,
    }


def test_encode_is_strict_json() -> None:
    assert encode({"type": "echo", "id": 1}) == '{"type":"echo","id":1}'
    assert encode(b"\x00\xff") == b"\x00\xff"
    with pytest.raises(ValueError):
        encode({"type": "echo", "payload": float("inf")})


@pytest.mark.parametrize("message_id", ["p1", 3, None])
def test_presence_lists_the_asking_users_tabs(session: Session, message_id: Any) -> None:
    tabs = [
        {"connection_id": session.connection_id, "opened_at": session.opened_at},
        {"connection_id": "other-tab", "opened_at": "2026-01-01T00:00:00.000Z"},
    ]
    asked: list[str] = []

    def source(user: str) -> list[dict[str, Any]]:
        asked.append(user)
        return tabs

    protocol = Protocol(presence=source)
    body: dict[str, Any] = {"type": "presence"}
    if message_id is not None:
        body["id"] = message_id
    reply = one(protocol.receive_text(session, json.dumps(body)))
    expected: dict[str, Any] = {
        "type": "presence",
        "user": "alice",
        "connection_id": session.connection_id,
        "count": 2,
        "connections": tabs,
    }
    if message_id is not None:
        expected["id"] = message_id
    assert reply == expected
    assert asked == ["alice"]


def test_presence_is_unknown_without_a_source(protocol: Protocol, session: Session) -> None:
    assert one(protocol.receive_text(session, '{"type":"presence"}'))["code"] == "unknown_type"


def test_every_session_has_its_own_id_and_opening_time() -> None:
    first, second = Session(user="alice"), Session(user="alice")
    assert first.connection_id != second.connection_id
    datetime.fromisoformat(first.opened_at.replace("Z", "+00:00"))


def refresh_protocol(claims: dict[str, Any] | None) -> Protocol:
    def verify(token: str) -> dict[str, Any]:
        if claims is None:
            raise TokenError("token_expired")
        return claims

    return Protocol(verify_access_token=verify)


def test_auth_refresh_replaces_the_claims_and_says_when_they_expire(session: Session) -> None:
    claims = {"sub": "alice", "exp": 1_900_000_000.5}
    protocol = refresh_protocol(claims)
    reply = one(protocol.receive_text(session, '{"type":"auth.refresh","id":3,"access_token":"t"}'))
    assert reply == {"type": "auth.refreshed", "id": 3, "expires_at": "2030-03-17T17:46:40.500Z"}
    assert session.claims == claims
    assert session.effects == [TokenRefreshed(1_900_000_000.5)]


@pytest.mark.parametrize(
    ("claims", "reason"), [(None, "token_expired"), ({"sub": "bob", "exp": 1}, "other_user")]
)
def test_auth_refresh_refusals_keep_the_old_claims(
    session: Session, claims: dict[str, Any] | None, reason: str
) -> None:
    session.claims = {"sub": "alice", "exp": 5}
    reply = one(refresh_protocol(claims).receive_text(
        session, '{"type":"auth.refresh","access_token":"t"}'
    ))  # fmt: skip
    assert (reply["code"], reply["reason"]) == ("invalid_token", reason)
    assert session.claims == {"sub": "alice", "exp": 5}
    assert session.effects == []


def test_auth_expiring_counts_down_to_the_expiry() -> None:
    assert auth_expiring(1_900_000_030.0, 1_900_000_000.0) == {
        "type": "auth.expiring",
        "expires_at": "2030-03-17T17:47:10.000Z",
        "expires_in": 30.0,
    }
    assert auth_expiring(10.0, 20.0)["expires_in"] == 0.0
