"""store.py: users and password hashes, the event queue, subscriptions and state documents."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from refservice.store import (
    AckBeyondLatestError,
    IdempotencyConflictError,
    PatchResult,
    QueueFullError,
    StateSince,
    Store,
    UnknownUserError,
    check_password,
    hash_password,
)


def test_hashes_are_salted() -> None:
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second
    assert check_password("pw", first) and check_password("pw", second)
    assert not check_password("other", first)
    assert not check_password("pw", "garbage")


def test_seed_and_verify(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("alice", "a-pw"), ("bob", "b-pw")])
        assert store.verify_password("alice", "a-pw")
        assert not store.verify_password("alice", "b-pw")
        assert not store.verify_password("nobody", "a-pw")
        assert store.user_exists("bob") and not store.user_exists("nobody")
        assert store.usernames() == ["alice", "bob"]


def test_reseeding_keeps_users_and_updates_passwords(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    with Store(path) as store:
        store.seed_users([("alice", "old")])
    with Store(path) as store:
        store.seed_users([("alice", "new"), ("dave", "d")])
        assert store.verify_password("alice", "new") and not store.verify_password("alice", "old")
        assert store.usernames() == ["alice", "dave"]
    rows = sqlite3.connect(path).execute("SELECT password_hash FROM users").fetchall()
    assert all(row[0].startswith("scrypt$") and row[0] not in ("new", "d") for row in rows)


def test_in_memory_database() -> None:
    with Store(":memory:") as store:
        store.seed_users([("x", "y")])
        assert store.verify_password("x", "y")


def test_two_connections_on_one_file_allocate_gap_free_seqs(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: even two Store objects (like two processes) never share a seq."""
    import threading

    path = str(tmp_path / "db.sqlite")
    stores = [Store(path), Store(path)]
    stores[0].seed_users([("bob", "pw")])
    got: list[int] = []

    def publish(store: Store) -> None:
        for _ in range(100):
            got.append(store.publish(user="bob", data=None, limit=1000).deliveries[0][1])

    threads = [threading.Thread(target=publish, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(1, 201))
    assert stores[0].queue_position("bob") == (0, 200)
    for store in stores:
        store.close()


def test_seq_stays_monotonic_after_acked_events_are_deleted(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    with Store(path) as store:
        store.seed_users([("bob", "pw", ["publisher"])])
        assert store.user_roles("bob") == ["publisher"]
        for _ in range(3):
            store.publish(user="bob", data=1, limit=10)
        assert store.ack("bob", 3) == (0, 3)
        assert store.prune("bob", 3) == 3
    with Store(path) as store:
        assert store.publish(user="bob", data=1, limit=10).deliveries == [("bob", 4)]
        assert [event["seq"] for event in store.events_from("bob", 0)] == [4]


# --- password hashes ----------------------------------------------------------------


def test_hash_with_a_given_salt_is_deterministic_and_well_formed() -> None:
    salt = bytes(range(16))
    encoded = hash_password("pw", salt=salt)
    assert hash_password("pw", salt=salt) == encoded
    scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
    assert (scheme, n, r, p, salt_hex) == ("scrypt", "4096", "8", "1", salt.hex())
    assert len(bytes.fromhex(digest_hex)) == 64
    assert check_password("pw", encoded) and not check_password("pw!", encoded)


def test_random_salt_is_16_bytes() -> None:
    salt_hex = hash_password("pw").split("$")[4]
    assert len(bytes.fromhex(salt_hex)) == 16


@pytest.mark.parametrize("scheme", ["md5", "bcrypt", "SCRYPT", "scrypt2", ""])
def test_hash_of_another_scheme_is_refused_even_if_its_digest_matches(scheme: str) -> None:
    """Only ``scrypt`` hashes are trusted: a foreign scheme verifies no password at all."""
    genuine = hash_password("pw")
    foreign = scheme + genuine[len("scrypt") :]
    assert check_password("pw", genuine)
    assert not check_password("pw", foreign)
    assert not check_password("other", foreign)


def test_login_is_refused_for_a_stored_hash_of_another_scheme(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    with Store(path) as store:
        store.seed_users([("alice", "pw")])
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE users SET password_hash = 'plain' || substr(password_hash, 7)")
    with Store(path) as store:
        assert not store.verify_password("alice", "pw")
        assert not store.verify_password("alice", "anything")


# --- opening a database -------------------------------------------------------------


def test_file_database_runs_in_wal_mode(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    with Store(path) as store:
        assert store.path == path
        with closing(sqlite3.connect(path)) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_from_before_roles_is_migrated(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
            "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        )
        db.execute(
            "INSERT INTO users VALUES ('old', ?, '2020-01-01T00:00:00.000Z')", (hash_password("o"),)
        )
    with Store(path) as store:
        assert store.verify_password("old", "o")
        assert store.user_roles("old") == []
        store.seed_users([("new", "n", ["publisher"])])
        assert store.user_roles("new") == ["publisher"]
    with closing(sqlite3.connect(path)) as db:
        assert "roles" in {row[1] for row in db.execute("PRAGMA table_info(users)")}
    with Store(path) as store:  # a migrated database opens like any other
        assert store.usernames() == ["new", "old"]


def test_unknown_user_has_no_roles(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "pw", ["publisher", "admin"])])
        assert store.user_roles("bob") == ["admin", "publisher"]
        assert store.user_roles("nobody") == []


# --- event queue --------------------------------------------------------------------


def test_publish_returns_the_event_id_and_time_of_the_stored_event(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("alice", "a"), ("bob", "b")])
        store.subscribe("bob", "news")
        store.subscribe("alice", "news")
        published = store.publish(topic="news", data={"n": 1}, limit=10, sender="carol")
        assert published.deliveries == [("alice", 1), ("bob", 1)]
        assert uuid.UUID(published.event_id).version == 4
        assert published.published_at.endswith("Z")
        for user in ("alice", "bob"):
            assert store.events_from(user, 1) == [
                {
                    "type": "event",
                    "seq": 1,
                    "event_id": published.event_id,
                    "topic": "news",
                    "data": {"n": 1},
                    "published_at": published.published_at,
                    "sender": "carol",
                }
            ]


def test_publish_to_an_unknown_user_names_the_user(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        with pytest.raises(UnknownUserError) as caught:
            store.publish(user="zed", data=1, limit=10)
        assert caught.value.user == "zed"
        assert str(caught.value) == "User 'zed' does not exist."
        assert store.queue_position("zed") == (0, 0)


def test_full_queue_names_the_user_and_limit_and_enqueues_nothing(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("alice", "a"), ("bob", "b")])
        store.subscribe("alice", "news")
        store.subscribe("bob", "news")
        for _ in range(2):
            store.publish(user="bob", data=None, limit=2)
        with pytest.raises(QueueFullError) as caught:
            store.publish(topic="news", data=None, limit=2)
        assert (caught.value.user, caught.value.limit) == ("bob", 2)
        assert str(caught.value) == "The event queue of 'bob' is full (2 unacknowledged events)."
        assert store.queue_position("alice") == (0, 0)
        assert store.pending_counts() == {"bob": 2}


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_and_nothing_is_stored(
    tmp_path: Path, number: float
) -> None:
    """NaN and infinities are not JSON: storing them would break every later reader."""
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "pw")])
        with pytest.raises(ValueError, match="not JSON compliant"):
            store.publish(user="bob", data={"x": [number]}, limit=10)
        assert store.queue_position("bob") == (0, 0)
        assert store.events_from("bob", 0) == []
        with pytest.raises(ValueError, match="not JSON compliant"):
            store.state_patch("bob", 0, {"x": number}, history=10)
        assert store.state_get("bob") == (0, {})


