"""Shared pytest fixtures: a real reference service process for end-to-end tests.

- ``service`` (session scope): one running :class:`ServiceProcess` with default settings.
  Use ``service.http_url``, ``service.ws_url``, ``service.jwt_secret``, ``service.issuer``,
  ``service.audience``, ``service.database``.
- ``fresh_service`` (alias ``make_service``, function scope): a factory
  ``make_service(**settings) -> ServiceProcess`` for private instances with their own
  settings (``access_token_ttl=0.2``, ``max_message_size=1024`` ...), stopped at teardown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parent.parent
for _source in (_ROOT / "service", _ROOT / "libraries"):
    if str(_source) not in sys.path:
        sys.path.insert(0, str(_source))

from ReferenceServiceLibrary.process import ServiceProcess  # noqa: E402

ServiceFactory = Callable[..., ServiceProcess]


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One reference service shared by the whole test session."""
    process = ServiceProcess(workdir=tmp_path_factory.mktemp("refservice"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def fresh_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceFactory]:
    """Factory for private services: ``make_service(**settings)``; stopped at teardown."""
    started: list[ServiceProcess] = []

    def make_service(**settings: Any) -> ServiceProcess:
        process = ServiceProcess(workdir=tmp_path_factory.mktemp("refservice"), **settings)
        started.append(process)
        return process.start()

    try:
        yield make_service
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def make_service(fresh_service: ServiceFactory) -> ServiceFactory:
    """Same as ``fresh_service``."""
    return fresh_service
