"""Each deliberately bad token must be rejected by PyJWT's own ``jwt.decode``."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from auth_testdata import AUDIENCE, SECRET

from AuthLibrary.algorithms import Algorithm
from AuthLibrary.errors import TokenCreationError
from AuthLibrary.forgery import (
    MalformedKind,
    SignatureDefect,
    alter_signature,
    bad_signature_token,
    expired_token,
    malformed_token,
    token_without_claim,
    unsigned_token,
)
from AuthLibrary.keys import KeyPair
from AuthLibrary.tokens import TokenDefaults, create_token


def decode(token: str, key: str = SECRET, algorithm: str = "HS256", **options: object) -> dict:
    return jwt.decode(token, key, algorithms=[algorithm], audience=AUDIENCE, **options)  # type: ignore[arg-type]


def test_expired_token_has_valid_signature(defaults: TokenDefaults) -> None:
    token = expired_token({"sub": "a"}, defaults, expired_by=timedelta(minutes=2))
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(token)
    claims = decode(token, options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sub"] == "a"
    # 2 minutes in the past: accepted only with a larger leeway.
    assert decode(token, leeway=timedelta(minutes=3))["sub"] == "a"  # type: ignore[arg-type]


def test_expired_by_must_be_positive(defaults: TokenDefaults) -> None:
    with pytest.raises(TokenCreationError, match="expired_by should be a positive duration"):
        expired_token(None, defaults, expired_by=timedelta(seconds=-5))


@pytest.mark.parametrize("defect", list(SignatureDefect))
def test_bad_signature_rejected(defaults: TokenDefaults, defect: SignatureDefect) -> None:
    token = bad_signature_token({"sub": "a"}, defaults, defect=defect)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token)
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "a"


@pytest.mark.parametrize("defect", [SignatureDefect.ALTERED, SignatureDefect.WRONG_KEY])
@pytest.mark.parametrize("fixture", ["rsa_pair", "ec_pair"])
def test_bad_signature_rejected_asymmetric(
    defaults: TokenDefaults, defect: SignatureDefect, fixture: str, request: pytest.FixtureRequest
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    token = bad_signature_token(
        None,
        defaults,
        defect=defect,
        algorithm=pair.algorithm,
        key=None if defect is SignatureDefect.WRONG_KEY else pair.private_key,
    )
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, pair.public_key, pair.algorithm.value)


def test_wrong_key_given_explicitly(defaults: TokenDefaults) -> None:
    token = bad_signature_token(None, defaults, defect=SignatureDefect.WRONG_KEY, key="x" * 32)
    assert decode(token, "x" * 32)["aud"] == AUDIENCE
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token)


def test_alter_signature_changes_first_character() -> None:
    assert alter_signature("h.p.Abc") == "h.p.Bbc"
    assert alter_signature("h.p.xyz") == "h.p.Ayz"
    with pytest.raises(TokenCreationError, match="has none"):
        alter_signature("h.p.")


def test_bad_signature_for_alg_none_is_refused(defaults: TokenDefaults) -> None:
    with pytest.raises(TokenCreationError, match="use Create Unsigned Token"):
        bad_signature_token(None, defaults, algorithm=Algorithm.NONE)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_token_rejected(defaults: TokenDefaults, alg: str) -> None:
    token = unsigned_token({"sub": "admin"}, defaults, alg=alg, kid="k")
    assert token.endswith(".")
    assert jwt.get_unverified_header(token) == {"alg": alg, "typ": "JWT", "kid": "k"}
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode(token)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (MalformedKind.NOT_THREE_SEGMENTS, "Not enough segments"),
        (MalformedKind.BAD_BASE64, "Invalid header padding"),
        (MalformedKind.HEADER_NOT_JSON, "Invalid header string"),
        (MalformedKind.PAYLOAD_NOT_JSON, "Invalid payload string"),
        (MalformedKind.PAYLOAD_NOT_OBJECT, "Invalid payload string: must be a json object"),
        (MalformedKind.EMPTY, "Not enough segments"),
    ],
)
def test_malformed_token_rejected(
    defaults: TokenDefaults, kind: MalformedKind, message: str
) -> None:
    token = malformed_token(kind, None, defaults)
    with pytest.raises(jwt.DecodeError, match=message) as error:
        decode(token)
    assert not isinstance(error.value, jwt.InvalidSignatureError)


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "iss", "aud", "role"])
def test_token_without_claim(defaults: TokenDefaults, claim: str) -> None:
    token = token_without_claim(claim, {"role": "admin"}, defaults)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claim not in claims
    assert claims.keys() | {claim} >= {"exp", "iat", "jti", "iss", "aud", "role"}
    with pytest.raises(jwt.MissingRequiredClaimError, match=f'"{claim}"'):
        jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE if claim != "aud" else None,
            options={"require": [claim], "verify_aud": claim != "aud"},
        )


def test_token_without_claim_otherwise_valid(defaults: TokenDefaults) -> None:
    assert "exp" not in decode(token_without_claim("exp", None, defaults))


def test_valid_token_passes_the_same_decode(defaults: TokenDefaults) -> None:
    """Control: the decode used above accepts a normal token."""
    assert decode(create_token({"sub": "a"}, defaults))["sub"] == "a"
