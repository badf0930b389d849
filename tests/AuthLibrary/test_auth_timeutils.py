from __future__ import annotations

from datetime import timedelta

import pytest

from AuthLibrary.timeutils import format_duration, format_timestamp, seconds


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (-42, "42 s"),
        (303, "5 min 3 s"),
        (7260, "2 h 1 min"),
        (273600, "3 d 4 h"),
        (timedelta(minutes=15), "15 min"),
    ],
)
def test_format_duration(value: float | timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_timestamp_is_utc_iso() -> None:
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"


def test_seconds() -> None:
    assert seconds(None) == 0
    assert seconds(timedelta(seconds=-10)) == -10
    assert seconds(1.6) == 2
