"""Fixtures for the keyword-layer tests."""

from __future__ import annotations

import pytest

from AuthLibrary.keywords import base


@pytest.fixture
def log_messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Capture what the keywords log, as ``(level, message)`` pairs."""
    messages: list[tuple[str, str]] = []
    monkeypatch.setattr(
        base.logger,
        "write",
        lambda message, level="INFO", html=False: messages.append((level, message)),
    )
    return messages


@pytest.fixture
def robot_log_level(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pretend to run inside Robot at a given ``${LOG_LEVEL}``: call it with the level."""

    def set_level(level: str) -> None:
        monkeypatch.setattr(base.LibraryComponent, "current_log_level", staticmethod(lambda: level))

    return set_level
