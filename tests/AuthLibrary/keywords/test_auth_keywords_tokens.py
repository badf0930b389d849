from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from auth_testdata import AUDIENCE, ISSUER, SECRET

from AuthLibrary import AuthLibrary
from AuthLibrary.algorithms import Algorithm
from AuthLibrary.errors import KeyMaterialError
from AuthLibrary.keys import KeyPair


def test_create_token_uses_import_defaults(library: AuthLibrary) -> None:
    token = library.create_token({"sub": "alice"})
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sub"] == "alice"


def test_import_arguments_set_all_defaults(rsa_pair: KeyPair) -> None:
    library = AuthLibrary(
        issuer="i",
        audience=["a", "b"],
        algorithm=Algorithm.RS256,
        lifetime=timedelta(minutes=5),
        private_key=rsa_pair.private_key,
        leeway=timedelta(seconds=3),
    )
    token = library.create_token()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, rsa_pair.public_key, algorithms=["RS256"], audience="b")
    assert claims["exp"] - claims["iat"] == 300
    assert claims["aud"] == ["a", "b"]
    assert library.verify_token(token)["iss"] == "i"
    assert library.get_token_defaults()["leeway"] == timedelta(seconds=3)


def test_import_without_lifetime_gives_no_exp() -> None:
    library = AuthLibrary(secret=SECRET, lifetime=None)
    assert "exp" not in library.decode_token_without_verification(library.create_token())


def test_create_token_options(library: AuthLibrary) -> None:
    token = library.create_token(
        {"role": "admin"},
        algorithm=Algorithm.HS512,
        lifetime=timedelta(minutes=1),
        not_before=timedelta(seconds=-10),
        subject="bob",
        audience=["x", "y"],
        issuer="me",
        kid="key-7",
        headers={"cty": "JWT"},
        jti="id-1",
    )
    header = library.get_token_header(token)
    assert header == {"alg": "HS512", "typ": "JWT", "kid": "key-7", "cty": "JWT"}
    claims = library.decode_token_without_verification(token)
    assert claims["exp"] - claims["iat"] == 60
    assert claims["nbf"] == claims["iat"] - 10
    assert (claims["sub"], claims["aud"], claims["iss"], claims["jti"]) == (
        "bob",
        ["x", "y"],
        "me",
        "id-1",
    )
    assert claims["role"] == "admin"


def test_set_token_defaults_returns_previous_and_restores(library: AuthLibrary) -> None:
    previous = library.set_token_defaults(issuer="other", lifetime=timedelta(minutes=1))
    assert previous["issuer"] == ISSUER
    assert previous["lifetime"] == timedelta(minutes=15)
    assert previous["private_key"] == ""
    claims = library.decode_token_without_verification(library.create_token())
    assert claims["iss"] == "other"
    assert claims["exp"] - claims["iat"] == 60
    library.set_token_defaults(**previous)
    assert library.get_token_defaults() == previous


def test_set_token_defaults_empty_clears(library: AuthLibrary) -> None:
    library.set_token_defaults(issuer="", audience="", lifetime="")
    claims = library.decode_token_without_verification(library.create_token())
    assert not {"iss", "aud", "exp"} & claims.keys()
    assert library.get_token_defaults()["issuer"] == ""


def test_reset_token_defaults(library: AuthLibrary) -> None:
    library.set_token_defaults(secret="x" * 32, algorithm=Algorithm.HS384)
    previous = library.reset_token_defaults()
    assert previous["secret"] == "x" * 32
    assert library.get_token_defaults()["algorithm"] is Algorithm.HS256
    assert library.get_token_defaults()["secret"] == SECRET


def test_create_token_without_key_explains(log_messages: list) -> None:
    with pytest.raises(KeyMaterialError, match="no default private key is set"):
        AuthLibrary().create_token(algorithm=Algorithm.ES256)


def test_token_logged_at_info_is_masked(library: AuthLibrary, log_messages: list) -> None:
    token = library.create_token({"sub": "alice"})
    assert log_messages, "Create Token should log the token"
    level, message = log_messages[-1]
    assert level == "INFO"
    assert token not in message
    assert f"{token[:10]}…(masked, {len(token)} chars)" in message


def test_token_logged_in_full_at_debug(
    library: AuthLibrary, log_messages: list, robot_log_level
) -> None:  # type: ignore[no-untyped-def]
    robot_log_level("DEBUG")
    token = library.create_token()
    assert token in log_messages[-1][1]


def test_secret_defaults_logged_masked(library: AuthLibrary, log_messages: list) -> None:
    library.set_token_defaults(secret="super-secret-value-123")
    message = log_messages[-1][1]
    assert "super-secret-value-123" not in message
    assert "secret=…(masked, 22 chars)" in message
