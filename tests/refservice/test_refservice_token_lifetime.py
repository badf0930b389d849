"""The longest token lifetime the service accepts: ``--max-token-lifetime`` (issue 9)."""

from __future__ import annotations

import functools
import time
from typing import Any

import jwt
import pytest
from token_claims import access_claims

from ReferenceServiceLibrary.process import ServiceError
from refservice.config import DEFAULT_MAX_TOKEN_LIFETIME, ConfigError, Settings, load_settings
from refservice.tokens import TokenError, TokenService

SECRET = "lifetime-test-secret-that-is-long-enough-for-hs256-and-more"


claims = functools.partial(access_claims, lifetime=600)


def verify(tokens: TokenService, payload: dict[str, Any], expected: str = "access") -> None:
    tokens.verify(jwt.encode(payload, SECRET, "HS256"), expected)  # type: ignore[arg-type]


def refusal(tokens: TokenService, payload: dict[str, Any], expected: str = "access") -> TokenError:
    with pytest.raises(TokenError) as caught:
        verify(tokens, payload, expected)
    return caught.value


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(Settings(jwt_secret=SECRET))


def test_the_default_limit_is_one_hour_and_the_issued_15_minutes_are_within_it() -> None:
    settings = Settings(jwt_secret=SECRET)
    assert settings.max_token_lifetime == DEFAULT_MAX_TOKEN_LIFETIME == 3600
    tokens = TokenService(settings)
    assert tokens.verify(tokens.issue("alice", "access"), "access")["sub"] == "alice"
    assert tokens.verify(tokens.issue("alice", "refresh"), "refresh")["sub"] == "alice"


def test_an_access_token_one_second_over_the_limit_is_refused(tokens: TokenService) -> None:
    now = int(time.time())
    verify(tokens, claims(iat=now, exp=now + 3600))  # exactly the limit: accepted
    error = refusal(tokens, claims(iat=now, exp=now + 3601))
    assert (error.reason, error.message) == (
        "token_lifetime_too_long",
        "The access token lives 3601 s; the service allows 3600 s at most.",
    )


def test_the_lifetime_counts_from_iat_not_from_now(tokens: TokenService) -> None:
    """A token issued 10 h ago that expires in 50 min was issued for 10 h 50 min."""
    now = int(time.time())
    assert refusal(tokens, claims(iat=now - 36000, nbf=None, exp=now + 3000)).reason == (
        "token_lifetime_too_long"
    )


def test_without_iat_the_lifetime_is_what_is_left(tokens: TokenService) -> None:
    now = int(time.time())
    verify(tokens, claims(iat=None, exp=now + 3500))
    assert refusal(tokens, claims(iat=None, exp=now + 3700)).reason == "token_lifetime_too_long"


def test_refresh_tokens_may_live_the_refresh_token_ttl_at_most() -> None:
    tokens = TokenService(Settings(jwt_secret=SECRET, refresh_token_ttl=7200))
    now = int(time.time())
    verify(tokens, claims(typ="refresh", exp=now + 7200), "refresh")
    error = refusal(tokens, claims(typ="refresh", exp=now + 7201), "refresh")
    assert (error.reason, error.message) == (
        "token_lifetime_too_long",
        "The refresh token lives 7201 s; the service allows 7200 s at most.",
    )


def test_zero_means_no_limit_for_access_tokens() -> None:
    tokens = TokenService(Settings(jwt_secret=SECRET, max_token_lifetime=0))
    now = int(time.time())
    verify(tokens, claims(exp=now + 30 * 86400))


def test_fractional_ttl_tokens_pass_even_at_the_limit() -> None:
    """iat is whole seconds, exp is not: up to one second over is the service's own rounding."""
    tokens = TokenService(Settings(jwt_secret=SECRET, access_token_ttl=0.5, max_token_lifetime=0.5))
    for _ in range(5):
        token = tokens.issue("alice", "access")
        assert tokens.verify(token, "access")["sub"] == "alice"


def test_a_ttl_above_the_limit_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"access_token_ttl \(7200 s\) exceeds"):
        Settings(jwt_secret=SECRET, access_token_ttl=7200)
    with pytest.raises(ConfigError, match="must not be negative"):
        Settings(jwt_secret=SECRET, max_token_lifetime=-1)
    assert Settings(access_token_ttl=7200, max_token_lifetime=7200).max_token_lifetime == 7200


def test_the_flag_and_the_env_var() -> None:
    assert load_settings(["--max-token-lifetime", "2h"], {}).max_token_lifetime == 7200
    env = {"REFSERVICE_MAX_TOKEN_LIFETIME": "30m", "REFSERVICE_ACCESS_TOKEN_TTL": "5m"}
    assert load_settings([], env).max_token_lifetime == 1800


def test_the_service_refuses_a_long_lived_token_everywhere(make_service, client_for) -> None:
    service = make_service(max_token_lifetime="10m", access_token_ttl="5m")
    client = client_for(service)
    now = int(time.time())
    long_lived = client.forge(iat=now, exp=now + 601)
    status, body = client.rejection(long_lived)
    assert (status, body["error"]) == (401, "token_lifetime_too_long")
    response = client.post("/events", {}, headers={"Authorization": f"Bearer {long_lived}"})
    assert (response.status_code, response.json()["error"]) == (401, "token_lifetime_too_long")
    long_refresh = client.forge(typ="refresh", iat=now, exp=now + 86401)
    response = client.post("/auth/refresh", {"refresh_token": long_refresh})
    assert (response.status_code, response.json()["error"]) == (401, "token_lifetime_too_long")
    # Within the limit: accepted, like the service's own tokens.
    client.connect(client.forge(iat=now, exp=now + 600)).close()


def test_the_service_refuses_to_start_with_a_ttl_above_the_limit(make_service) -> None:
    with pytest.raises(ServiceError, match="exceeds max_token_lifetime"):
        make_service(max_token_lifetime="10m", access_token_ttl="15m")
