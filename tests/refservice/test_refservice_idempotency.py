"""Idempotency keys of publishes: the pure rules, then over real sockets (HTTP and WebSocket)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket
from refservice_wire import TIMEOUT, nothing_more, recv, request

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.idempotency import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    is_valid_idempotency_key,
    request_fingerprint,
)


@pytest.mark.parametrize(
    "key",
    ["a", "retry-1", "x" * MAX_IDEMPOTENCY_KEY_LENGTH, " ~!{}\"'\\ key with spaces",
     "550e8400-e29b-41d4-a716-446655440000"],
)  # fmt: skip
def test_valid_keys(key: str) -> None:
    assert is_valid_idempotency_key(key)


@pytest.mark.parametrize(
    "key",
    ["", "x" * (MAX_IDEMPOTENCY_KEY_LENGTH + 1), "tab\there", "new\nline", "caf\u00e9", "\x7f",
     "\x00", None, 1, ["k"], True],
)  # fmt: skip
def test_invalid_keys(key: object) -> None:
    assert not is_valid_idempotency_key(key)


def test_the_fingerprint_is_canonical_json_of_target_and_data() -> None:
    one = request_fingerprint(user="bob", topic=None, data={"a": 1, "b": [1, "\u00e9"]})
    assert one == request_fingerprint(user="bob", topic=None, data={"b": [1, "\u00e9"], "a": 1})
    assert len(one) == 64 and int(one, 16) >= 0
    others = {
        request_fingerprint(user="carol", topic=None, data={"a": 1, "b": [1, "\u00e9"]}),
        request_fingerprint(user=None, topic="bob", data={"a": 1, "b": [1, "\u00e9"]}),
        request_fingerprint(user="bob", topic=None, data={"a": 1, "b": [1, "e"]}),
        request_fingerprint(user="bob", topic=None, data={"a": 1.0, "b": [1, "\u00e9"]}),
        request_fingerprint(user="bob", topic=None, data=None),
    }
    assert one not in others and len(others) == 5


# --- over real sockets --------------------------------------------------------------

# Two publishers (keys are per publishing user), the recipient, and an operator for /metrics.
USERS = (
    "publisher:publisher-password:publisher,pub2:pub2-password:publisher,carol:carol-password,"
    "operator:operator-password:metrics"
)


class Publisher:
    """``POST /events`` as one publishing user of one service."""

    def __init__(self, client: Any, user: str = "publisher") -> None:
        self.url = f"{client.http_url}/events"
        self.token = client.token(user)

    def post(self, body: Any, key: str | bytes | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key  # type: ignore[assignment]
        return requests.post(self.url, json=body, headers=headers, timeout=TIMEOUT)


@pytest.fixture
def private(make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]) -> Any:
    """A client of a private service with two publishers and carol as the recipient."""
    return client_for(make_service(users=USERS))


def seq_of(response: requests.Response) -> int:
    assert response.status_code == 201, response.text
    (delivery,) = response.json()["deliveries"]
    return int(delivery["seq"])


def received_data(ws: websocket.WebSocket, count: int) -> list[Any]:
    """The data of the next ``count`` events, checking that no further message follows."""
    events = [recv(ws) for _ in range(count)]
    assert all(event["type"] == "event" for event in events), events
    assert nothing_more(ws, 0.3)
    return [event["data"] for event in events]


def test_an_http_retry_with_the_same_key_stores_once(private: Any) -> None:
    carol, publisher = private.connect(private.token("carol")), Publisher(private)
    first = publisher.post({"user": "carol", "data": {"n": 1}}, key="order-1")
    retry = publisher.post({"user": "carol", "data": {"n": 1}}, key="order-1")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json() == {"deliveries": [{"user": "carol", "seq": 1}]}
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert received_data(carol, 1) == [{"n": 1}]
    assert private.metrics()["queue"]["pending"] == {"carol": 1}
    carol.close()


def test_a_key_reused_for_another_request_is_a_conflict(private: Any) -> None:
    publisher = Publisher(private)
    assert seq_of(publisher.post({"user": "carol", "data": 1}, key="k")) == 1
    for body in ({"user": "carol", "data": 2}, {"user": "publisher", "data": 1},
                 {"topic": "news", "data": 1}):  # fmt: skip
        conflict = publisher.post(body, key="k")
        assert conflict.status_code == 422, conflict.text
        assert conflict.json()["error"] == "idempotency_conflict"
        assert "'k'" in conflict.json()["message"]
    assert private.metrics()["queue"]["pending"] == {"carol": 1}


@pytest.mark.parametrize(
    "key",
    ["", "x" * 201, b"caf\xe9", "a\x01b", "del\x7f"],
    ids=["empty", "long", "latin1", "ctrl", "del"],
)
def test_a_bad_key_header_is_refused_and_stores_nothing(private: Any, key: Any) -> None:
    refused = Publisher(private).post({"user": "carol", "data": 1}, key=key)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_request"
    assert "Idempotency-Key" in refused.json()["message"]
    assert private.metrics()["queue"]["pending"] == {}


def test_two_publishers_with_the_same_key_are_independent(private: Any) -> None:
    carol = private.connect(private.token("carol"))
    one, two = Publisher(private), Publisher(private, "pub2")
    body = {"user": "carol", "data": "same"}
    assert seq_of(one.post(body, key="k")) == 1
    assert seq_of(two.post(body, key="k")) == 2
    assert seq_of(one.post(body, key="k")) == 1
    assert seq_of(two.post(body, key="k")) == 2
    assert received_data(carol, 2) == ["same", "same"]
    carol.close()


def test_without_a_key_every_publish_is_stored(private: Any) -> None:
    publisher = Publisher(private)
    body = {"user": "carol", "data": "x"}
    seqs = [seq_of(publisher.post(body, key="k")), seq_of(publisher.post(body)),
            seq_of(publisher.post(body)), seq_of(publisher.post(body, key="k"))]  # fmt: skip
    assert seqs == [1, 2, 3, 1]
    assert private.metrics()["queue"]["pending"] == {"carol": 3}


def test_concurrent_retries_with_the_same_key_store_once(private: Any) -> None:
    carol, publisher = private.connect(private.token("carol")), Publisher(private)
    retries = 8
    start = threading.Barrier(retries)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def retry() -> None:
        start.wait(TIMEOUT)
        response = publisher.post({"user": "carol", "data": "once"}, key="race")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=retry) for _ in range(retries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * TIMEOUT)
    assert len(answers) == retries
    assert {seq_of(answer) for answer in answers} == {1}
    replayed = [answer.headers.get("Idempotent-Replayed") for answer in answers]
    assert replayed.count("true") == retries - 1 and replayed.count(None) == 1
    assert received_data(carol, 1) == ["once"]
    carol.close()


def test_a_restart_keeps_the_key(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    service = make_service(users=USERS)
    body = {"user": "carol", "data": "kept"}
    assert seq_of(Publisher(client_for(service)).post(body, key="k")) == 1
    service.restart()
    retry = Publisher(client_for(service)).post(body, key="k")
    assert seq_of(retry) == 1 and retry.headers.get("Idempotent-Replayed") == "true"
    assert client_for(service).metrics()["queue"]["pending"] == {"carol": 1}


def test_a_websocket_retry_gets_the_first_reply_and_stores_once(private: Any) -> None:
    carol = private.connect(private.token("carol"))
    publisher = private.connect(private.token("publisher"))
    message = {"type": "publish", "id": 7, "to": {"user": "carol"}, "data": [1],
               "idempotency_key": "ws-1"}  # fmt: skip
    first = request(publisher, message)
    assert first == {"type": "published", "id": 7, "deliveries": [{"user": "carol", "seq": 1}]}
    assert request(publisher, message) == first
    # The key is the user's, whichever way the publish came: an HTTP retry is a replay too.
    over_http = Publisher(private).post({"user": "carol", "data": [1]}, key="ws-1")
    assert over_http.json() == {"deliveries": first["deliveries"]}
    assert over_http.headers.get("Idempotent-Replayed") == "true"
    assert received_data(carol, 1) == [[1]]
    carol.close()
    publisher.close()


def test_a_websocket_conflict_and_bad_keys(private: Any) -> None:
    publisher = private.connect(private.token("publisher"))
    base = {"type": "publish", "to": {"user": "carol"}, "data": 1}
    assert request(publisher, {**base, "id": 1, "idempotency_key": "k"})["type"] == "published"
    conflict = request(publisher, {**base, "id": 2, "data": 2, "idempotency_key": "k"})
    assert (conflict["type"], conflict["code"], conflict["id"]) == (
        "error",
        "idempotency_conflict",
        2,
    )
    for number, key in enumerate(["", "x" * 201, "caf\u00e9", "a\nb", None, 5, ["k"]], 3):
        refused = request(publisher, {**base, "id": number, "idempotency_key": key})
        assert (refused["code"], refused["field"], refused["id"]) == (
            "invalid_field",
            "idempotency_key",
            number,
        ), key
    assert nothing_more(publisher)
    assert private.metrics()["queue"]["pending"] == {"carol": 1}
    publisher.close()
