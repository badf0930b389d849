"""Login throttling: the rule on a fake clock, then the service's 429 end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_limit_counts_failures_within_the_window(clock: Clock) -> None:
    throttle = LoginThrottle(3, 60, clock)
    for _ in range(3):
        assert throttle.retry_after("alice") is None
        throttle.failed("alice")
        clock.now += 10
    assert throttle.retry_after("alice") == pytest.approx(30)  # the first failure ages out
    assert throttle.retry_after("bob") is None, "other names are not affected"
    clock.now += 30
    assert throttle.retry_after("alice") is None
    throttle.failed("alice")
    assert throttle.retry_after("alice") is not None, "the 2nd and 3rd still count"


def test_a_success_forgets_the_failures(clock: Clock) -> None:
    throttle = LoginThrottle(2, 60, clock)
    throttle.failed("alice")
    throttle.succeeded("alice")
    throttle.failed("alice")
    assert throttle.retry_after("alice") is None


def test_zero_means_no_limit_and_the_names_tracked_are_bounded(clock: Clock) -> None:
    unlimited = LoginThrottle(0, 60, clock)
    for _ in range(100):
        unlimited.failed("alice")
    assert unlimited.retry_after("alice") is None
    bounded = LoginThrottle(1, 60, clock, max_tracked=10)
    for n in range(50):
        bounded.failed(f"sprayed-{n}")
    assert len(bounded._failures) == 10
    assert bounded.retry_after("sprayed-49") is not None
    assert bounded.retry_after("sprayed-0") is None, "the oldest were forgotten"


def test_the_service_answers_429_with_retry_after(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    client = client_for(make_service(max_login_failures=3, login_failure_window=1.5))
    for _ in range(3):
        assert client.post("/auth/login", {"username": "bob", "password": "x"}).status_code == 401
    refused = client.post("/auth/login", {"username": "bob", "password": "bob-password"})
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    client.login("alice")  # other users log in as usual
    time.sleep(1.6)  # the window under test passes
    client.login("bob")
