from __future__ import annotations

import re
from datetime import timedelta

import jwt
import pytest
from auth_testdata import AUDIENCE, ISSUER, SECRET

from AuthLibrary.algorithms import Algorithm
from AuthLibrary.errors import Reason, TokenAssertionError, TokenVerificationError
from AuthLibrary.forgery import (
    MalformedKind,
    bad_signature_token,
    expired_token,
    malformed_token,
    token_without_claim,
    unsigned_token,
)
from AuthLibrary.keys import KeyPair, generate_key_pair
from AuthLibrary.timeutils import now_timestamp
from AuthLibrary.tokens import TokenDefaults, create_token
from AuthLibrary.verification import (
    check_claim,
    check_expired,
    check_not_expired,
    claim_matches,
    decode_unverified,
    describe_token,
    get_header,
    verify_token,
)

HMAC = [Algorithm.HS256]
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def verify(token: str, **options: object) -> dict:
    options.setdefault("audience", AUDIENCE)
    return verify_token(token, SECRET, HMAC, **options)  # type: ignore[arg-type]


def rejection(token: str, **options: object) -> TokenVerificationError:
    with pytest.raises(TokenVerificationError) as error:
        verify(token, **options)
    message = str(error.value)
    assert token not in message or not token, "failure messages must not contain the token"
    assert not message.startswith(("TokenVerificationError", "jwt.")), message
    return error.value


def test_valid_token(defaults: TokenDefaults) -> None:
    token = create_token({"sub": "alice"}, defaults)
    claims = verify(token, issuer=ISSUER, subject="alice", required_claims=["exp", "sub"])
    assert claims["sub"] == "alice"


def test_expired_message(defaults: TokenDefaults) -> None:
    error = rejection(expired_token(None, defaults, expired_by=timedelta(seconds=42)))
    assert error.reason is Reason.EXPIRED
    assert re.fullmatch(
        rf"Token is expired: exp {ISO} is 4[234] s in the past \(leeway 0 s\)\.", str(error)
    ), str(error)


def test_expired_within_leeway_is_valid(defaults: TokenDefaults) -> None:
    token = expired_token(None, defaults, expired_by=timedelta(seconds=30))
    assert verify(token, leeway=timedelta(minutes=1))
    error = rejection(token, leeway=timedelta(seconds=10))
    assert "(leeway 10 s)" in str(error)


def test_not_yet_valid_message(defaults: TokenDefaults) -> None:
    token = create_token(None, defaults, not_before=timedelta(minutes=5))
    error = rejection(token)
    assert error.reason is Reason.NOT_YET_VALID
    assert re.fullmatch(
        rf"Token is not yet valid: nbf {ISO} is (5 min|4 min 59 s) in the future "
        r"\(leeway 0 s\)\.",
        str(error),
    ), str(error)
    iat_future = create_token(None, defaults, issued_at=timedelta(hours=1))
    assert str(rejection(iat_future)).startswith("Token is not yet valid: iat ")


def test_bad_signature_message(defaults: TokenDefaults) -> None:
    error = rejection(bad_signature_token(None, defaults))
    assert error.reason is Reason.BAD_SIGNATURE
    assert str(error) == (
        "Token signature is invalid: the HS256 signature does not verify with the key used."
    )


def test_unsigned_message(defaults: TokenDefaults) -> None:
    error = rejection(unsigned_token(None, defaults))
    assert error.reason is Reason.ALGORITHM_NOT_ALLOWED
    assert str(error) == "Token algorithm is not allowed: expected HS256 but it is 'none'."


def test_wrong_algorithm_message(defaults: TokenDefaults, rsa_pair: KeyPair) -> None:
    token = create_token(None, defaults, algorithm=Algorithm.HS384)
    error = rejection(token)
    assert str(error) == "Token algorithm is not allowed: expected HS256 but it is 'HS384'."
    with pytest.raises(TokenVerificationError, match="expected one of RS256, PS256 but it is"):
        verify_token(token, rsa_pair.public_key, [Algorithm.RS256, Algorithm.PS256])


