"""An optional Origin allowlist: other Origins get 403 before the token is even looked at."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.config import ConfigError, load_settings


@pytest.fixture
def guarded(make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]) -> Any:
    return client_for(make_service(allowed_origins="https://app.example, http://localhost:3000/"))


@pytest.mark.parametrize("origin", ["https://app.example", "http://localhost:3000"])
def test_an_allowed_origin_connects(guarded: Any, origin: str) -> None:
    guarded.connect(origin=origin).close()


def test_a_client_without_origin_connects(guarded: Any) -> None:
    guarded.connect(suppress_origin=True).close()


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://app.example.evil", "http://app.example", "null"]
)
def test_any_other_origin_is_refused_with_403(guarded: Any, origin: str) -> None:
    status, body = guarded.rejection(guarded.token(), origin=origin)
    assert (status, body["error"]) == (403, "origin_not_allowed")
    status, body = guarded.rejection(None, origin=origin)  # before the token counts
    assert status == 403


def test_without_an_allowlist_any_origin_connects(client: Any) -> None:
    client.connect(origin="https://anywhere.example").close()


def test_origins_must_be_scheme_and_host() -> None:
    assert load_settings(
        ["--allowed-origins", "https://a.example/,http://b:8"], {}
    ).allowed_origins == (
        "https://a.example",
        "http://b:8",
    )
    with pytest.raises(ConfigError, match="scheme://host"):
        load_settings(["--allowed-origins", "a.example"], {})