def test_events_from_returns_at_most_500_events_by_default() -> None:
    # In memory: 501 fsynced commits to a file would only make the test slow.
    with Store(":memory:") as store:
        store.seed_users([("bob", "pw")])
        for number in range(501):
            store.publish(user="bob", data=number, limit=1000)
        assert [event["seq"] for event in store.events_from("bob", 1)] == list(range(1, 501))
        assert [event["data"] for event in store.events_from("bob", 501)] == [500]


def test_ack_of_a_user_without_events(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "pw")])
        assert store.ack("bob", 0) == (0, 0)
        with pytest.raises(AckBeyondLatestError) as caught:
            store.ack("bob", 1)
        assert (caught.value.seq, caught.value.latest) == (1, 0)
        assert str(caught.value) == "Cannot acknowledge seq 1: the latest seq is 0."
        assert store.queue_position("bob") == (0, 0)


def test_ack_beyond_latest_names_both_seqs_and_changes_nothing(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "pw")])
        for _ in range(2):
            store.publish(user="bob", data=None, limit=10)
        assert store.ack("bob", 1) == (0, 1)
        with pytest.raises(AckBeyondLatestError) as caught:
            store.ack("bob", 99)
        assert (caught.value.seq, caught.value.latest) == (99, 2)
        assert str(caught.value) == "Cannot acknowledge seq 99: the latest seq is 2."
        assert store.queue_position("bob") == (1, 2)
        assert store.ack("bob", 1) == (1, 1)
        assert store.ack("bob", 0) == (1, 1)


