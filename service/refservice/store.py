"""SQLite storage behind one small class.

It holds the users, the durable per-user event queues, topic subscriptions and the
per-user state documents. Callers only ever see :class:`Store` methods, never SQL.

Durability: a file database runs with ``journal_mode=WAL`` and ``synchronous=FULL``, and
every write is one transaction committed before the method returns. So whatever a
method has returned (and the service has acknowledged to a client) survives ``kill -9``
of the service, and with ``FULL`` also a power cut: the WAL is fsynced on every commit.
Writes that allocate sequence numbers or versions run in ``BEGIN IMMEDIATE``
transactions, so concurrent writers (threads, or even other processes on the same file)
can never allocate the same number twice or leave a gap.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from refservice.config import DEFAULT_IDEMPOTENCY_KEY_TTL
from refservice.idempotency import request_fingerprint
from refservice.metrics import utc_now_iso

# scrypt cost: deliberately modest so a test suite can log in hundreds of times.
# The parameters are stored with each hash, so they can be raised without a migration.
_SCRYPT_N = 2**12
# For users seeded from a pattern (--seed-users): their passwords follow a published
# pattern, so a slow hash protects nothing, and at 2**12 seeding 500 of them would add
# 5 s to every start (2**8: 0.6 ms each).
SEEDED_USER_SCRYPT_N = 2**8
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    roles         TEXT NOT NULL DEFAULT '[]'
);
-- One row per user that ever had an event: seq allocation survives deleted events.
CREATE TABLE IF NOT EXISTS queues (
    username   TEXT PRIMARY KEY,
    latest_seq INTEGER NOT NULL DEFAULT 0,
    acked_seq  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    username     TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    topic        TEXT,
    data         TEXT NOT NULL,
    published_at TEXT NOT NULL,
    sender       TEXT,
    PRIMARY KEY (username, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
    username TEXT NOT NULL,
    topic    TEXT NOT NULL,
    PRIMARY KEY (username, topic)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriptions_by_topic ON subscriptions (topic, username);
CREATE TABLE IF NOT EXISTS states (
    username TEXT PRIMARY KEY,
    version  INTEGER NOT NULL,
    doc      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state_patches (
    username TEXT NOT NULL,
    version  INTEGER NOT NULL,
    patch    TEXT NOT NULL,
    PRIMARY KEY (username, version)
) WITHOUT ROWID;
"""


# Refresh-token rotation: one row per issued refresh token that has not expired yet.
# ``used`` marks a token already traded in; ``revoked`` a whole family after a reuse.
_REFRESH_TOKEN_SCHEMA = """
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_id   TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    username   TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_expiry ON refresh_tokens (expires_at);
"""


# Idempotency keys of publishes, per publishing user: the request's fingerprint and the
# outcome (JSON: event_id, published_at, deliveries), written with the event(s).
_IDEMPOTENCY_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    sender      TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (sender, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at);
"""


class RefreshOutcome(enum.Enum):
    """What :meth:`Store.rotate_refresh_token` did with the presented refresh token."""

    ROTATED = "rotated"
    """It was current: it is retired now, and the new one continues its family."""
    REUSED = "reused"
    """It was retired already: the whole family is revoked now (nothing was issued)."""
    REVOKED = "revoked"
    """Its family was revoked after an earlier reuse."""
    UNKNOWN = "unknown"
    """The store has no record of it (not issued here, expired and pruned, or no ``jti``)."""


class UnknownUserError(LookupError):
    """The named recipient is not a user."""

    def __init__(self, user: str) -> None:
        super().__init__(f"User {user!r} does not exist.")
        self.user = user


class QueueFullError(Exception):
    """A recipient already has ``limit`` unacknowledged events; nothing was enqueued."""

    def __init__(self, user: str, limit: int) -> None:
        super().__init__(f"The event queue of {user!r} is full ({limit} unacknowledged events).")
        self.user = user
        self.limit = limit


class AckBeyondLatestError(ValueError):
    """An ack named a seq that was never allocated."""

    def __init__(self, seq: int, latest: int) -> None:
        super().__init__(f"Cannot acknowledge seq {seq}: the latest seq is {latest}.")
        self.seq = seq
        self.latest = latest


class IdempotencyConflictError(Exception):
    """A publish reused an idempotency key of its sender for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency key {key!r} was already used for a different publish "
            "(another target or data)."
        )
        self.key = key


