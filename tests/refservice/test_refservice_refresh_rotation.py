"""Refresh-token rotation with reuse detection (issue 9).

Every refresh retires the refresh token it was given. A retired token presented again
means two parties hold it (a thief and the victim): the service refuses it and revokes
its whole family, so neither can go on without logging in again.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import requests

from refservice.store import RefreshOutcome, Store


def refresh(client: Any, refresh_token: str) -> requests.Response:
    return client.post("/auth/refresh", {"refresh_token": refresh_token})


def refused_reason(response: requests.Response) -> str:
    assert response.status_code == 401, response.text
    return str(response.json()["error"])


def test_a_refresh_returns_a_new_refresh_token_that_works(client: Any) -> None:
    first = client.login()["refresh_token"]
    second = refresh(client, first)
    assert second.status_code == 200, second.text
    third = refresh(client, second.json()["refresh_token"])
    assert third.status_code == 200, third.text
    assert len({first, second.json()["refresh_token"], third.json()["refresh_token"]}) == 3
    client.connect(third.json()["access_token"]).close()


def test_a_retired_refresh_token_is_refused_and_revokes_its_family(client: Any) -> None:
    stolen = client.login()["refresh_token"]
    victim = refresh(client, stolen).json()["refresh_token"]  # the victim refreshes first
    newest = refresh(client, victim).json()["refresh_token"]
    reuse = refresh(client, stolen)  # the thief tries the copy
    assert refused_reason(reuse) == "token_reused"
    assert reuse.json()["message"] == (
        "The refresh token was already used; its whole family is revoked now."
    )
    # Now the newest token of the chain is dead too, and so is the retired one in between.
    assert refused_reason(refresh(client, newest)) == "token_revoked"
    assert refused_reason(refresh(client, victim)) == "token_reused"
    # A new login starts a new family.
    again = client.login()["refresh_token"]
    assert refresh(client, again).status_code == 200


def test_a_reuse_revokes_only_its_own_family(client: Any) -> None:
    laptop, phone = client.login("bob")["refresh_token"], client.login("bob")["refresh_token"]
    refresh(client, laptop)
    assert refused_reason(refresh(client, laptop)) == "token_reused"
    assert refresh(client, phone).status_code == 200


def test_a_refresh_token_the_service_never_issued_is_refused(client: Any) -> None:
    """Signed with the service's secret, but not issued by it: there is no record to retire."""
    forged = client.forge(typ="refresh", jti=uuid.uuid4().hex)
    assert refused_reason(refresh(client, forged)) == "token_revoked"
    assert refused_reason(refresh(client, client.forge(typ="refresh", jti=None))) == (
        "token_revoked"
    )


def race_two_refreshes(client: Any, token: str) -> list[requests.Response]:
    """Send two refreshes with ``token`` at the same moment, from two threads."""
    start = threading.Barrier(2, timeout=5)
    results: list[requests.Response] = []

    def one_refresh() -> None:
        start.wait()
        results.append(refresh(client, token))

    threads = [threading.Thread(target=one_refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_two_refreshes_racing_with_one_token_do_not_both_succeed(client: Any) -> None:
    for _ in range(5):
        results = race_two_refreshes(client, client.login("carol")["refresh_token"])
        statuses = sorted(response.status_code for response in results)
        assert statuses == [200, 401], [response.text for response in results]
        loser = next(response for response in results if response.status_code == 401)
        winner = next(response for response in results if response.status_code == 200)
        assert loser.json()["error"] == "token_reused"
        # The loser's reuse revoked the family: the winner's new token is refused too.
        assert refused_reason(refresh(client, winner.json()["refresh_token"])) == "token_revoked"


def test_rotation_state_survives_a_restart(make_service, client_for) -> None:
    service = make_service()
    client = client_for(service)
    retired = client.login()["refresh_token"]
    current = refresh(client, retired).json()["refresh_token"]
    service.restart()
    assert refused_reason(refresh(client, retired)) == "token_reused"
    assert refused_reason(refresh(client, current)) == "token_revoked"


# --- the store on its own ------------------------------------------------------------


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as opened:
        yield opened


def test_the_store_rotates_once_per_token(store: Store) -> None:
    now = time.time()
    store.start_refresh_family("alice", "t1", now + 60, now=now)
    assert store.rotate_refresh_token("t1", "t2", now + 60, now=now) is RefreshOutcome.ROTATED
    assert store.rotate_refresh_token("t2", "t3", now + 60, now=now) is RefreshOutcome.ROTATED
    assert store.rotate_refresh_token("t1", "t9", now + 60, now=now) is RefreshOutcome.REUSED
    assert store.rotate_refresh_token("t3", "t4", now + 60, now=now) is RefreshOutcome.REVOKED
    assert store.rotate_refresh_token("t9", "t5", now + 60, now=now) is RefreshOutcome.UNKNOWN
    assert store.rotate_refresh_token("nope", "t6", now + 60, now=now) is RefreshOutcome.UNKNOWN


def test_expired_records_are_pruned(store: Store) -> None:
    """The table holds only refresh tokens that have not expired: it stays bounded."""
    now = time.time()
    for index in range(50):
        store.start_refresh_family("alice", f"old-{index}", now + 10, now=now)
    store.start_refresh_family("alice", "a1", now + 1000, now=now)
    assert store.rotate_refresh_token("a1", "a2", now + 1000, now=now) is RefreshOutcome.ROTATED
    assert store.refresh_token_count() == 52
    later = now + 20  # the 50 old ones have expired by then
    store.start_refresh_family("bob", "b1", later + 1000, now=later)
    assert store.refresh_token_count() == 3
    assert store.rotate_refresh_token("a1", "a3", later + 1000, now=later) is (
        RefreshOutcome.REUSED
    )
