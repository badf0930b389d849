"""store.py: seeded users with salted password hashes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from refservice.store import Store, check_password, hash_password


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
