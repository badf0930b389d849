"""Each deliberately bad token must be rejected by PyJWT's own ``jwt.decode``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from auth_testdata import AUDIENCE, SECRET
from jwt.algorithms import get_default_algorithms

from AuthLibrary.algorithms import Algorithm
from AuthLibrary.errors import KeyMaterialError, TokenCreationError
from AuthLibrary.forgery import (
    MalformedKind,
    SignatureDefect,
    alter_signature,
    bad_signature_token,
    empty_key_token,
    expired_token,
    key_confusion_token,
    malformed_token,
    psychic_signature_token,
    tamper_payload,
    tampered_payload_token,
    token_with_headers,
    token_without_claim,
    truncate_signature,
    unsigned_token,
)
from AuthLibrary.keys import KeyPair, public_key_of
from AuthLibrary.tokens import TokenDefaults, create_token

HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def decode(token: str, key: str = SECRET, algorithm: str = "HS256", **options: object) -> dict:
    return jwt.decode(token, key, algorithms=[algorithm], audience=AUDIENCE, **options)  # type: ignore[arg-type]


def unpadded_b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """The header and payload JSON and the signature bytes, decoded by hand."""
    header, payload, signature = token.split(".")
    return (
        json.loads(unpadded_b64decode(header)),
        json.loads(unpadded_b64decode(payload)),
        unpadded_b64decode(signature),
    )


def hmac_of(token: str, secret: bytes, algorithm: str = "HS256") -> bytes:
    """The HMAC the token would carry if it were signed with ``secret``."""
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    return hmac.new(secret, signing_input, HMAC_DIGESTS[algorithm]).digest()


def assert_valid_claims(claims: dict[str, Any], **expected: Any) -> None:
    """Everything but the signature is a valid token's: iss, aud, iat/exp now, jti."""
    assert claims["iss"] and claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert len(claims["jti"]) == 32
    for name, value in expected.items():
        assert claims[name] == value


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


@pytest.mark.parametrize(
    "defect", [SignatureDefect.ALTERED, SignatureDefect.WRONG_KEY, SignatureDefect.TRUNCATED]
)
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


# --- Attack tokens (issue 9): each decoded by hand, the defect exactly the one claimed. ---


