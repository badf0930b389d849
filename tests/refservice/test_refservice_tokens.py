"""tokens.py: issuing, verifying and the stable reason codes."""

from __future__ import annotations

import functools
import itertools
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from token_claims import access_claims

from refservice.__main__ import main
from refservice.config import ConfigError, Settings
from refservice.tokens import REASONS, REQUIRED_CLAIMS, TokenError, TokenService

SECRET = "unit-test-secret-that-is-long-enough-for-hs256-and-even-for-hs512-too"


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=SECRET, access_token_ttl=60, refresh_token_ttl=120)


@pytest.fixture
def tokens(settings: Settings) -> TokenService:
    return TokenService(settings)


# Parametrized tokens are made at collection, long before use: they live an hour.
claims = functools.partial(access_claims, lifetime=3600)


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


def unverified(token: str) -> dict[str, Any]:
    """The claims of ``token`` without any check (for tokens issued at a fixed past time)."""
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_token_error_text_is_reason_and_message() -> None:
    error = TokenError("token_expired")
    assert (error.reason, error.message) == ("token_expired", "The token has expired.")
    assert str(error) == "token_expired: The token has expired."
    custom = TokenError("malformed_token", "Bad header.")
    assert (custom.message, str(custom)) == ("Bad header.", "malformed_token: Bad header.")


def test_unknown_reason_code_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^Unknown token reason code 'bogus'\.$"):
        TokenError("bogus")


@pytest.mark.parametrize(("algorithm", "key"), [("HS512", SECRET), ("none", "")])
def test_algorithm_refusal_names_offered_and_accepted_algorithm(
    tokens: TokenService, algorithm: str, key: str
) -> None:
    with pytest.raises(TokenError) as caught:
        tokens.verify(jwt.encode(claims(), key, algorithm), "access")
    assert caught.value.reason == "algorithm_not_allowed"
    assert caught.value.message == (
        f"The token is signed with {algorithm!r}; only HS256 is accepted."
    )


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_missing_claim_is_named(tokens: TokenService, claim: str) -> None:
    with pytest.raises(TokenError) as caught:
        tokens.verify(jwt.encode(claims(**{claim: None}), SECRET, "HS256"), "access")
    assert caught.value.reason == "missing_claim"
    assert caught.value.message == f"The token lacks the required {claim!r} claim."


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_leeway_accepts_nbf_and_iat_slightly_in_the_future(claim: str) -> None:
    service = TokenService(Settings(jwt_secret=SECRET, leeway=30))
    soon = jwt.encode(claims(**{claim: int(time.time()) + 10}), SECRET, "HS256")
    assert service.verify(soon, "access")["sub"] == "alice"
    later = jwt.encode(claims(**{claim: int(time.time()) + 60}), SECRET, "HS256")
    assert reason(service, later) == "token_not_yet_valid"


def test_issue_at_a_fixed_time_gives_whole_second_claims(tokens: TokenService) -> None:
    access = unverified(tokens.issue("alice", "access", now=1000.9, roles=["publisher"]))
    assert access == {
        "sub": "alice",
        "iat": 1000,
        "nbf": 1000,
        "exp": 1060,
        "iss": "refservice",
        "aud": "refservice-clients",
        "jti": access["jti"],
        "typ": "access",
        "roles": ["publisher"],
    }
    refresh = unverified(tokens.issue("alice", "refresh", now=1000.9))
    assert (refresh["iat"], refresh["exp"], refresh["typ"]) == (1000, 1120, "refresh")
    assert "roles" not in refresh


def test_fractional_ttl_gives_exp_in_milliseconds_from_the_exact_issue_time() -> None:
    service = TokenService(Settings(jwt_secret=SECRET, access_token_ttl=0.2))
    issued = unverified(service.issue("alice", "access", now=1000.12345))
    assert issued["exp"] == 1000.323
    assert issued["iat"] == issued["nbf"] == 1000


def test_pair_tokens_share_one_issue_time(
    tokens: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both tokens of a pair are issued at one reading of the clock, however slow signing is."""
    clock = itertools.count(1000, 1000)  # every reading is 1000 s after the one before
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: float(next(clock)))
        pair = tokens.issue_pair("bob", roles=["publisher"])
    access, refresh = unverified(pair.access_token), unverified(pair.refresh_token)
    assert (access["iat"], access["exp"], access["roles"]) == (1000, 1060, ["publisher"])
    assert (refresh["iat"], refresh["exp"], refresh["typ"]) == (1000, 1120, "refresh")
    assert pair.expires_in == 60


def refusal(tokens: TokenService, payload: dict[str, Any], expected: str = "access") -> TokenError:
    with pytest.raises(TokenError) as caught:
        tokens.verify(jwt.encode(payload, SECRET, "HS256"), expected)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize("exp", ["soon", True, [1]])
def test_an_exp_that_is_not_a_number_is_malformed(tokens: TokenService, exp: Any) -> None:
    error = refusal(tokens, claims(exp=exp))
    assert (error.reason, error.message) == (
        "malformed_token",
        "The token's exp claim is not a number.",
    )


def test_an_empty_sub_is_not_a_user_name(tokens: TokenService) -> None:
    error = refusal(tokens, claims(sub=""))
    assert (error.reason, error.message) == (
        "malformed_token",
        "The token's sub claim is not a user name.",
    )


@pytest.mark.parametrize("sub", [42, ["alice"]])
def test_a_sub_that_is_not_a_string_is_malformed(tokens: TokenService, sub: Any) -> None:
    # PyJWT refuses these itself (InvalidSubjectError), before the service's own check.
    assert refusal(tokens, claims(sub=sub)).reason == "malformed_token"


def test_a_token_of_the_wrong_type_names_both_types(tokens: TokenService) -> None:
    error = refusal(tokens, claims(typ="refresh"))
    assert (error.reason, error.message) == (
        "wrong_token_type",
        "The token has type 'refresh'; this needs a 'access' token.",
    )


def test_an_rsa_key_under_2048_bits_is_refused_at_start(tmp_path: Path, capsys) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = tmp_path / "weak.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="The RSA key has 1024 bits; 2048 at least"):
        TokenService(Settings(jwt_algorithm="RS256", jwt_private_key=pem))
    assert main(["--jwt-algorithm", "RS256", "--jwt-private-key", str(pem), "--port", "0"]) == 2
    assert "The RSA key has 1024 bits" in capsys.readouterr().err


def test_a_short_secret_is_refused_at_start(capsys) -> None:
    assert main(["--jwt-secret", "x", "--port", "0"]) == 2
    assert "must be at least 32 bytes" in capsys.readouterr().err