# --- subscriptions ------------------------------------------------------------------


def test_subscriptions_lists_the_users_topics_in_order(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("alice", "a"), ("bob", "b")])
        for topic in ("news", "alerts", "news"):
            store.subscribe("alice", topic)
        store.subscribe("bob", "sports")
        assert store.subscriptions("alice") == ["alerts", "news"]
        assert store.subscriptions("bob") == ["sports"]
        assert store.subscriptions("carol") == []
        store.unsubscribe("alice", "news")
        store.unsubscribe("alice", "never-subscribed")
        assert store.subscriptions("alice") == ["alerts"]


# --- state documents ----------------------------------------------------------------


def test_state_since_zero_returns_every_kept_patch(tmp_path: Path) -> None:
    """A client that has never seen the document catches up with patches, not a snapshot."""
    with Store(str(tmp_path / "db.sqlite")) as store:
        assert store.state_since("alice", 0) == StateSince(0, {}, [])
        assert store.state_patch("alice", 0, {"a": 1}, 5) == PatchResult(True, 1)
        assert store.state_patch("alice", 1, {"b": {"c": 2}}, 5) == PatchResult(True, 2)
        doc = {"a": 1, "b": {"c": 2}}
        assert store.state_since("alice", 0) == StateSince(
            2, doc, [(1, {"a": 1}), (2, {"b": {"c": 2}})]
        )
        assert store.state_since("alice", 1) == StateSince(2, doc, [(2, {"b": {"c": 2}})])
        assert store.state_since("alice", 2) == StateSince(2, doc, [])
        assert store.state_since("alice", 3) == StateSince(2, doc, None)
        assert store.state_since("alice", -1) == StateSince(2, doc, None)