@dataclass(frozen=True)
class Published:
    """The outcome of one publish: one ``(user, seq)`` per recipient, in user order.

    ``replayed``: the publish repeated an idempotency key, so nothing was stored now and
    this is the outcome of the first publish with that key.
    """

    event_id: str
    published_at: str
    deliveries: list[tuple[str, int]]
    replayed: bool = False


@dataclass(frozen=True)
class PatchResult:
    """``applied`` with the new ``version``; or a conflict with the current version and doc."""

    applied: bool
    version: int
    doc: dict[str, Any] | None = None


@dataclass(frozen=True)
class StateSince:
    """What a client at some version needs: the patches after it, or (``None``) a snapshot."""

    version: int
    doc: dict[str, Any]
    patches: list[tuple[int, Any]] | None


_MISSING = object()


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch to ``target`` and return the result (a new value)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key, _MISSING), value)
    return result


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _replayed(outcome: dict[str, Any]) -> Published:
    """The recorded outcome of an idempotency key, as a replayed :class:`Published`."""
    return Published(
        outcome["event_id"],
        outcome["published_at"],
        [(name, int(seq)) for name, seq in outcome["deliveries"]],
        replayed=True,
    )


def hash_password(password: str, *, salt: bytes | None = None, cost: int = _SCRYPT_N) -> str:
    """Return ``scrypt$N$r$p$salt_hex$hash_hex`` for ``password`` (``cost`` is N)."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${cost}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, encoded: str) -> bool:
    """Return whether ``password`` matches a value made by :func:`hash_password`."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


# Compared against when the user does not exist, so both paths take the same time.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


