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
)


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