def test_history_of_one_keeps_just_the_last_patch(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.state_patch("alice", 0, {"a": 1}, 1)
        assert store.state_since("alice", 0) == StateSince(1, {"a": 1}, [(1, {"a": 1})])
        store.state_patch("alice", 1, {"a": 2}, 1)
        assert store.state_since("alice", 1) == StateSince(2, {"a": 2}, [(2, {"a": 2})])
        assert store.state_since("alice", 0) == StateSince(2, {"a": 2}, None)


def test_history_of_zero_keeps_no_patches(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.state_patch("alice", 0, {"a": 1}, 0)
        assert store.state_since("alice", 0) == StateSince(1, {"a": 1}, None)
        assert store.state_since("alice", 1) == StateSince(1, {"a": 1}, [])


def test_patch_on_a_stale_version_is_a_conflict_with_the_current_doc(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.state_patch("alice", 0, {"a": 1}, 5)
        conflict = store.state_patch("alice", 0, {"a": 2}, 5)
        assert conflict.applied is False
        assert conflict == PatchResult(applied=False, version=1, doc={"a": 1})
        assert store.state_get("alice") == (1, {"a": 1})


def test_seeding_at_a_lower_cost_stores_the_cost_with_the_hash(tmp_path: Path) -> None:
    with Store(str(tmp_path / "cost.db")) as store:
        store.seed_users([("cheap", "pw")], cost=2**8)
        store.seed_users([("dear", "pw")])
        with closing(sqlite3.connect(tmp_path / "cost.db")) as db:
            hashes = dict(db.execute("SELECT username, password_hash FROM users"))
        assert hashes["cheap"].startswith("scrypt$256$8$1$")
        assert hashes["dear"].startswith("scrypt$4096$8$1$")
        assert store.verify_password("cheap", "pw")
        assert not store.verify_password("cheap", "pw2")
        assert store.verify_password("dear", "pw")


def test_a_database_from_before_senders_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE events (username TEXT NOT NULL, seq INTEGER NOT NULL, "
            "event_id TEXT NOT NULL, topic TEXT, data TEXT NOT NULL, published_at TEXT NOT NULL, "
            "PRIMARY KEY (username, seq)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO events VALUES ('alice', 1, 'e', NULL, '1', 't')")
        db.execute("CREATE TABLE queues (username TEXT PRIMARY KEY, latest_seq INTEGER NOT NULL "
                   "DEFAULT 0, acked_seq INTEGER NOT NULL DEFAULT 0)")  # fmt: skip
        db.execute("INSERT INTO queues VALUES ('alice', 1, 0)")
        db.commit()
    with Store(str(path)) as store:
        store.seed_users([("alice", "a")])
        store.publish(user="alice", data=2, limit=10, sender="bob")
        assert [(e["seq"], e["sender"]) for e in store.events_from("alice", 1)] == [
            (1, None),
            (2, "bob"),
        ]


# --- idempotency keys ---------------------------------------------------------------


def test_a_replayed_key_stores_nothing_and_returns_the_first_outcome(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("alice", "a"), ("bob", "b")])
        store.subscribe("alice", "news")
        store.subscribe("bob", "news")
        first = store.publish(
            topic="news", data={"n": 1}, limit=10, sender="p", idempotency_key="k"
        )
        again = store.publish(
            topic="news", data={"n": 1}, limit=10, sender="p", idempotency_key="k"
        )
        assert first.deliveries == [("alice", 1), ("bob", 1)] and not first.replayed
        assert again.replayed
        assert (again.event_id, again.published_at, again.deliveries) == (
            first.event_id,
            first.published_at,
            first.deliveries,
        )
        assert store.queue_position("bob") == (0, 1)
        assert len(store.events_from("bob", 1)) == 1


def test_a_key_reused_for_another_request_is_a_conflict(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("alice", "a"), ("bob", "b")])
        store.publish(user="bob", data=1, limit=10, sender="p", idempotency_key="k")
        for user, data in (("bob", 2), ("alice", 1)):  # other data; other target
            with pytest.raises(IdempotencyConflictError):
                store.publish(user=user, data=data, limit=10, sender="p", idempotency_key="k")
        assert store.queue_position("bob") == (0, 1)
        assert store.queue_position("alice") == (0, 0)


def test_keys_are_per_sender_and_without_a_key_every_publish_stores(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "b")])
        store.publish(user="bob", data=1, limit=10, sender="p", idempotency_key="k")
        other = store.publish(user="bob", data=1, limit=10, sender="q", idempotency_key="k")
        assert other.deliveries == [("bob", 2)] and not other.replayed
        store.publish(user="bob", data=1, limit=10, sender="p")
        store.publish(user="bob", data=1, limit=10, sender="p")
        assert store.queue_position("bob") == (0, 4)
        with pytest.raises(ValueError, match="sender"):
            store.publish(user="bob", data=1, limit=10, idempotency_key="k")


def test_a_refused_publish_records_no_key(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "b")])
        store.publish(user="bob", data=0, limit=1)
        with pytest.raises(QueueFullError):
            store.publish(user="bob", data=1, limit=1, sender="p", idempotency_key="k")
        assert store.idempotency_key_count() == 0
        store.ack("bob", 1)
        assert store.publish(
            user="bob", data=1, limit=1, sender="p", idempotency_key="k"
        ).deliveries == [("bob", 2)]


def test_keys_older_than_the_ttl_are_forgotten_and_pruned(tmp_path: Path) -> None:
    with Store(str(tmp_path / "db.sqlite")) as store:
        store.seed_users([("bob", "b")])

        def publish(key: str, now: float) -> tuple[int, bool]:
            published = store.publish(
                user="bob", data=1, limit=10, sender="p",
                idempotency_key=key, idempotency_key_ttl=60, now=now,
            )  # fmt: skip
            return published.deliveries[0][1], published.replayed

        assert publish("old", 1000.0) == (1, False)
        assert publish("new", 1030.0) == (2, False)
        assert publish("old", 1060.0) == (1, True)  # exactly the ttl: still remembered
        assert publish("new", 1061.0) == (2, True)  # "old" is pruned on the way
        assert store.idempotency_key_count() == 1
        assert publish("old", 1061.0) == (3, False)  # forgotten: stored again


def test_keys_survive_reopening_the_database(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    with Store(path) as store:
        store.seed_users([("bob", "b")])
        store.publish(user="bob", data=[1], limit=10, sender="p", idempotency_key="k")
    with Store(path) as store:
        again = store.publish(user="bob", data=[1], limit=10, sender="p", idempotency_key="k")
        assert again.replayed and again.deliveries == [("bob", 1)]
