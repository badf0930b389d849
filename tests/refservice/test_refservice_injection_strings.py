"""SQL, markup and path strings in user names, recipients, topics and data.

The service keeps users, queues and subscriptions in SQLite and echoes JSON: a string
that looks like SQL or HTML must be treated as an opaque name or value, never run or
interpreted (OWASP WebSocket cheat sheet, input validation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from refservice_wire import TIMEOUT, recv, request

from ReferenceServiceLibrary.process import ServiceProcess

HOSTILE_STRINGS = (
    "alice' OR '1'='1",
    "bob'; DROP TABLE events; --",
    'bob" OR ""="',
    "alice' --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "${jndi:ldap://127.0.0.1/x}",
    "%27%20OR%201%3D1",
    "user.alice' OR 1=1 --",
)


@pytest.fixture
def hostile(make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]) -> Any:
    # No login throttle: the failed logins below would otherwise lock alice out (429).
    return client_for(make_service(max_login_failures=0))


def test_a_hostile_user_name_or_password_does_not_log_in(hostile: Any) -> None:
    for text in HOSTILE_STRINGS:
        for body in ({"username": text, "password": "x"}, {"username": "alice", "password": text}):
            response = hostile.post("/auth/login", body)
            answer = (response.status_code, response.json()["error"])
            assert answer == (401, "invalid_credentials"), (body, answer)
    assert hostile.login("alice")["access_token"]


def test_a_signed_token_with_a_hostile_sub_is_an_unknown_user(hostile: Any) -> None:
    for text in HOSTILE_STRINGS:
        status, body = hostile.rejection(hostile.forge(sub=text))
        assert (status, body["error"]) == (401, "unknown_user"), (text, body)


def test_hostile_recipients_are_unknown_users_and_nothing_is_stored(hostile: Any) -> None:
    publisher = hostile.connect(hostile.token("publisher"))
    headers = {"Authorization": f"Bearer {hostile.token('publisher')}"}
    for number, text in enumerate(HOSTILE_STRINGS, 1):
        message = {"type": "publish", "id": number, "to": {"user": text}, "data": 1}
        refused = request(publisher, message)
        assert (refused["type"], refused["code"]) == ("error", "unknown_user"), refused
        over_http = requests.post(
            f"{hostile.http_url}/events",
            json={"user": text, "data": 1},
            headers=headers,
            timeout=TIMEOUT,
        )
        assert (over_http.status_code, over_http.json()["error"]) == (404, "unknown_user")
    assert hostile.metrics()["queue"]["pending"] == {}
    publisher.close()
    # The tables are intact: every seeded user still logs in and connects.
    for user in ("alice", "bob", "publisher"):
        hostile.connect(hostile.token(user)).close()


def test_hostile_topics_and_data_arrive_verbatim(hostile: Any) -> None:
    bob = hostile.connect(hostile.token("bob"))
    publisher = hostile.connect(hostile.token("publisher"))
    for number, text in enumerate(HOSTILE_STRINGS, 1):
        if text.startswith("user.") and not text.startswith("user.bob"):
            continue  # another user's private topic: refused, as test_publish_rights shows
        subscribed = request(bob, {"type": "subscribe", "id": number, "topic": text})
        assert subscribed["type"] == "subscribed", subscribed
        published = request(
            publisher,
            {"type": "publish", "id": number, "to": {"topic": text}, "data": {"text": text}},
        )
        assert published["type"] == "published", published
        event = recv(bob)
        assert (event["topic"], event["data"]) == (text, {"text": text}), event
    direct = request(publisher, {"type": "publish", "id": 99, "to": {"user": "bob"},
                                 "data": list(HOSTILE_STRINGS)})  # fmt: skip
    assert direct["type"] == "published", direct
    assert recv(bob)["data"] == list(HOSTILE_STRINGS)
    bob.close()
    publisher.close()