def test_algorithm_confusion_is_key_not_usable(defaults: TokenDefaults, rsa_pair: KeyPair) -> None:
    """An HS256 token verified with an RSA public key while HS256 is allowed."""
    token = create_token(None, defaults)
    with pytest.raises(TokenVerificationError) as error:
        verify_token(
            token, rsa_pair.public_key, [Algorithm.RS256, Algorithm.HS256], audience=AUDIENCE
        )
    assert error.value.reason is Reason.KEY_NOT_USABLE
    assert str(error.value).startswith("The key given cannot verify a HS256 token: ")


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        (
            MalformedKind.NOT_THREE_SEGMENTS,
            "it should have three dot-separated segments (header.payload.signature) but has 2",
        ),
        (
            MalformedKind.EMPTY,
            "it should have three dot-separated segments (header.payload.signature) but has 0",
        ),
        (MalformedKind.BAD_BASE64, "the header segment is not valid base64url"),
        (MalformedKind.HEADER_NOT_JSON, "the header is not a JSON object (Expecting value"),
        (MalformedKind.PAYLOAD_NOT_JSON, "the payload is not a JSON object (Expecting value"),
        (MalformedKind.PAYLOAD_NOT_OBJECT, "the payload is not a JSON object."),
    ],
)
def test_malformed_messages(defaults: TokenDefaults, kind: MalformedKind, detail: str) -> None:
    error = rejection(malformed_token(kind, None, defaults))
    assert error.reason is Reason.MALFORMED
    assert str(error).startswith(f"Token is malformed: {detail}"), str(error)


def test_audience_messages(defaults: TokenDefaults) -> None:
    token = create_token(None, defaults)
    error = rejection(token, audience="other")
    assert error.reason is Reason.WRONG_AUDIENCE
    assert str(error) == "Token audience should be 'other' but it is 'chat-api'."
    error = rejection(token, audience=None)
    assert str(error).startswith("Token has audience 'chat-api' but no audience was expected")
    no_aud = token_without_claim("aud", None, defaults)
    assert (
        str(rejection(no_aud)) == "Token has no 'aud' claim but audience 'chat-api' was expected."
    )
    assert verify(token, audience=["x", AUDIENCE])


def test_issuer_and_subject_messages(defaults: TokenDefaults) -> None:
    token = create_token({"sub": "alice"}, defaults)
    error = rejection(token, issuer="other")
    assert error.reason is Reason.WRONG_ISSUER
    assert str(error) == f"Token issuer should be 'other' but it is '{ISSUER}'."
    no_iss = token_without_claim("iss", None, defaults)
    assert str(rejection(no_iss, issuer=ISSUER)) == (
        f"Token has no 'iss' claim but issuer '{ISSUER}' was expected."
    )
    error = rejection(token, subject="bob")
    assert error.reason is Reason.WRONG_SUBJECT
    assert str(error) == "Token subject should be 'bob' but it is 'alice'."


def test_missing_required_claim_message(defaults: TokenDefaults) -> None:
    error = rejection(token_without_claim("exp", None, defaults), required_claims=["exp"])
    assert error.reason is Reason.MISSING_CLAIM
    assert str(error) == "Token is missing the required claim 'exp'."


def test_invalid_claim_message(defaults: TokenDefaults) -> None:
    error = rejection(create_token({"exp": "tomorrow"}, defaults))
    assert error.reason is Reason.INVALID_CLAIM
    assert "Expiration Time claim (exp) must be an integer" in str(error)


def test_no_algorithms_allowed(defaults: TokenDefaults) -> None:
    with pytest.raises(TokenVerificationError, match="No algorithms are allowed"):
        verify_token(create_token(None, defaults), SECRET, [])


