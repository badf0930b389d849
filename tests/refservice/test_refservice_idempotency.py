"""Idempotency keys of publishes: the pure rules, then over real sockets (HTTP and WebSocket)."""

from __future__ import annotations

import pytest

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
