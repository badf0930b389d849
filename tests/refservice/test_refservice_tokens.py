"""tokens.py: issuing, verifying and the stable reason codes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from refservice.config import Settings
from refservice.tokens import REASONS, REQUIRED_CLAIMS, TokenError, TokenService

SECRET = "unit-test-secret-that-is-long-enough-for-hs256-and-even-for-hs512-too"


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=SECRET, access_token_ttl=60, refresh_token_ttl=120)


@pytest.fixture
def tokens(settings: Settings) -> TokenService:
    return TokenService(settings)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,  # Parametrized tokens are made at collection, long before use.
        "iss": "refservice",
        "aud": "refservice-clients",
        "jti": "abc",
        "typ": "access",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def reason(tokens: TokenService, token: str | None, expected: str = "access") -> str:
    with pytest.raises(TokenError) as caught:
        tokens.verify(token, expected)  # type: ignore[arg-type]
    assert caught.value.message
    return caught.value.reason


def test_issued_access_token_has_all_claims(tokens: TokenService) -> None:
    decoded = tokens.verify(tokens.issue("alice", "access"), "access")
    assert set(REQUIRED_CLAIMS) <= set(decoded)
    assert decoded["typ"] == "access"
    assert decoded["exp"] - decoded["iat"] == 60


def test_pair_has_refresh_token(tokens: TokenService) -> None:
    pair = tokens.issue_pair("bob")
    assert tokens.verify(pair.refresh_token, "refresh")["sub"] == "bob"
    assert pair.expires_in == 60


def test_token_ids_are_unique(tokens: TokenService) -> None:
    first = tokens.verify(tokens.issue("alice", "access"), "access")
    second = tokens.verify(tokens.issue("alice", "access"), "access")
    assert first["jti"] != second["jti"]


@pytest.mark.parametrize(
    ("token", "expected_reason"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("not-a-jwt", "malformed_token"),
        ("a.b.c", "malformed_token"),
        (jwt.encode(claims(exp=int(time.time()) - 10), SECRET, "HS256"), "token_expired"),
        (jwt.encode(claims(nbf=int(time.time()) + 86400), SECRET, "HS256"), "token_not_yet_valid"),
        (jwt.encode(claims(iat=int(time.time()) + 86400), SECRET, "HS256"), "token_not_yet_valid"),
        (
            jwt.encode(claims(), "another-secret-of-sufficient-length!!", "HS256"),
            "invalid_signature",
        ),
        (jwt.encode(claims(aud="someone-else"), SECRET, "HS256"), "invalid_audience"),
        (jwt.encode(claims(iss="someone-else"), SECRET, "HS256"), "invalid_issuer"),
        (jwt.encode(claims(), SECRET, "HS512"), "algorithm_not_allowed"),
        (jwt.encode(claims(), "", "none"), "algorithm_not_allowed"),
        (jwt.encode(claims(iss=None), SECRET, "HS256"), "missing_claim"),
        (jwt.encode(claims(exp=None), SECRET, "HS256"), "missing_claim"),
        (jwt.encode(claims(typ=None), SECRET, "HS256"), "missing_claim"),
        (jwt.encode(claims(typ="refresh"), SECRET, "HS256"), "wrong_token_type"),
    ],
)
def test_reason_codes(tokens: TokenService, token: str | None, expected_reason: str) -> None:
    assert reason(tokens, token) == expected_reason


def test_access_token_is_not_a_refresh_token(tokens: TokenService) -> None:
    assert reason(tokens, tokens.issue("alice", "access"), "refresh") == "wrong_token_type"


def test_tampered_payload_fails_signature(tokens: TokenService) -> None:
    header, _, signature = tokens.issue("alice", "access").split(".")
    other_payload = jwt.encode(claims(sub="mallory"), "x" * 32, "HS256").split(".")[1]
    assert reason(tokens, f"{header}.{other_payload}.{signature}") == "invalid_signature"


def test_leeway_accepts_recently_expired() -> None:
    service = TokenService(Settings(jwt_secret=SECRET, leeway=30))
    token = jwt.encode(claims(exp=int(time.time()) - 5), SECRET, "HS256")
    assert service.verify(token, "access")["sub"] == "alice"


def test_short_fractional_ttl_expires() -> None:
    service = TokenService(Settings(jwt_secret=SECRET, access_token_ttl=0.2))
    token = service.issue("alice", "access", now=time.time() - 1)
    assert reason(service, token) == "token_expired"


def test_every_reason_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    for code in REASONS:
        assert f"`{code}`" in doc


def _pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_rs256_with_private_key_only(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(_pem(key))
    service = TokenService(Settings(jwt_algorithm="RS256", jwt_private_key=tmp_path / "rsa.pem"))
    token = service.issue("alice", "access")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert service.verify(token, "access")["sub"] == "alice"
    # An HS256 token signed with the public key must not pass (key confusion).
    assert reason(service, jwt.encode(claims(), "x" * 32, "HS256")) == "algorithm_not_allowed"


def test_es256_with_public_key_file(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(_pem(key))
    (tmp_path / "ec.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    service = TokenService(
        Settings(
            jwt_algorithm="ES256",
            jwt_private_key=tmp_path / "ec.pem",
            jwt_public_key=tmp_path / "ec.pub",
        )
    )
    assert service.verify(service.issue("bob", "refresh"), "refresh")["sub"] == "bob"
    other = ec.generate_private_key(ec.SECP256R1())
    assert reason(service, jwt.encode(claims(), other, "ES256")) == "invalid_signature"
