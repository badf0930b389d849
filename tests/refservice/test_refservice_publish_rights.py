"""Who may publish to whom and subscribe to what; every event names its sender."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from refservice_wire import TIMEOUT, nothing_more, recv, request

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.protocol import may_publish_to, may_subscribe


@pytest.mark.parametrize(
    ("roles", "sender", "user", "allowed"),
    [
        ([], "alice", "alice", True),
        ([], "alice", "bob", False),
        ([], "alice", None, False),
        (["publisher"], "alice", "bob", True),
        (["publisher"], "alice", None, True),
        ("publisher", "alice", "bob", False),  # roles must be a list
    ],
)
def test_may_publish_to(roles: Any, sender: str, user: str | None, allowed: bool) -> None:
    assert may_publish_to({"roles": roles}, sender, user) is allowed


@pytest.mark.parametrize(
    ("topic", "allowed"),
    [("news", True), ("user.alice", True), ("user.alice.inbox", True), ("user.bob", False),
     ("user.bob.inbox", False), ("user.", False), ("users.bob", True)],
)  # fmt: skip
def test_may_subscribe(topic: str, allowed: bool) -> None:
    assert may_subscribe("alice", topic) is allowed


@pytest.fixture
def rights(make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]) -> Any:
    return client_for(make_service())


def test_a_user_publishes_only_to_their_own_queue(rights: Any) -> None:
    alice, bob = rights.connect(rights.token("alice")), rights.connect(rights.token("bob"))
    refused = request(alice, {"type": "publish", "id": 1, "to": {"user": "bob"}, "data": "spam"})
    assert (refused["type"], refused["code"], refused["id"]) == ("error", "forbidden", 1)
    topic = request(alice, {"type": "publish", "id": 2, "to": {"topic": "news"}, "data": "x"})
    assert topic["code"] == "forbidden"
    assert nothing_more(bob)
    assert rights.metrics()["queue"]["pending"].get("bob", 0) == 0
    own = request(alice, {"type": "publish", "id": 3, "to": {"user": "alice"}, "data": "note"})
    assert own["deliveries"] == [{"user": "alice", "seq": 1}]
    event = recv(alice)
    assert (event["data"], event["sender"]) == ("note", "alice")
    alice.close()
    bob.close()


def test_a_publisher_publishes_to_anyone_and_is_named_as_sender(rights: Any) -> None:
    bob = rights.connect(rights.token("bob"))
    publisher = rights.connect(rights.token("publisher"))
    answer = request(publisher, {"type": "publish", "id": 1, "to": {"user": "bob"}, "data": 1})
    assert answer["type"] == "published"
    assert recv(bob)["sender"] == "publisher"
    over_http = requests.post(
        f"{rights.http_url}/events",
        json={"user": "bob", "data": 2},
        headers={"Authorization": f"Bearer {rights.token('publisher')}"},
        timeout=TIMEOUT,
    )
    assert over_http.status_code == 201
    assert recv(bob)["sender"] == "publisher"
    bob.close()
    publisher.close()


def test_private_topics_are_their_owners_only(rights: Any) -> None:
    alice = rights.connect(rights.token("alice"))
    refused = request(alice, {"type": "subscribe", "id": 1, "topic": "user.bob.private"})
    assert (refused["code"], refused["field"]) == ("forbidden", "topic")
    for topic in ("user.alice.private", "news"):
        assert request(alice, {"type": "subscribe", "id": 2, "topic": topic})["type"] == (
            "subscribed"
        )
    alice.close()
