"""Tabs: many connections per user, fan-out to all of them, presence, seeded users."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import websocket
from refservice_wire import TIMEOUT, nothing_more, recv, request

from ReferenceServiceLibrary.process import ServiceProcess


class Tabs:
    """Opens tabs (connections) for users of one service and closes them at the end."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.opened: list[websocket.WebSocket] = []
        self.publisher = {"Authorization": f"Bearer {client.token('publisher')}"}

    def open(self, user: str, token: str | None = None) -> tuple[websocket.WebSocket, str]:
        """A tab of ``user`` past its welcome; returns it with its connection id."""
        ws = self.client.connect(token or self.client.token(user))
        self.opened.append(ws)
        presence = request(ws, {"type": "presence", "id": "whoami"})
        return ws, presence["connection_id"]

    def publish(self, **body: Any) -> list[dict[str, Any]]:
        response = requests.post(
            f"{self.client.http_url}/events", json=body, headers=self.publisher, timeout=TIMEOUT
        )
        assert response.status_code == 201, response.text
        return list(response.json()["deliveries"])

    def close_all(self) -> None:
        for ws in self.opened:
            ws.close()


@pytest.fixture
def tabs(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> Iterator[Tabs]:
    # A private service: the events published here would reach other tests' connections.
    opened = Tabs(client_for(make_service()))
    try:
        yield opened
    finally:
        opened.close_all()


def presence(ws: websocket.WebSocket) -> dict[str, Any]:
    return request(ws, {"type": "presence", "id": str(uuid.uuid4())})


def test_each_tab_has_its_own_id_and_presence_lists_them_oldest_first(tabs: Tabs) -> None:
    opened = [tabs.open("alice") for _ in range(3)]
    ids = [connection_id for _, connection_id in opened]
    assert len(set(ids)) == 3
    answer = presence(opened[1][0])
    assert answer["user"] == "alice"
    assert answer["connection_id"] == ids[1]
    assert [tab["connection_id"] for tab in answer["connections"]] == ids
    assert answer["count"] == 3
    assert all(tab["opened_at"].endswith("Z") for tab in answer["connections"])


def test_an_event_for_a_user_reaches_all_their_tabs_and_no_other_user(tabs: Tabs) -> None:
    carol_tabs = [tabs.open("carol")[0] for _ in range(3)]
    bob_tab, _ = tabs.open("bob")
    marker = str(uuid.uuid4())
    (delivery,) = tabs.publish(user="carol", data={"marker": marker})
    for ws in carol_tabs:
        event = recv(ws)
        assert event["type"] == "event" and event["data"] == {"marker": marker}, event
        assert event["seq"] == delivery["seq"]
    assert nothing_more(bob_tab)
    # Each tab got it once.
    assert all(nothing_more(ws) for ws in carol_tabs)


def test_a_topic_event_reaches_every_tab_of_every_subscriber(tabs: Tabs) -> None:
    topic = f"news-{uuid.uuid4()}"
    subscribers = {user: [tabs.open(user)[0] for _ in range(2)] for user in ("alice", "bob")}
    outsider, _ = tabs.open("carol")
    for first, _second in subscribers.values():
        assert request(first, {"type": "subscribe", "topic": topic, "id": "s"})["type"] == (
            "subscribed"
        )
    deliveries = tabs.publish(topic=topic, data="hello")
    assert sorted(d["user"] for d in deliveries) == ["alice", "bob"]
    for user_tabs in subscribers.values():
        for ws in user_tabs:
            event = recv(ws)
            assert (event["type"], event["topic"], event["data"]) == ("event", topic, "hello")
    assert nothing_more(outsider)


def test_closing_one_tab_leaves_the_others_working(
    tabs: Tabs, poll: Callable[..., bool], ws_send: Callable[..., Any]
) -> None:
    opened = [tabs.open("bob") for _ in range(3)]
    (first, _), (middle, middle_id), (last, _) = opened
    middle.close()
    assert poll(
        lambda: middle_id not in [t["connection_id"] for t in presence(first)["connections"]]
    )
    for ws in (first, last):
        assert ws_send(ws, {"type": "echo", "id": 1, "payload": "still here"})["payload"] == (
            "still here"
        )
    marker = str(uuid.uuid4())
    tabs.publish(user="bob", data=marker)
    assert [recv(ws)["data"] for ws in (first, last)] == [marker, marker]


def test_seeded_users_log_in_and_connect(make_service: Callable[..., ServiceProcess]) -> None:
    service = make_service(seed_users=300, seed_user_pattern="tab-{i}:secret-{i}:publisher")
    login = requests.post(
        f"{service.http_url}/auth/login",
        json={"username": "tab-300", "password": "secret-300"},
        timeout=TIMEOUT,
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    wrong = requests.post(
        f"{service.http_url}/auth/login",
        json={"username": "tab-300", "password": "secret-299"},
        timeout=TIMEOUT,
    )
    assert wrong.status_code == 401
    ws = websocket.create_connection(
        service.ws_url, header=[f"Authorization: Bearer {token}"], timeout=TIMEOUT
    )
    try:
        assert json.loads(ws.recv())["user"] == "tab-300"
    finally:
        ws.close()
    # The pattern's role: a seeded publisher may publish over HTTP; the default users stay.
    published = requests.post(
        f"{service.http_url}/events",
        json={"user": "alice", "data": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert published.status_code == 201, published.text
