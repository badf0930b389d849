"""Durable per-user event queue, end to end: real service processes and real sockets."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
import websocket
from refservice_wire import TIMEOUT, nothing_more, recv, request

from ReferenceServiceLibrary.process import ServiceProcess


class Queue:
    """Publishes over HTTP as the seeded publisher and opens sockets for one service."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {client.token('publisher')}"}

    def post(self, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(
            f"{self.client.http_url}/events",
            json=body,
            headers=self.headers if headers is None else headers,
            timeout=TIMEOUT,
        )

    def publish(self, user: str, data: Any) -> int:
        response = self.post({"user": user, "data": data})
        assert response.status_code == 201, response.text
        (delivery,) = response.json()["deliveries"]
        assert delivery["user"] == user
        return int(delivery["seq"])

    def connect(self, user: str, query: str = "") -> tuple[websocket.WebSocket, dict[str, Any]]:
        ws = websocket.create_connection(
            self.client.ws_url + query,
            header=[f"Authorization: Bearer {self.client.token(user)}"],
            timeout=TIMEOUT,
        )
        welcome = json.loads(ws.recv())
        assert welcome["type"] == "welcome", welcome
        return ws, welcome


def events(ws: websocket.WebSocket, count: int) -> list[dict[str, Any]]:
    received = [recv(ws) for _ in range(count)]
    assert all(event["type"] == "event" for event in received), received
    return received


def seqs(received: list[dict[str, Any]]) -> list[int]:
    return [event["seq"] for event in received]


def test_publish_over_http_is_delivered_live(service: ServiceProcess, client: Any) -> None:
    queue = Queue(client)
    ws, welcome = queue.connect("carol")
    start = welcome["latest_seq"]
    assert welcome["last_acked_seq"] <= start
    request(ws, {"type": "ack", "id": "a0", "seq": start})
    seq = queue.publish("carol", {"hello": [1, 2]})
    assert seq == start + 1
    event = recv(ws)
    assert event["type"] == "event" and event["seq"] == seq
    assert event["topic"] is None and event["data"] == {"hello": [1, 2]}
    assert str(uuid.UUID(event["event_id"])) == event["event_id"]
    datetime.fromisoformat(event["published_at"].replace("Z", "+00:00"))
    ws.close()


def test_http_publish_refusals(client: Any) -> None:
    queue = Queue(client)
    url = f"{client.http_url}/events"
    no_token = requests.post(url, json={"user": "bob", "data": 1}, timeout=TIMEOUT)
    assert (no_token.status_code, no_token.json()["error"]) == (401, "missing_token")
    garbage = queue.post({"user": "bob", "data": 1}, {"Authorization": "Bearer x.y.z"})
    assert (garbage.status_code, garbage.json()["error"]) == (401, "malformed_token")
    alice = queue.post({"user": "bob", "data": 1}, {"Authorization": f"Bearer {client.token()}"})
    assert (alice.status_code, alice.json()["error"]) == (403, "forbidden")
    unknown = queue.post({"user": "nobody", "data": 1})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_user")
    for body in ({"user": "bob"}, {"user": "bob", "topic": "t", "data": 1}, {"data": 1}, [1]):
        response = queue.post(body)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_publisher_token_carries_roles(client: Any) -> None:
    import jwt

    publisher = jwt.decode(client.token("publisher"), options={"verify_signature": False})
    alice = jwt.decode(client.token("alice"), options={"verify_signature": False})
    assert publisher["roles"] == ["publisher"]
    assert alice["roles"] == []


def test_concurrent_publishers_give_gap_free_seqs(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    queue = Queue(client_for(make_service()))
    ws, welcome = queue.connect("bob")
    assert (welcome["last_acked_seq"], welcome["latest_seq"]) == (0, 0)
    got: list[int] = []
    lock = threading.Lock()

    def publisher(number: int) -> None:
        with requests.Session() as session:
            for n in range(50):
                response = session.post(
                    f"{queue.client.http_url}/events",
                    json={"user": "bob", "data": {"p": number, "n": n}},
                    headers=queue.headers,
                    timeout=TIMEOUT,
                )
                assert response.status_code == 201, response.text
                with lock:
                    got.append(response.json()["deliveries"][0]["seq"])

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(4)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert sorted(got) == list(range(1, 201))
    received = events(ws, 200)
    assert seqs(received) == list(range(1, 201))
    # Each publisher's own events keep their order too.
    for number in range(4):
        mine = [event["data"]["n"] for event in received if event["data"]["p"] == number]
        assert mine == list(range(50))
    print(f"200 HTTP publishes from 4 threads in {elapsed:.2f}s ({200 / elapsed:.0f}/s)")
    metrics = queue.client.metrics()["queue"]
    assert metrics["published"] == 200 and metrics["delivered"] >= 200
    assert metrics["pending"] == {"bob": 200}
    ws.close()


def test_ack_is_cumulative_across_connections(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    queue = Queue(client_for(make_service()))
    first, _ = queue.connect("bob")
    second, _ = queue.connect("bob")
    for n in range(5):
        queue.publish("bob", n)
    assert seqs(events(first, 5)) == [1, 2, 3, 4, 5]
    assert seqs(events(second, 5)) == [1, 2, 3, 4, 5]
    assert request(first, {"type": "ack", "id": 1, "seq": 3}) == {
        "type": "acked",
        "id": 1,
        "seq": 3,
    }
    # An older ack changes nothing; an ack beyond the latest seq is refused.
    assert request(second, {"type": "ack", "id": 2, "seq": 2})["type"] == "acked"
    beyond = request(second, {"type": "ack", "id": 3, "seq": 6})
    assert (beyond["type"], beyond["code"], beyond["field"]) == ("error", "invalid_field", "seq")
    bad = request(second, {"type": "ack", "id": 4, "seq": "3"})
    assert (bad["code"], bad["field"]) == ("invalid_field", "seq")
    first.close()
    second.close()
    third, welcome = queue.connect("bob")
    assert (welcome["last_acked_seq"], welcome["latest_seq"]) == (3, 5)
    assert seqs(events(third, 2)) == [4, 5]
    request(third, {"type": "ack", "id": 5, "seq": 5})
    metrics = queue.client.metrics()["queue"]
    assert metrics["acked"] == 5 and "bob" not in metrics["pending"]
    third.close()


def test_resume_after_on_handshake_and_by_message(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    queue = Queue(client_for(make_service()))
    for n in range(5):
        queue.publish("bob", n)
    ws, welcome = queue.connect("bob", "?resume_after=3")
    assert (welcome["last_acked_seq"], welcome["latest_seq"]) == (0, 5)
    assert seqs(events(ws, 2)) == [4, 5]
    assert nothing_more(ws)
    resumed = request(ws, {"type": "resume", "id": "r", "after": 1})
    assert resumed == {"type": "resumed", "id": "r", "from_seq": 2}
    assert seqs(events(ws, 4)) == [2, 3, 4, 5]
    # Acked events are never resumed: delivery starts after max(acked, after).
    request(ws, {"type": "ack", "id": "a", "seq": 4})
    assert request(ws, {"type": "resume", "id": "r2", "after": 0})["from_seq"] == 5
    assert seqs(events(ws, 1)) == [5]
    # Live events continue the stream after a resume.
    queue.publish("bob", "live")
    assert seqs(events(ws, 1)) == [6]
    bad = request(ws, {"type": "resume", "id": "r3", "after": -1})
    assert (bad["code"], bad["field"]) == ("invalid_field", "after")
    ws.close()
    status = None
    try:
        queue.connect("bob", "?resume_after=abc")
    except websocket.WebSocketBadStatusException as error:
        status = error.status_code
    assert status == 400


def test_queue_full_refuses_everything_over_http_and_ws(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    queue = Queue(client_for(make_service(max_queue_length=3)))
    alice, _ = queue.connect("alice")
    bob, _ = queue.connect("bob")
    publisher, _ = queue.connect("publisher")
    for ws in (alice, bob):
        assert request(ws, {"type": "subscribe", "id": "s", "topic": "news"})["type"] == (
            "subscribed"
        )
    for n in range(3):
        queue.publish("bob", n)
    events(bob, 3)
    full = queue.post({"user": "bob", "data": "too many"})
    assert full.status_code == 507
    assert {k: full.json()[k] for k in ("error", "user", "limit")} == {
        "error": "queue_full",
        "user": "bob",
        "limit": 3,
    }
    refused = request(publisher, {"type": "publish", "id": 9, "to": {"topic": "news"}, "data": 1})
    assert (refused["code"], refused["user"], refused["limit"], refused["id"]) == (
        "queue_full",
        "bob",
        3,
        9,
    )
    assert queue.post({"topic": "news", "data": 2}).status_code == 507
    # Nothing was enqueued for alice either (all or nothing).
    assert nothing_more(alice)
    assert queue.client.metrics()["queue"]["pending"] == {"bob": 3}
    request(bob, {"type": "ack", "id": "a", "seq": 1})
    published = request(
        publisher, {"type": "publish", "id": 10, "to": {"topic": "news"}, "data": 3}
    )
    assert published["deliveries"] == [{"user": "alice", "seq": 1}, {"user": "bob", "seq": 4}]
    for ws in (alice, bob, publisher):
        ws.close()


def test_topic_fan_out_uses_each_users_own_seq(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    queue = Queue(client_for(make_service()))
    queue.publish("alice", "private-1")
    queue.publish("alice", "private-2")
    alice, _ = queue.connect("alice")
    carol, _ = queue.connect("carol")
    publisher, _ = queue.connect("publisher")
    events(alice, 2)
    for ws in (alice, carol):
        request(ws, {"type": "subscribe", "id": "s", "topic": "news"})
    reply = request(publisher, {"type": "publish", "id": "p", "to": {"topic": "news"}, "data": "x"})
    assert reply == {
        "type": "published",
        "id": "p",
        "deliveries": [{"user": "alice", "seq": 3}, {"user": "carol", "seq": 1}],
    }
    (to_alice,), (to_carol,) = events(alice, 1), events(carol, 1)
    assert (to_alice["seq"], to_alice["topic"], to_alice["data"]) == (3, "news", "x")
    assert (to_carol["seq"], to_carol["topic"]) == (1, "news")
    assert to_alice["event_id"] == to_carol["event_id"]
    assert request(alice, {"type": "unsubscribe", "id": "u", "topic": "news"}) == {
        "type": "unsubscribed",
        "id": "u",
        "topic": "news",
    }
    response = queue.post({"topic": "news", "data": "y"})
    assert response.json() == {"deliveries": [{"user": "carol", "seq": 2}]}
    assert queue.post({"topic": "nobody-listens", "data": 1}).json() == {"deliveries": []}
    # A user publish over the WebSocket, and its refusals.
    direct = request(publisher, {"type": "publish", "id": 1, "to": {"user": "carol"}, "data": None})
    assert direct["deliveries"] == [{"user": "carol", "seq": 3}]
    assert seqs(events(carol, 2)) == [2, 3]
    unknown = request(publisher, {"type": "publish", "id": 2, "to": {"user": "zed"}, "data": 1})
    assert (unknown["code"], unknown["id"]) == ("unknown_user", 2)
    for to, data_field in (({}, "to"), ({"user": 5}, "to.user"), ({"topic": ""}, "to.topic")):
        bad = request(alice, {"type": "publish", "id": 3, "to": to, "data": 1})
        assert (bad["code"], bad["field"]) == ("invalid_field", data_field)
    no_data = request(alice, {"type": "publish", "id": 4, "to": {"user": "carol"}})
    assert (no_data["code"], no_data["field"]) == ("invalid_field", "data")
    assert nothing_more(alice)
    for ws in (alice, carol, publisher):
        ws.close()


def test_kill_9_keeps_acked_and_redelivers_unacked(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    service = make_service()
    queue = Queue(client_for(service))
    old_url = service.ws_url
    bob, _ = queue.connect("bob")
    request(bob, {"type": "subscribe", "id": "s", "topic": "news"})
    count = 1000
    started = time.perf_counter()
    with requests.Session() as session:
        for n in range(count):
            response = session.post(
                f"{service.http_url}/events",
                json={"user": "bob", "data": n},
                headers=queue.headers,
                timeout=TIMEOUT,
            )
            assert response.status_code == 201
    publish_rate = count / (time.perf_counter() - started)
    assert seqs(events(bob, count)) == list(range(1, count + 1))
    assert request(bob, {"type": "ack", "id": "a", "seq": 400})["type"] == "acked"
    request(bob, {"type": "state.patch", "id": "p", "base_version": 0, "patch": {"k": 1}})

    service.kill()
    assert not service.running
    service.start()
    assert service.ws_url == old_url
    queue = Queue(client_for(service))

    started = time.perf_counter()
    bob, welcome = queue.connect("bob")
    assert (welcome["last_acked_seq"], welcome["latest_seq"]) == (400, count)
    redelivered = events(bob, count - 400)
    redelivery = time.perf_counter() - started
    assert seqs(redelivered) == list(range(401, count + 1))
    assert [event["data"] for event in redelivered] == list(range(400, count))
    assert request(bob, {"type": "state.get", "id": "g"})["doc"] == {"k": 1}
    # The subscription survived too.
    assert queue.post({"topic": "news", "data": "after"}).json()["deliveries"] == [
        {"user": "bob", "seq": count + 1}
    ]
    assert seqs(events(bob, 1)) == [count + 1]
    # Acked events are gone from the database, unacked ones are kept.
    import sqlite3

    with sqlite3.connect(service.database) as db:
        stored = db.execute("SELECT MIN(seq), COUNT(*) FROM events WHERE username='bob'").fetchone()
    assert stored == (401, count - 400 + 1)
    print(
        f"publish {publish_rate:.0f}/s sequential HTTP; "
        f"{count - 400} events redelivered in {redelivery:.3f}s after kill -9 + reconnect"
    )
    bob.close()


def test_graceful_restart_keeps_port_and_data(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    service = make_service()
    queue = Queue(client_for(service))
    queue.publish("alice", "kept")
    old_url, old_pid = service.http_url, service.pid
    service.restart(graceful=True)
    assert service.http_url == old_url and service.pid != old_pid
    ws, welcome = Queue(client_for(service)).connect("alice")
    assert (welcome["last_acked_seq"], welcome["latest_seq"]) == (0, 1)
    assert events(ws, 1)[0]["data"] == "kept"
    ws.close()
    service.restart(graceful=False)
    assert service.http_url == old_url
    assert requests.get(f"{service.http_url}/health", timeout=TIMEOUT).status_code == 200
