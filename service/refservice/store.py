"""SQLite storage behind one small class.

Today it holds the users table. Later features (a durable per-user event queue) add
tables and methods here; callers only ever see :class:`Store` methods, never SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from types import TracebackType

# scrypt cost: deliberately modest so a test suite can log in hundreds of times.
# The parameters are stored with each hash, so they can be raised without a migration.
_SCRYPT_N = 2**12
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return ``scrypt$N$r$p$salt_hex$hash_hex`` for ``password``."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


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
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

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

    def seed_users(self, users: Iterable[tuple[str, str]]) -> None:
        """Create the users, or reset their passwords when they already exist."""
        rows = [(name, hash_password(password)) for name, password in users]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO users (username, password_hash) VALUES (?, ?) "
                    "ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
