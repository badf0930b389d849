from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from auth_testdata import AUDIENCE, SECRET

from AuthLibrary import AuthLibrary, MalformedKind, Reason, SignatureDefect
from AuthLibrary.algorithms import Algorithm
from AuthLibrary.keys import KeyPair


def decode(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)


def test_create_expired_token(library: AuthLibrary) -> None:
    token = library.create_expired_token({"sub": "a"}, expired_by=timedelta(hours=1))
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(token)
    library.token_should_be_expired(token)
    message = library.token_should_be_invalid(token, reason=Reason.EXPIRED)
    assert message.startswith("Token is expired: exp ")
    assert "is 1 h in the past" in message


def test_create_expired_token_rsa(library: AuthLibrary, rsa_pair: KeyPair) -> None:
    token = library.create_expired_token(algorithm=Algorithm.RS256, key=rsa_pair.private_key)
    assert library.get_token_header(token)["alg"] == "RS256"
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, rsa_pair.public_key, algorithms=["RS256"], audience=AUDIENCE)


@pytest.mark.parametrize("defect", list(SignatureDefect))
def test_create_token_with_bad_signature(library: AuthLibrary, defect: SignatureDefect) -> None:
    token = library.create_token_with_bad_signature({"sub": "a"}, defect=defect)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token)
    library.token_should_be_invalid(token, reason=Reason.BAD_SIGNATURE)


def test_create_unsigned_token(library: AuthLibrary) -> None:
    token = library.create_unsigned_token({"sub": "admin"}, alg="None")
    assert library.get_token_header(token)["alg"] == "None"
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode(token)
    library.token_should_be_invalid(token, reason=Reason.ALGORITHM_NOT_ALLOWED)


@pytest.mark.parametrize("kind", list(MalformedKind))
def test_create_malformed_token(library: AuthLibrary, kind: MalformedKind) -> None:
    token = library.create_malformed_token(kind)
    with pytest.raises(jwt.DecodeError):
        decode(token)
    library.token_should_be_invalid(token, reason=Reason.MALFORMED)


def test_create_token_without_claim(library: AuthLibrary) -> None:
    token = library.create_token_without_claim("exp", {"sub": "a"})
    library.token_should_not_have_claim(token, "exp")
    library.token_should_be_valid(token)
    with pytest.raises(jwt.MissingRequiredClaimError):
        jwt.decode(
            token, SECRET, algorithms=["HS256"], audience=AUDIENCE, options={"require": ["exp"]}
        )
    library.token_should_be_invalid(token, reason=Reason.MISSING_CLAIM, required_claims=["exp"])


def test_forged_tokens_are_logged_masked(library: AuthLibrary, log_messages: list) -> None:
    token = library.create_expired_token()
    assert token not in log_messages[-1][1]
    assert "Created token expired 1 min ago: eyJ" in log_messages[-1][1]