@pytest.mark.parametrize("fixture", ["rsa_pair", "ec_pair", "ed_pair"])
def test_asymmetric_verification(
    defaults: TokenDefaults, fixture: str, request: pytest.FixtureRequest
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    token = create_token(None, defaults, algorithm=pair.algorithm, key=pair.private_key)
    assert verify_token(token, pair.public_key, [pair.algorithm], audience=AUDIENCE)
    other = bad_signature_token(None, defaults, algorithm=pair.algorithm, key=pair.private_key)
    with pytest.raises(TokenVerificationError, match="signature does not verify"):
        verify_token(other, pair.public_key, [pair.algorithm], audience=AUDIENCE)


def test_decode_unverified_and_header(defaults: TokenDefaults) -> None:
    token = create_token({"sub": "a"}, defaults, kid="k1", headers={"cty": "x"})
    assert decode_unverified(token)["sub"] == "a"
    assert get_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1", "cty": "x"}
    assert decode_unverified(bad_signature_token({"sub": "b"}, defaults))["sub"] == "b"
    with pytest.raises(TokenVerificationError, match="Token is malformed"):
        get_header("garbage")


def test_check_expired() -> None:
    now = now_timestamp()
    check_expired({"exp": now - 5})
    with pytest.raises(TokenAssertionError) as error:
        check_expired({"exp": now + 300}, now=now)
    assert re.fullmatch(
        rf"Token should be expired but exp {ISO} is 5 min in the future \(leeway 0 s\)\.",
        str(error.value),
    )
    with pytest.raises(TokenAssertionError, match="in the past, within the leeway"):
        check_expired({"exp": now - 5}, leeway=timedelta(seconds=10), now=now)
    with pytest.raises(TokenAssertionError, match="it has no 'exp' claim"):
        check_expired({})
    with pytest.raises(TokenAssertionError, match="'exp' claim is 'soon', not a number"):
        check_expired({"exp": "soon"})


def test_check_not_expired() -> None:
    now = now_timestamp()
    check_not_expired({"exp": now + 60})
    check_not_expired({})
    check_not_expired({"exp": now - 5}, leeway=timedelta(seconds=10), now=now)
    with pytest.raises(TokenAssertionError, match=r"is 1 min in the past \(leeway 0 s\)"):
        check_not_expired({"exp": now - 60}, now=now)


@pytest.mark.parametrize(
    ("actual", "expected", "matches"),
    [
        ("alice", "alice", True),
        ("alice", "bob", False),
        (42, "42", True),
        (42, 42, True),
        (42, 42.0, True),
        (True, "true", True),
        (True, 1, False),
        (1, "true", False),
        (["a", "b"], '["a", "b"]', True),
        ({"k": 1}, '{"k": 1}', True),
        ("42", 42, False),
        (None, "null", True),
    ],
)
def test_claim_matches(actual: object, expected: object, matches: bool) -> None:
    assert claim_matches(actual, expected) is matches


def test_check_claim_messages() -> None:
    check_claim({"level": 3}, "level", "3")
    with pytest.raises(TokenAssertionError) as error:
        check_claim({"sub": "alice"}, "sub", "bob")
    assert str(error.value) == "Token claim 'sub' should be 'bob' but it is 'alice'."
    with pytest.raises(TokenAssertionError) as error:
        check_claim({"sub": "alice", "iat": 1}, "role", "admin")
    assert str(error.value) == (
        "Token claim 'role' should be 'admin' but the token has no such claim; it has iat, sub."
    )
    with pytest.raises(TokenAssertionError, match=r"it is '42' \(str, expected int\)"):
        check_claim({"n": "42"}, "n", 42)


def test_describe_token_masks_token(defaults: TokenDefaults) -> None:
    token = create_token({"sub": "alice"}, defaults)
    text = describe_token(token)
    assert token not in text
    assert "(masked," in text
    assert '"sub": "alice"' in text
    assert re.search(rf"exp: {ISO} \(1[45] min.* in the future\)", text), text


def test_unloadable_key_is_a_reason_not_a_crash() -> None:
    pair = generate_key_pair(Algorithm.ES256)
    token = jwt.encode({"sub": "x"}, pair.private_key, algorithm="ES256")
    with pytest.raises(TokenVerificationError, match="cannot verify a token with ES256") as caught:
        verify_token(token, "not a pem", [Algorithm.ES256])
    assert caught.value.reason is Reason.KEY_NOT_USABLE