@pytest.mark.parametrize("fixture", ["rsa_pair", "ec_pair"])
def test_key_confusion_token_is_hmac_keyed_with_the_default_public_key(
    defaults: TokenDefaults, fixture: str, request: pytest.FixtureRequest
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    asymmetric = defaults.updated(algorithm=pair.algorithm, private_key=pair.private_key)
    token = key_confusion_token({"sub": "admin"}, asymmetric)
    header, claims, signature = segments(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert_valid_claims(claims, sub="admin")
    # The HMAC key is the public key PEM a verifier holds, byte for byte.
    assert signature == hmac_of(token, pair.public_key.encode())
    # PyJWT itself is not fooled: it refuses a PEM as an HMAC key.
    with pytest.raises(jwt.InvalidKeyError):
        decode(token, pair.public_key)
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode(token, pair.public_key, pair.algorithm.value)


def test_key_confusion_token_keeps_a_given_public_key_byte_for_byte(
    defaults: TokenDefaults, rsa_pair: KeyPair
) -> None:
    without_newline = rsa_pair.public_key.rstrip("\n")
    token = key_confusion_token(None, defaults, public_key=without_newline)
    assert segments(token)[2] == hmac_of(token, without_newline.encode())
    assert segments(token)[2] != hmac_of(token, rsa_pair.public_key.encode())


def test_key_confusion_token_replaces_a_private_key_by_its_public_key(
    defaults: TokenDefaults, ec_pair: KeyPair
) -> None:
    token = key_confusion_token(None, defaults, public_key=ec_pair.private_key)
    assert segments(token)[2] == hmac_of(token, public_key_of(ec_pair.private_key).encode())


def test_key_confusion_token_with_hs512_and_without_known_key(defaults: TokenDefaults) -> None:
    token = key_confusion_token(None, defaults, algorithm=Algorithm.HS512, kid="k")
    header, claims, signature = segments(token)
    assert header == {"alg": "HS512", "typ": "JWT", "kid": "k"}
    assert len(signature) == 64
    assert_valid_claims(claims)
    # A fresh RSA public key: the default secret does not verify it.
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, algorithm="HS512")


def test_key_confusion_token_needs_a_pem_and_an_hmac_algorithm(defaults: TokenDefaults) -> None:
    with pytest.raises(KeyMaterialError, match="not PEM"):
        key_confusion_token(None, defaults, public_key="not-a-pem")
    with pytest.raises(TokenCreationError, match="not an HS"):
        key_confusion_token(None, defaults, algorithm=Algorithm.RS256)


def test_tampered_payload_keeps_header_and_signature(defaults: TokenDefaults) -> None:
    original = create_token({"sub": "alice", "role": "user"}, defaults)
    tampered = tamper_payload(original, {"sub": "admin", "role": None, "extra": [1]})
    assert tampered.split(".")[0] == original.split(".")[0]
    assert tampered.split(".")[2] == original.split(".")[2]
    before, after = segments(original)[1], segments(tampered)[1]
    assert after == {
        **{k: v for k, v in before.items() if k != "role"},
        "sub": "admin",
        "extra": [1],
    }
    assert decode(original)["sub"] == "alice"
    with pytest.raises(jwt.InvalidSignatureError):
        decode(tampered)


def test_tampered_payload_token_signs_first_with_the_given_algorithm(
    defaults: TokenDefaults, rsa_pair: KeyPair
) -> None:
    token = tampered_payload_token(
        {"sub": "admin"},
        {"sub": "alice"},
        defaults,
        algorithm=Algorithm.RS256,
        key=rsa_pair.private_key,
    )
    assert segments(token)[0]["alg"] == "RS256"
    assert_valid_claims(segments(token)[1], sub="admin")
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, rsa_pair.public_key, "RS256")


def test_tampering_must_change_a_signed_payload(defaults: TokenDefaults) -> None:
    token = create_token({"sub": "alice"}, defaults)
    with pytest.raises(TokenCreationError, match="as it was"):
        tamper_payload(token, {"sub": "alice", "absent": None})
    with pytest.raises(TokenCreationError, match="Only a signed token"):
        tamper_payload(unsigned_token(None, defaults), {"sub": "admin"})
    with pytest.raises(TokenCreationError, match="not a JSON object"):
        tamper_payload(malformed_token(MalformedKind.PAYLOAD_NOT_OBJECT, None, defaults), {"a": 1})


def test_truncated_signature_is_the_first_half_of_the_real_one(defaults: TokenDefaults) -> None:
    token = bad_signature_token({"sub": "a"}, defaults, defect=SignatureDefect.TRUNCATED)
    header, claims, signature = segments(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert_valid_claims(claims, sub="a")
    assert signature == hmac_of(token, SECRET.encode())[:16]


def test_truncate_signature_keeps_half_the_bytes() -> None:
    assert truncate_signature(
        "h.p." + base64.urlsafe_b64encode(b"abcdefg").decode().rstrip("=")
    ) == ("h.p." + base64.urlsafe_b64encode(b"abc").decode())
    with pytest.raises(TokenCreationError, match="has none"):
        truncate_signature("h.p.")


def test_unsigned_token_with_a_signature_attached(defaults: TokenDefaults) -> None:
    real = create_token({"sub": "admin"}, defaults).rsplit(".", 1)[1]
    token = unsigned_token({"sub": "admin"}, defaults, signature=real)
    assert token.rsplit(".", 1)[1] == real
    header, claims, _ = segments(token)
    assert header == {"alg": "none", "typ": "JWT"}
    assert_valid_claims(claims, sub="admin")
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode(token)


@pytest.mark.parametrize(
    ("algorithm", "size"), [(Algorithm.ES256, 64), (Algorithm.ES384, 96), (Algorithm.ES512, 132)]
)
def test_psychic_signature_is_all_zero(
    defaults: TokenDefaults, algorithm: Algorithm, size: int
) -> None:
    token = psychic_signature_token({"sub": "admin"}, defaults, algorithm=algorithm)
    header, claims, signature = segments(token)
    assert header == {"alg": algorithm.value, "typ": "JWT"}
    assert_valid_claims(claims, sub="admin")
    assert signature == bytes(size)


def test_psychic_signature_does_not_verify(defaults: TokenDefaults, ec_pair: KeyPair) -> None:
    token = psychic_signature_token(None, defaults, kid="k")
    assert segments(token)[0]["kid"] == "k"
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, ec_pair.public_key, "ES256")
    with pytest.raises(TokenCreationError, match="not an ES"):
        psychic_signature_token(None, defaults, algorithm=Algorithm.RS256)


