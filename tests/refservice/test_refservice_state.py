"""State sync: per-user JSON documents with versions, patches, conflicts and catch-up."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websocket
from refservice_wire import nothing_more, recv

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.protocol import Protocol, Session
from refservice.store import Store, merge_patch


def request(ws: websocket.WebSocket, message: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps(message))
    return recv(ws)


# --- merge patch and store, no sockets ----------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ],
)
def test_merge_patch_rfc_7386_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_protocol_state_without_sockets(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        protocol = Protocol(store=store, state_history=2)
        one, other = Session(user="alice"), Session(user="alice")

        def send(session: Session, message: dict[str, Any]) -> list[Any]:
            session.effects.clear()
            return protocol.receive_text(session, json.dumps(message))

        assert send(one, {"type": "state.get", "id": 1}) == [
            {"type": "state", "id": 1, "version": 0, "doc": {}}
        ]
        patched = send(one, {"type": "state.patch", "id": 2, "base_version": 0, "patch": {"x": 1}})
        assert patched == [{"type": "state.patched", "id": 2, "version": 1}]
        assert [type(effect).__name__ for effect in one.effects] == ["SendToOthers"]
        (conflict,) = send(
            other, {"type": "state.patch", "id": 3, "base_version": 0, "patch": {"x": 2}}
        )
        assert conflict["code"] == "conflict"
        assert (conflict["current_version"], conflict["doc"]) == (1, {"x": 1})
        assert other.effects == []
        for bad in ({"base_version": -1, "patch": {}}, {"base_version": 1, "patch": [1]}):
            (error,) = send(one, {"type": "state.patch", "id": 4, **bad})
            assert error["code"] == "invalid_field"


# --- end to end -----------------------------------------------------------------------


@pytest.fixture
def state_service(make_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    return make_service(state_history=3)


def test_patch_conflict_and_broadcast(state_service: ServiceProcess, client_for: Any) -> None:
    client = client_for(state_service)
    alice_one, alice_two, bob = (
        client.connect(),
        client.connect(),
        client.connect(client.token("bob")),
    )
    assert request(alice_one, {"type": "state.get", "id": "g"}) == {
        "type": "state",
        "id": "g",
        "version": 0,
        "doc": {},
    }
    patch = {"theme": "dark", "tabs": {"a": 1, "b": 2}}
    reply = request(alice_one, {"type": "state.patch", "id": 1, "base_version": 0, "patch": patch})
    assert reply == {"type": "state.patched", "id": 1, "version": 1}
    assert recv(alice_two) == {"type": "state.updated", "version": 1, "patch": patch}
    assert nothing_more(alice_one) and nothing_more(bob)

    stale = request(alice_two, {"type": "state.patch", "id": 2, "base_version": 0, "patch": {}})
    assert stale["type"] == "error" and stale["code"] == "conflict" and stale["id"] == 2
    assert (stale["current_version"], stale["doc"]) == (1, patch)
    assert nothing_more(alice_one)

    removal = {"tabs": {"a": None}, "theme": None}
    reply = request(
        alice_two, {"type": "state.patch", "id": 3, "base_version": 1, "patch": removal}
    )
    assert reply["version"] == 2
    assert recv(alice_one) == {"type": "state.updated", "version": 2, "patch": removal}
    assert request(alice_one, {"type": "state.get", "id": "g"})["doc"] == {"tabs": {"b": 2}}
    # Another user's document is separate.
    assert request(bob, {"type": "state.get", "id": "g"})["version"] == 0
    for ws in (alice_one, alice_two, bob):
        ws.close()


def test_resume_with_patches_and_with_snapshot(
    state_service: ServiceProcess, client_for: Any
) -> None:
    client = client_for(state_service)
    ws = client.connect(client.token("carol"))
    for version in range(5):
        request(
            ws,
            {
                "type": "state.patch",
                "id": version,
                "base_version": version,
                "patch": {"n": version},
            },
        )
    ws.close()
    ws = client.connect(client.token("carol"))
    # Versions 3, 4 and 5 are kept (state_history=3): a client at 2 gets patches.
    ws.send(json.dumps({"type": "state.resume", "id": "r", "version": 2}))
    assert [recv(ws) for _ in range(4)] == [
        {"type": "state.updated", "version": 3, "patch": {"n": 2}},
        {"type": "state.updated", "version": 4, "patch": {"n": 3}},
        {"type": "state.updated", "version": 5, "patch": {"n": 4}},
        {"type": "state.resumed", "id": "r", "version": 5, "mode": "patches"},
    ]
    # Up to date: nothing to send.
    assert request(ws, {"type": "state.resume", "id": "r", "version": 5}) == {
        "type": "state.resumed",
        "id": "r",
        "version": 5,
        "mode": "patches",
    }
    # Too far behind (patch 2 is gone), or ahead of the server: a snapshot.
    for version in (1, 0, 9):
        ws.send(json.dumps({"type": "state.resume", "id": "s", "version": version}))
        assert [recv(ws) for _ in range(2)] == [
            {"type": "state", "id": "s", "version": 5, "doc": {"n": 4}},
            {"type": "state.resumed", "id": "s", "version": 5, "mode": "snapshot"},
        ]
    bad = request(ws, {"type": "state.resume", "id": "b", "version": "2"})
    assert (bad["code"], bad["field"]) == ("invalid_field", "version")
    ws.close()


def test_state_survives_kill_9(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    service = make_service()
    ws = client_for(service).connect()
    request(ws, {"type": "state.patch", "id": 1, "base_version": 0, "patch": {"a": {"b": 1}}})
    request(ws, {"type": "state.patch", "id": 2, "base_version": 1, "patch": {"c": True}})
    service.kill()
    service.start()
    ws = client_for(service).connect()
    ws.send(json.dumps({"type": "state.resume", "id": "r", "version": 1}))
    assert [recv(ws) for _ in range(2)] == [
        {"type": "state.updated", "version": 2, "patch": {"c": True}},
        {"type": "state.resumed", "id": "r", "version": 2, "mode": "patches"},
    ]
    assert request(ws, {"type": "state.get", "id": "g"})["doc"] == {"a": {"b": 1}, "c": True}
    ws.close()
