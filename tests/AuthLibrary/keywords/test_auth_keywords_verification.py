from __future__ import annotations

from datetime import timedelta

import pytest
from auth_testdata import ISSUER

from AuthLibrary import AuthLibrary, Reason, TokenAssertionError, TokenVerificationError
from AuthLibrary.algorithms import Algorithm
from AuthLibrary.errors import KeyMaterialError
from AuthLibrary.keys import KeyPair


def test_verify_token_with_defaults(library: AuthLibrary) -> None:
    token = library.create_token({"sub": "alice"})
    claims = library.verify_token(token, subject="alice", required_claims=["exp", "jti"])
    assert claims["iss"] == ISSUER


def test_verify_token_overrides_defaults(library: AuthLibrary) -> None:
    token = library.create_token(audience="other-api", issuer="other-issuer")
    with pytest.raises(TokenVerificationError, match="issuer should be 'auth.example.test'"):
        library.verify_token(token)
    assert library.verify_token(token, audience="other-api", issuer="other-issuer")
    no_aud = library.create_token(audience="")
    assert library.verify_token(no_aud, audience="")


def test_verify_token_algorithms_default_to_key_family(
    library: AuthLibrary, rsa_pair: KeyPair
) -> None:
    token = library.create_token(algorithm=Algorithm.PS256, key=rsa_pair.private_key)
    assert library.verify_token(token, key=rsa_pair.public_key)
    with pytest.raises(TokenVerificationError, match="expected RS256 but it is 'PS256'"):
        library.verify_token(token, key=rsa_pair.public_key, algorithms=Algorithm.RS256)
    assert library.verify_token(
        token, key=rsa_pair.public_key, algorithms=[Algorithm.RS256, Algorithm.PS256]
    )
    # The library default (HS256 with the secret) does not accept it.
    with pytest.raises(TokenVerificationError, match="expected one of HS256, HS384, HS512"):
        library.verify_token(token)


def test_verify_with_default_public_key(rsa_pair: KeyPair) -> None:
    library = AuthLibrary(algorithm=Algorithm.RS256, private_key=rsa_pair.private_key)
    token = library.create_token()
    assert library.verify_token(token)
    verifier = AuthLibrary(algorithm=Algorithm.RS256, public_key=rsa_pair.public_key)
    assert verifier.verify_token(token)


def test_verify_leeway_from_defaults(library: AuthLibrary) -> None:
    token = library.create_expired_token(expired_by=timedelta(seconds=20))
    with pytest.raises(TokenVerificationError, match="leeway 0 s"):
        library.verify_token(token)
    library.set_token_defaults(leeway=timedelta(minutes=1))
    assert library.verify_token(token)
    with pytest.raises(TokenVerificationError, match="leeway 5 s"):
        library.verify_token(token, leeway=timedelta(seconds=5))


def test_token_should_be_valid_fails_plainly(library: AuthLibrary) -> None:
    with pytest.raises(TokenVerificationError) as error:
        library.token_should_be_valid(library.create_expired_token())
    assert type(error.value).ROBOT_SUPPRESS_NAME is True
    assert str(error.value).startswith("Token is expired: exp ")


def test_token_should_be_invalid(library: AuthLibrary) -> None:
    valid = library.create_token()
    with pytest.raises(TokenAssertionError) as error:
        library.token_should_be_invalid(valid)
    assert str(error.value) == "Token should be invalid but it verified."
    with pytest.raises(TokenAssertionError) as error:
        library.token_should_be_invalid(valid, reason=Reason.EXPIRED)
    assert str(error.value) == "Token should be invalid because of expired but it verified."
    bad = library.create_token_with_bad_signature()
    with pytest.raises(TokenAssertionError) as error:
        library.token_should_be_invalid(bad, reason=Reason.EXPIRED)
    assert str(error.value).startswith(
        "Token should be invalid because of expired but it is rejected because of bad "
        "signature: Token signature is invalid"
    )


def test_expiry_assertions(library: AuthLibrary) -> None:
    valid = library.create_token()
    expired = library.create_expired_token()
    library.token_should_be_expired(expired)
    library.token_should_not_be_expired(valid)
    with pytest.raises(TokenAssertionError, match="Token should be expired but exp .* future"):
        library.token_should_be_expired(valid)
    with pytest.raises(TokenAssertionError, match="Token should not be expired but exp"):
        library.token_should_not_be_expired(expired)
    library.token_should_not_be_expired(expired, leeway=timedelta(minutes=5))


def test_claim_assertions(library: AuthLibrary) -> None:
    token = library.create_token({"sub": "alice", "level": 3, "roles": ["admin"]})
    library.token_claim_should_be(token, "sub", "alice")
    library.token_claim_should_be(token, "level", "3")
    library.token_claim_should_be(token, "level", 3)
    library.token_claim_should_be(token, "roles", '["admin"]')
    with pytest.raises(TokenAssertionError, match="'sub' should be 'bob' but it is 'alice'"):
        library.token_claim_should_be(token, "sub", "bob")
    library.token_should_have_claim(token, "jti")
    assert library.get_token_claim(token, "level") == 3
    with pytest.raises(TokenAssertionError, match="should have claim 'nope' but it has only"):
        library.get_token_claim(token, "nope")
    with pytest.raises(TokenAssertionError, match="should not have claim 'sub' but it has"):
        library.token_should_not_have_claim(token, "sub")


def test_log_token_masks(library: AuthLibrary, log_messages: list) -> None:
    token = library.create_token({"sub": "alice"})
    library.log_token(token, level="DEBUG")
    level, message = log_messages[-1]
    assert level == "DEBUG"
    assert token not in message
    assert '"sub": "alice"' in message


def test_verification_without_key_explains() -> None:
    with pytest.raises(KeyMaterialError, match="No key given to verify HS256 tokens"):
        AuthLibrary().verify_token("a.b.c")
    with pytest.raises(KeyMaterialError, match="default algorithm is none"):
        AuthLibrary(algorithm=Algorithm.NONE).verify_token("a.b.c")


def test_non_string_token(library: AuthLibrary) -> None:
    with pytest.raises(TokenVerificationError, match="Token should be a string but it is int"):
        library.verify_token(42)  # type: ignore[arg-type]
