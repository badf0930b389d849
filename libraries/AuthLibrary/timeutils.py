"""Formatting of JWT NumericDate values and durations for messages."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


def now_timestamp() -> int:
    """The current time as a JWT NumericDate (whole seconds since the epoch)."""
    return int(time.time())


def format_timestamp(value: float) -> str:
    """Format a NumericDate as an ISO 8601 UTC string, e.g. ``2026-11-24T03:00:00Z``."""
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(value: float | timedelta) -> str:
    """Format a duration briefly: ``0 s``, ``42 s``, ``5 min 3 s``, ``2 h 1 min``, ``3 d 4 h``.

    The sign is dropped; callers say "in the past" or "in the future".
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    remaining = round(abs(seconds))
    if remaining == 0:
        return "0 s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts[:2])


def seconds(value: timedelta | float | None) -> int:
    """Whole seconds of ``value`` (``None`` is zero)."""
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return round(value.total_seconds())
    return round(value)