class Store:
    """The service's SQLite database. Safe to share between threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged write survives
            # kill -9 and power loss alike (NORMAL would only survive a process crash).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            self._db.executescript(_REFRESH_TOKEN_SCHEMA)
            self._db.executescript(_IDEMPOTENCY_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(users)")}
            if "roles" not in columns:  # a database made before roles existed
                self._db.execute("ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'")
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
            if "sender" not in columns:  # a database made before events named their sender
                self._db.execute("ALTER TABLE events ADD COLUMN sender TEXT")
        # Events acknowledged before a crash may still be stored; nobody needs them now.
        self.prune_acked()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: ``BEGIN IMMEDIATE`` ... ``COMMIT``."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- users -------------------------------------------------------------------------

    def seed_users(self, users: Iterable[Sequence[Any]], *, cost: int = _SCRYPT_N) -> None:
        """Create the users, or reset their passwords (and roles) when they already exist.

        Each user is ``(name, password)`` or ``(name, password, roles)``; ``cost`` is the
        scrypt N of their password hashes.
        """
        rows = [
            (
                user[0],
                hash_password(user[1], cost=cost),
                _dumps(sorted(user[2]) if len(user) > 2 else []),
            )
            for user in users
        ]
        with self._write() as db:
            db.executemany(
                "INSERT INTO users (username, password_hash, roles) VALUES (?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, "
                "roles = excluded.roles",
                rows,
            )

    def user_roles(self, username: str) -> list[str]:
        """The user's roles (empty for an unknown user)."""
        with self._lock:
            row = self._db.execute(
                "SELECT roles FROM users WHERE username = ?", (username,)
            ).fetchone()
        return list(json.loads(row[0])) if row else []

    def user_exists(self, username: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
        return row is not None

    def usernames(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT username FROM users ORDER BY username").fetchall()
        return [row[0] for row in rows]

    def verify_password(self, username: str, password: str) -> bool:
        """Return whether ``username`` exists and ``password`` is theirs."""
        with self._lock:
            row = self._db.execute(
                "SELECT password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
        if row is None:
            check_password(password, _DUMMY_HASH)
            return False
        return check_password(password, row[0])

    # --- event queue -----------------------------------------------------------------

    def publish(
        self,
        *,
        user: str | None = None,
        topic: str | None = None,
        data: Any,
        limit: int,
        sender: str | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: float = DEFAULT_IDEMPOTENCY_KEY_TTL,
        now: float | None = None,
    ) -> Published:
        """Enqueue one event for ``user``, or for every subscriber of ``topic``.

        ``sender`` is the user who published it, delivered with the event.

        With an ``idempotency_key`` (which needs a ``sender``: keys are per sender) the
        outcome is recorded under ``(sender, key)`` in the same transaction as the event.
        A later publish with that key and the same target and data stores nothing and
        returns the recorded outcome (``replayed``); with other target or data it raises
        :class:`IdempotencyConflictError`. Keys recorded more than ``idempotency_key_ttl``
        seconds before ``now`` (default: the clock) are forgotten, deleted as keys are
        recorded. A refused publish records nothing, so its retry is tried afresh.

        All or nothing: raises :class:`QueueFullError` (nothing enqueued for anyone) when any
        recipient already has ``limit`` unacknowledged events, and :class:`UnknownUserError`
        for a ``user`` that does not exist. Each recipient's seq is its latest plus one,
        allocated inside the same ``BEGIN IMMEDIATE`` transaction, so seqs have no gaps.
        """
        if idempotency_key is not None and sender is None:
            raise ValueError("An idempotency key needs a sender: keys are per sender.")
        event_id, published_at, payload = str(uuid.uuid4()), utc_now_iso(), _dumps(data)
        fingerprint = ""
        if idempotency_key is not None:
            fingerprint = request_fingerprint(user=user, topic=topic, data=data)
        moment = time.time() if now is None else now
        with self._write() as db:
            if idempotency_key is not None:
                db.execute(
                    "DELETE FROM idempotency_keys WHERE created_at < ?",
                    (moment - idempotency_key_ttl,),
                )
                row = db.execute(
                    "SELECT fingerprint, result FROM idempotency_keys WHERE sender = ? AND key = ?",
                    (sender, idempotency_key),
                ).fetchone()
                if row is not None:
                    if row[0] != fingerprint:
                        raise IdempotencyConflictError(idempotency_key)
                    return _replayed(json.loads(row[1]))
            if user is not None:
                if db.execute("SELECT 1 FROM users WHERE username = ?", (user,)).fetchone() is None:
                    raise UnknownUserError(user)
                recipients = [user]
            else:
                recipients = [
                    row[0]
                    for row in db.execute(
                        "SELECT s.username FROM subscriptions s JOIN users u "
                        "ON u.username = s.username WHERE s.topic = ? ORDER BY s.username",
                        (topic,),
                    )
                ]
            positions: list[tuple[str, int]] = []
            for name in recipients:
                row = db.execute(
                    "SELECT latest_seq, acked_seq FROM queues WHERE username = ?", (name,)
                ).fetchone()
                latest, acked = row if row else (0, 0)
                if latest - acked >= limit:
                    raise QueueFullError(name, limit)
                positions.append((name, latest + 1))
            for name, seq in positions:
                db.execute(
                    "INSERT INTO queues (username, latest_seq) VALUES (?, ?) "
                    "ON CONFLICT(username) DO UPDATE SET latest_seq = excluded.latest_seq",
                    (name, seq),
                )
                db.execute(
                    "INSERT INTO events "
                    "(username, seq, event_id, topic, data, published_at, sender) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, seq, event_id, topic, payload, published_at, sender),
                )
            if idempotency_key is not None:
                outcome = {
                    "event_id": event_id,
                    "published_at": published_at,
                    "deliveries": positions,
                }
                db.execute(
                    "INSERT INTO idempotency_keys "
                    "(sender, key, fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?)",
                    (sender, idempotency_key, fingerprint, _dumps(outcome), moment),
                )
        return Published(event_id, published_at, positions)

    def idempotency_key_count(self) -> int:
        """How many idempotency keys the store remembers."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM idempotency_keys").fetchone()[0])

    def queue_position(self, username: str) -> tuple[int, int]:
        """``(last_acked_seq, latest_seq)`` of the user's queue (``(0, 0)`` if never used)."""
        with self._lock:
            row = self._db.execute(
                "SELECT acked_seq, latest_seq FROM queues WHERE username = ?", (username,)
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def events_from(self, username: str, first_seq: int, limit: int = 500) -> list[dict[str, Any]]:
        """Up to ``limit`` stored events of the user with ``seq >= first_seq``, as frames."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, data, published_at, sender FROM events "
                "WHERE username = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (username, first_seq, limit),
            ).fetchall()
        return [
            {
                "type": "event",
                "seq": seq,
                "event_id": event_id,
                "topic": topic,
                "data": json.loads(data),
                "published_at": published_at,
                "sender": sender,
            }
            for seq, event_id, topic, data, published_at, sender in rows
        ]

    def ack(self, username: str, seq: int) -> tuple[int, int]:
        """Acknowledge every event of the user up to ``seq``; return ``(before, after)``.

        Cumulative and idempotent: an ack at or below the current one changes nothing.
        Raises :class:`AckBeyondLatestError` for a seq that was never allocated.
        """
        with self._write() as db:
            row = db.execute(
                "SELECT acked_seq, latest_seq FROM queues WHERE username = ?", (username,)
            ).fetchone()
            acked, latest = row if row else (0, 0)
            if seq > latest:
                raise AckBeyondLatestError(seq, latest)
            if seq > acked:
                db.execute("UPDATE queues SET acked_seq = ? WHERE username = ?", (seq, username))
                return acked, seq
            return acked, acked

    def prune(self, username: str, up_to_seq: int) -> int:
        """Delete the user's acknowledged events with ``seq <= up_to_seq``; return how many."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM events WHERE username = ? AND seq <= ? AND seq <= "
                "(SELECT acked_seq FROM queues WHERE username = ?)",
                (username, up_to_seq, username),
            )
            return cursor.rowcount

    def prune_acked(self) -> int:
        """Delete every acknowledged event of every user."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM events WHERE seq <= "
                "(SELECT acked_seq FROM queues q WHERE q.username = events.username)"
            )
            return cursor.rowcount

    def pending_counts(self) -> dict[str, int]:
        """Unacknowledged events per user, for users that have any."""
        with self._lock:
            rows = self._db.execute(
                "SELECT username, latest_seq - acked_seq FROM queues "
                "WHERE latest_seq > acked_seq ORDER BY username"
            ).fetchall()
        return {name: int(count) for name, count in rows}

    # --- subscriptions ---------------------------------------------------------------

    def subscribe(self, username: str, topic: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO subscriptions (username, topic) VALUES (?, ?)",
                (username, topic),
            )

    def unsubscribe(self, username: str, topic: str) -> None:
        with self._write() as db:
            db.execute(
                "DELETE FROM subscriptions WHERE username = ? AND topic = ?", (username, topic)
            )

    def subscriptions(self, username: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT topic FROM subscriptions WHERE username = ? ORDER BY topic", (username,)
            ).fetchall()
        return [row[0] for row in rows]

    # --- state documents -------------------------------------------------------------

    def _state(self, db: sqlite3.Connection, username: str) -> tuple[int, dict[str, Any]]:
        row = db.execute(
            "SELECT version, doc FROM states WHERE username = ?", (username,)
        ).fetchone()
        return (int(row[0]), json.loads(row[1])) if row else (0, {})

    def state_get(self, username: str) -> tuple[int, dict[str, Any]]:
        """``(version, doc)``: version 0 and ``{}`` for a user that never patched."""
        with self._lock:
            return self._state(self._db, username)

    def state_patch(
        self, username: str, base_version: int, patch: dict[str, Any], history: int
    ) -> PatchResult:
        """Apply ``patch`` if ``base_version`` is current; keep the last ``history`` patches."""
        with self._write() as db:
            version, doc = self._state(db, username)
            if base_version != version:
                return PatchResult(applied=False, version=version, doc=doc)
            new_doc = merge_patch(doc, patch)
            new_version = version + 1
            db.execute(
                "INSERT INTO states (username, version, doc) VALUES (?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET version = excluded.version, "
                "doc = excluded.doc",
                (username, new_version, _dumps(new_doc)),
            )
            if history > 0:
                db.execute(
                    "INSERT INTO state_patches (username, version, patch) VALUES (?, ?, ?)",
                    (username, new_version, _dumps(patch)),
                )
            db.execute(
                "DELETE FROM state_patches WHERE username = ? AND version <= ?",
                (username, new_version - history),
            )
            return PatchResult(applied=True, version=new_version)

    def state_since(self, username: str, version: int) -> StateSince:
        """The patches after ``version`` if every one is still kept, else a snapshot."""
        with self._lock:
            current, doc = self._state(self._db, username)
            if version > current or version < 0:
                return StateSince(current, doc, None)
            rows = self._db.execute(
                "SELECT version, patch FROM state_patches WHERE username = ? AND version > ? "
                "ORDER BY version",
                (username, version),
            ).fetchall()
        if len(rows) != current - version:
            return StateSince(current, doc, None)
        return StateSince(current, doc, [(int(v), json.loads(p)) for v, p in rows])

    # --- refresh-token rotation ------------------------------------------------------

    def start_refresh_family(
        self, username: str, token_id: str, expires_at: float, *, now: float
    ) -> None:
        """Record the refresh token of a login: the first of a new family.

        Also deletes the records of refresh tokens expired before ``now``: a token that
        has expired is refused anyway, so its record has done its work.
        """
        with self._write() as db:
            db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO refresh_tokens (token_id, family, username, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_id, token_id, username, expires_at),
            )

    def rotate_refresh_token(
        self, presented_id: str, new_id: str, new_expires_at: float, *, now: float
    ) -> RefreshOutcome:
        """Trade in the refresh token ``presented_id`` for ``new_id``, in one transaction.

        Only a current token is retired and succeeded by ``new_id`` (same family). A token
        retired before is a reuse: someone else holds a copy, so the whole family is
        revoked, the newest token included. Two refreshes racing with one token are
        serialised by ``BEGIN IMMEDIATE``: the second one is the reuse.
        """
        with self._write() as db:
            db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
            row = db.execute(
                "SELECT family, username, used, revoked FROM refresh_tokens WHERE token_id = ?",
                (presented_id,),
            ).fetchone()
            if row is None:
                return RefreshOutcome.UNKNOWN
            family, username, used, revoked = row
            if used:
                db.execute("UPDATE refresh_tokens SET revoked = 1 WHERE family = ?", (family,))
                return RefreshOutcome.REUSED
            if revoked:
                return RefreshOutcome.REVOKED
            db.execute("UPDATE refresh_tokens SET used = 1 WHERE token_id = ?", (presented_id,))
            db.execute(
                "INSERT INTO refresh_tokens (token_id, family, username, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (new_id, family, username, new_expires_at),
            )
            return RefreshOutcome.ROTATED

    def refresh_token_count(self) -> int:
        """How many refresh-token records the store keeps (retired ones included)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM refresh_tokens").fetchone()[0])
