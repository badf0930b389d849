"""``GET /metrics`` lists users and their queues: only tokens with the metrics role read it.

Unless the service runs with ``public_metrics``; refusals are security events in the log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from refservice_wire import TIMEOUT

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.config import DEFAULT_USERS, METRICS_ROLE, load_settings, parse_user

OTHER_KEY = "another-key-that-is-long-enough-for-hs256-0123456789"


def refusal(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error", "message"} and body["message"], body
    return response.status_code, body["error"]


def test_without_a_token_is_401(client: Any) -> None:
    assert refusal(client.get_metrics()) == (401, "missing_token")


def test_a_header_that_is_not_bearer_is_401(client: Any) -> None:
    headers = {"Authorization": f"Basic {client.token('operator')}"}
    response = requests.get(f"{client.http_url}/metrics", headers=headers, timeout=TIMEOUT)
    assert refusal(response) == (401, "malformed_token")


@pytest.mark.parametrize("user", ["alice", "publisher"])
def test_a_valid_token_without_the_metrics_role_is_403(client: Any, user: str) -> None:
    assert refusal(client.get_metrics(client.token(user))) == (403, "forbidden")


def test_the_operator_reads_the_metrics(client: Any) -> None:
    alice = client.connect(client.token("alice"))
    try:
        response = client.get_metrics(client.token("operator"))
        assert response.status_code == 200, response.text
        assert response.json()["connections"]["per_user"].get("alice", 0) >= 1
    finally:
        alice.close()


def test_an_expired_token_with_the_role_is_401(client: Any) -> None:
    now = int(time.time())
    expired = client.forge(
        sub="operator", roles=[METRICS_ROLE], iat=now - 120, nbf=now - 120, exp=now - 60
    )
    assert refusal(client.get_metrics(expired)) == (401, "token_expired")


def test_a_forged_token_claiming_the_role_is_401(client: Any) -> None:
    forged = client.forge(key=OTHER_KEY, sub="operator", roles=[METRICS_ROLE])
    assert refusal(client.get_metrics(forged)) == (401, "invalid_signature")


def test_a_signed_token_of_an_unknown_user_with_the_role_is_401(client: Any) -> None:
    ghost = client.forge(sub="nobody", roles=[METRICS_ROLE])
    assert refusal(client.get_metrics(ghost)) == (401, "unknown_user")


def test_public_metrics_need_no_token(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    public = client_for(make_service(public_metrics=True))
    response = public.get_metrics()
    assert response.status_code == 200, response.text
    assert response.json()["connections"] == {"open": 0, "per_user": {}}
    # A token, even a bad one, is not looked at then.
    assert public.get_metrics("not-a-token").status_code == 200


def test_refusals_are_logged_at_info_without_tokens(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    service = make_service()
    client = client_for(service)
    alice, forged = client.token("alice"), client.forge(key=OTHER_KEY, roles=[METRICS_ROLE])
    assert refusal(client.get_metrics())[0] == 401
    assert refusal(client.get_metrics(forged))[0] == 401
    assert refusal(client.get_metrics(alice))[0] == 403
    service.stop()  # flushes the log
    log = service.log_file.read_text(encoding="utf-8")
    peer = r"127\.0\.0\.1:\d+"
    assert re.search(rf"INFO.*Refused GET /metrics from {peer}: missing_token", log), log
    assert re.search(rf"INFO.*Refused GET /metrics from {peer}: invalid_signature", log), log
    assert re.search(rf"INFO.*Refused GET /metrics from {peer} for alice: forbidden", log), log
    for secret in (alice, forged, alice.split(".")[2], forged.split(".")[2]):
        assert secret not in log


def test_the_operator_is_seeded_with_the_metrics_role() -> None:
    assert ("operator", "operator-password", (METRICS_ROLE,)) in DEFAULT_USERS
    assert parse_user("ops:pw:metrics,publisher") == ("ops", "pw", ("metrics", "publisher"))


@pytest.mark.parametrize(
    ("argv", "environ", "public"),
    [
        ([], {}, False),
        (["--public-metrics"], {}, True),
        (["--public-metrics", "false"], {"REFSERVICE_PUBLIC_METRICS": "true"}, False),
        ([], {"REFSERVICE_PUBLIC_METRICS": "1"}, True),
    ],
)
def test_public_metrics_setting(argv: list[str], environ: dict[str, str], public: bool) -> None:
    assert load_settings(argv, environ).public_metrics is public