@pytest.mark.parametrize("algorithm", [Algorithm.HS256, Algorithm.HS384, Algorithm.HS512])
def test_empty_key_token_is_hmac_with_the_empty_key(
    defaults: TokenDefaults, algorithm: Algorithm
) -> None:
    token = empty_key_token({"sub": "admin"}, defaults, algorithm=algorithm)
    header, claims, signature = segments(token)
    assert header == {"alg": algorithm.value, "typ": "JWT"}
    assert_valid_claims(claims, sub="admin")
    assert signature == hmac_of(token, b"", algorithm.value)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, algorithm=algorithm.value)


@pytest.mark.parametrize(
    "headers",
    [
        {"kid": 7},
        {"kid": None},
        {"kid": {"url": "https://evil.example"}},
        {"kid": ["a", "b"]},
        {"crit": ["exp"]},
        {"crit": "exp"},
        {"crit": []},
        {"alg": "none", "typ": 0},
    ],
)
def test_token_with_headers_passes_any_json_value_through(
    defaults: TokenDefaults, headers: dict[str, Any]
) -> None:
    token = token_with_headers(headers, {"sub": "a"}, defaults)
    header, claims, signature = segments(token)
    assert header == {"alg": "HS256", "typ": "JWT", **headers}
    assert_valid_claims(claims, sub="a")
    assert signature == hmac_of(token, SECRET.encode())


@pytest.mark.parametrize("crit", [["exp"], "exp", [], [7], {"a": 1}, None])
def test_create_token_passes_any_crit_through(defaults: TokenDefaults, crit: Any) -> None:
    """PyJWT checks crit only when decoding, so the plain headers argument carries any crit."""
    token = create_token(None, defaults, headers={"crit": crit})
    assert segments(token)[0] == {"alg": "HS256", "typ": "JWT", "crit": crit}
    assert segments(token)[2] == hmac_of(token, SECRET.encode())


@pytest.mark.parametrize("kid", [7, None, {"url": "x"}])
def test_create_token_refuses_a_kid_that_is_not_a_string(defaults: TokenDefaults, kid: Any) -> None:
    """Why Token With Headers exists: PyJWT, behind Create Token, refuses such a kid."""
    with pytest.raises(TokenCreationError, match="Key ID header parameter must be a string"):
        create_token(None, defaults, headers={"kid": kid})


@pytest.mark.parametrize("fixture", ["rsa_pair", "ec_pair"])
def test_token_with_headers_signed_with_a_key_pair(
    defaults: TokenDefaults, fixture: str, request: pytest.FixtureRequest
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    token = token_with_headers(
        {"kid": 42, "crit": ["exp"]},
        None,
        defaults,
        algorithm=pair.algorithm,
        key=pair.private_key,
    )
    assert segments(token)[0] == {
        "alg": pair.algorithm.value,
        "typ": "JWT",
        "kid": 42,
        "crit": ["exp"],
    }
    verifier = get_default_algorithms()[pair.algorithm.value]
    signing_input, _, signature = token.rpartition(".")
    assert verifier.verify(
        signing_input.encode(), verifier.prepare_key(pair.public_key), unpadded_b64decode(signature)
    )
