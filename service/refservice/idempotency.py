"""Idempotency keys of publishes: the pure rules (key syntax, request fingerprint).

A publisher that retries after losing the reply sends the same key again; the store
(:meth:`refservice.store.Store.publish`) then answers with the first outcome instead of
storing the event twice. A key belongs to the publishing user, and it only stands for
one request: its fingerprint is the sha256 of the canonical JSON of target and data.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

MAX_IDEMPOTENCY_KEY_LENGTH = 200
# Printable ASCII (space to tilde): safe in an HTTP header and in a log line.
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}")

KEY_RULE = f"1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"


def is_valid_idempotency_key(value: object) -> bool:
    """Whether ``value`` is a usable key: a string of :data:`KEY_RULE`."""
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def request_fingerprint(*, user: str | None, topic: str | None, data: Any) -> str:
    """The sha256 (hex) of the canonical JSON of a publish's target and data.

    Canonical: sorted keys, no whitespace, non-ASCII escaped, so the same request gives
    the same fingerprint whichever way (HTTP or WebSocket) and key order it came in.
    """
    target = {"user": user} if user is not None else {"topic": topic}
    canonical = json.dumps(
        {"target": target, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
