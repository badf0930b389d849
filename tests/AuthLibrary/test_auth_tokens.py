from __future__ import annotations

import warnings
from datetime import timedelta

import jwt
import pytest
from auth_testdata import AUDIENCE, ISSUER, SECRET

from AuthLibrary.algorithms import Algorithm
from AuthLibrary.errors import KeyMaterialError, TokenCreationError
from AuthLibrary.keys import KeyPair
from AuthLibrary.tokens import TokenDefaults, build_claims, build_headers, create_token, encode

NOW = 1_800_000_000


def test_build_claims_computes_times_and_defaults(defaults: TokenDefaults) -> None:
    claims = build_claims({"sub": "alice"}, defaults, now=NOW)
    assert claims["iat"] == NOW
    assert claims["exp"] == NOW + 15 * 60
    assert "nbf" not in claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == "alice"
    assert len(claims["jti"]) == 32


def test_build_claims_offsets(defaults: TokenDefaults) -> None:
    claims = build_claims(
        None,
        defaults,
        lifetime=timedelta(minutes=5),
        not_before=timedelta(seconds=-10),
        issued_at=timedelta(seconds=-60),
        now=NOW,
    )
    assert claims["iat"] == NOW - 60
    assert claims["exp"] == NOW - 60 + 300
    assert claims["nbf"] == NOW - 10


def test_build_claims_precedence(defaults: TokenDefaults) -> None:
    claims = build_claims(
        {"iss": "from-claims", "aud": "from-claims", "jti": "from-claims", "exp": 1},
        defaults,
        issuer="explicit",
        jti="explicit-id",
        now=NOW,
    )
    assert claims["iss"] == "explicit"
    assert claims["aud"] == "from-claims"
    assert claims["jti"] == "explicit-id"
    assert claims["exp"] == 1


def test_build_claims_empty_values_leave_claims_out(defaults: TokenDefaults) -> None:
    claims = build_claims({"sub": "x"}, defaults, issuer="", audience=[], subject="", now=NOW)
    assert "iss" not in claims
    assert "aud" not in claims
    assert "sub" not in claims


def test_build_claims_without_lifetime_has_no_exp() -> None:
    claims = build_claims(None, TokenDefaults(secret="s", lifetime=None), now=NOW)
    assert "exp" not in claims


def test_build_claims_audience_list(defaults: TokenDefaults) -> None:
    claims = build_claims(None, defaults, audience=("a", "b"), now=NOW)
    assert claims["aud"] == ["a", "b"]


def test_build_headers() -> None:
    assert build_headers() == {}
    assert build_headers("k1", {"x5t": "abc"}) == {"kid": "k1", "x5t": "abc"}


@pytest.mark.parametrize("algorithm", [Algorithm.HS256, Algorithm.HS384, Algorithm.HS512])
def test_hmac_round_trip(defaults: TokenDefaults, algorithm: Algorithm) -> None:
    token = create_token({"sub": "alice"}, defaults, algorithm=algorithm, kid="k1")
    assert jwt.get_unverified_header(token) == {"alg": algorithm.value, "typ": "JWT", "kid": "k1"}
    claims = jwt.decode(token, SECRET, algorithms=[algorithm.value], audience=AUDIENCE)
    assert claims["sub"] == "alice"


@pytest.mark.parametrize("fixture", ["rsa_pair", "ec_pair", "ed_pair"])
def test_asymmetric_round_trip(
    defaults: TokenDefaults, fixture: str, request: pytest.FixtureRequest
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    token = create_token({"sub": "alice"}, defaults, algorithm=pair.algorithm, key=pair.private_key)
    claims = jwt.decode(
        token, pair.public_key, algorithms=[pair.algorithm.value], audience=AUDIENCE
    )
    assert claims["sub"] == "alice"


def test_default_private_key_from_file(tmp_path, rsa_pair: KeyPair) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "rs.pem"
    key_file.write_text(rsa_pair.private_key)
    defaults = TokenDefaults(algorithm=Algorithm.RS256, private_key=str(key_file))
    token = create_token(None, defaults)
    assert jwt.decode(token, rsa_pair.public_key, algorithms=["RS256"])["jti"]


def test_alg_none_token_has_empty_signature(defaults: TokenDefaults) -> None:
    token = create_token(None, defaults, algorithm=Algorithm.NONE)
    assert token.endswith(".")
    assert jwt.get_unverified_header(token)["alg"] == "none"


def test_missing_default_secret_is_explained() -> None:
    with pytest.raises(KeyMaterialError) as error:
        create_token(None, TokenDefaults())
    assert str(error.value) == (
        "No key given for HS256 and no default secret is set; pass key=... "
        "or import AuthLibrary with secret=...."
    )


def test_public_key_cannot_sign(defaults: TokenDefaults, rsa_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError, match="signs with a private key but the key given is a"):
        create_token(None, defaults, algorithm=Algorithm.RS256, key=rsa_pair.public_key)


def test_pem_key_is_refused_as_hmac_secret(defaults: TokenDefaults, rsa_pair: KeyPair) -> None:
    """The algorithm confusion forgery (HS256 keyed with an RSA public key) is not possible."""
    with pytest.raises(KeyMaterialError, match="HS256 needs a secret string but got a PEM"):
        create_token(None, defaults, algorithm=Algorithm.HS256, key=rsa_pair.public_key)
    with pytest.raises(TokenCreationError, match="asymmetric key"):
        encode({"a": 1}, Algorithm.HS256, rsa_pair.public_key)


def test_short_secret_does_not_warn() -> None:
    """Test tokens may use weak keys on purpose; PyJWT's key length warning is silenced."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        token = create_token(None, TokenDefaults(secret="short"))
    assert not [w for w in caught if "HMAC key" in str(w.message)]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_non_string_issuer_is_a_creation_error(defaults: TokenDefaults) -> None:
    with pytest.raises(TokenCreationError, match="Cannot create a HS256 token: Issuer"):
        create_token({"iss": 42}, defaults)


def test_defaults_updated_and_unknown_names(defaults: TokenDefaults) -> None:
    changed = defaults.updated(issuer="other")
    assert changed.issuer == "other"
    assert defaults.issuer == ISSUER
    with pytest.raises(TokenCreationError, match="Unknown token default"):
        defaults.updated(issuser="typo")


def test_verification_key_derives_public_from_private(rsa_pair: KeyPair) -> None:
    defaults = TokenDefaults(algorithm=Algorithm.RS256, private_key=rsa_pair.private_key)
    assert defaults.verification_key() == rsa_pair.public_key
    assert defaults.verification_key(rsa_pair.private_key) == rsa_pair.public_key
    with pytest.raises(KeyMaterialError, match="no default secret"):
        defaults.verification_key(algorithm=Algorithm.HS256)
