from __future__ import annotations

import base64
import hmac
import json
import re
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
    # The check runs a moment after the token was made: a loaded machine adds seconds.
    assert re.search(r"is 1 h( \d+ s)? in the past", message), message


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


def test_create_token_with_truncated_signature(library: AuthLibrary) -> None:
    token = library.create_token_with_bad_signature(defect=SignatureDefect.TRUNCATED)
    assert len(token.rsplit(".", 1)[1]) == 22  # 16 of the 32 HS256 bytes, unpadded base64url
    library.token_should_be_invalid(token, reason=Reason.BAD_SIGNATURE)


def test_create_unsigned_token_with_a_signature(library: AuthLibrary) -> None:
    signature = library.create_token().rsplit(".", 1)[1]
    token = library.create_unsigned_token({"sub": "admin"}, signature=signature)
    assert token.endswith(f".{signature}")
    assert library.get_token_header(token)["alg"] == "none"
    library.token_should_be_invalid(token, reason=Reason.ALGORITHM_NOT_ALLOWED)


def test_create_key_confusion_token(library: AuthLibrary, rsa_pair: KeyPair) -> None:
    library.set_token_defaults(algorithm=Algorithm.RS256, private_key=rsa_pair.private_key)
    token = library.create_key_confusion_token({"sub": "admin"})
    header, signing_input = library.get_token_header(token), token.rsplit(".", 1)[0]
    assert header == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(rsa_pair.public_key.encode(), signing_input.encode(), "sha256").digest()
    assert token.rsplit(".", 1)[1] == base64.urlsafe_b64encode(expected).decode().rstrip("=")
    library.token_should_be_invalid(token, reason=Reason.ALGORITHM_NOT_ALLOWED)


def test_create_token_with_tampered_payload(library: AuthLibrary) -> None:
    original = library.create_token({"sub": "alice"})
    token = library.create_token_with_tampered_payload({"sub": "admin"}, original)
    assert token.rsplit(".", 1)[1] == original.rsplit(".", 1)[1]
    assert library.get_token_claim(token, "sub") == "admin"
    library.token_should_be_invalid(token, reason=Reason.BAD_SIGNATURE)
    fresh = library.create_token_with_tampered_payload({"role": "admin"}, claims={"sub": "a"})
    assert library.get_token_claim(fresh, "role") == "admin"
    library.token_should_be_invalid(fresh, reason=Reason.BAD_SIGNATURE)


def test_create_psychic_signature_token(library: AuthLibrary, ec_pair: KeyPair) -> None:
    token = library.create_psychic_signature_token({"sub": "admin"})
    assert token.rsplit(".", 1)[1] == "A" * 86  # 64 zero bytes
    library.token_should_be_invalid(
        token, reason=Reason.BAD_SIGNATURE, key=ec_pair.public_key, algorithms=Algorithm.ES256
    )


def test_create_token_with_empty_key(library: AuthLibrary) -> None:
    token = library.create_token_with_empty_key({"sub": "admin"}, algorithm=Algorithm.HS512)
    assert library.get_token_header(token)["alg"] == "HS512"
    library.token_should_be_invalid(token, reason=Reason.BAD_SIGNATURE, algorithms=Algorithm.HS512)


@pytest.mark.parametrize("headers", [{"kid": 7}, {"kid": None}, {"crit": ["exp"]}])
def test_create_token_with_headers(library: AuthLibrary, headers: dict) -> None:
    token = library.create_token_with_headers(headers, {"sub": "a"})
    signing_input, _, signature = token.rpartition(".")
    header = json.loads(base64.urlsafe_b64decode(signing_input.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT", **headers}
    expected = hmac.new(SECRET.encode(), signing_input.encode(), "sha256").digest()
    assert signature == base64.urlsafe_b64encode(expected).decode().rstrip("=")
    library.token_should_be_invalid(token, reason=Reason.MALFORMED)


def test_attack_tokens_are_logged_masked(library: AuthLibrary, log_messages: list) -> None:
    for token in (
        library.create_key_confusion_token(),
        library.create_token_with_tampered_payload({"sub": "admin"}),
        library.create_psychic_signature_token(),
        library.create_token_with_empty_key(),
        library.create_token_with_headers({"kid": 7}),
        library.create_token_with_bad_signature(defect=SignatureDefect.TRUNCATED),
        library.create_unsigned_token(signature="c2ln"),
    ):
        message = log_messages[-1][1]
        assert token not in message, message
        assert "…(masked," in message
