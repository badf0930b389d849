"""Whatever a token holds, the verifier answers with a reason code: never another exception.

Hypothesis builds tokens whose header and claims are arbitrary JSON (with the header
fields attackers play with: ``alg``, ``kid``, ``crit``, ``typ``, ``jku``...), whose segments
are arbitrary text, and signs half of them correctly, so the checks after the signature
are reached too. Before this test, a header with ``crit`` or a non-string ``kid`` escaped
``jwt.get_unverified_header`` as an uncaught exception, which the service answered with 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refservice.config import Settings
from refservice.tokens import REASONS, TokenError, TokenService

SECRET = "fuzz-test-secret-that-is-long-enough-for-any-hs-algorithm-at-all"
NOW = int(time.time())

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
header_fields = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["HS256", "none", "RS256", "HS512", ""]) | json_values,
        "typ": st.sampled_from(["JWT", "at+jwt"]) | json_values,
        "kid": json_values,
        "crit": json_values,
        "jku": json_values,
        "x5u": json_values,
        "jwk": json_values,
        "b64": json_values,
    },
)
claim_fields = st.fixed_dictionaries(
    {},
    optional={
        "sub": st.sampled_from(["alice"]) | json_values,
        "exp": st.sampled_from([NOW + 600, NOW - 600]) | json_values,
        "nbf": st.sampled_from([NOW - 60, NOW + 600]) | json_values,
        "iat": st.sampled_from([NOW - 60, NOW + 600]) | json_values,
        "iss": st.sampled_from(["refservice"]) | json_values,
        "aud": st.sampled_from(["refservice-clients", ["refservice-clients"]]) | json_values,
        "typ": st.sampled_from(["access", "refresh"]) | json_values,
        "roles": json_values,
    },
)


def segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(header: Any, claims: Any, secret: str = SECRET) -> str:
    """HS256 over any header and claims (PyJWT refuses to encode some of these headers)."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{segment(digest)}"


@pytest.fixture(scope="module")
def tokens() -> TokenService:
    return TokenService(Settings(jwt_secret=SECRET))


def only_reasons(tokens: TokenService, token: str) -> None:
    try:
        tokens.verify(token, "access")
    except TokenError as error:
        assert error.reason in REASONS


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=header_fields | json_values, claims=claim_fields | json_values)
def test_signed_tokens_with_any_header_and_claims_get_a_reason(tokens, header, claims):
    only_reasons(tokens, signed(header, claims))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.text(alphabet=st.characters(codec="ascii"), max_size=40)
        | st.binary(max_size=30).map(segment)
        | header_fields.map(segment),
        min_size=1,
        max_size=5,
    )
)
def test_any_segments_get_a_reason(tokens, parts):
    only_reasons(tokens, ".".join(parts))


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "crit": ["exp"]},
        {"alg": "HS256", "crit": "exp"},
        {"alg": "HS256", "crit": []},
        {"alg": "HS256", "kid": 7},
        {"alg": "HS256", "kid": None},
        {"alg": "HS256", "kid": ["a"]},
    ],
)
def test_the_headers_that_used_to_escape_are_malformed(tokens, header):
    claims = {"sub": "alice", "exp": NOW + 600, "iss": "refservice", "typ": "access",
              "aud": "refservice-clients"}  # fmt: skip
    with pytest.raises(TokenError) as refused:
        tokens.verify(signed(header, claims), "access")
    assert refused.value.reason == "malformed_token"


@pytest.mark.parametrize("header", [{"crit": ["exp"]}, {"kid": 7}, {"kid": None}])
def test_the_service_answers_those_headers_with_401_everywhere(client, header):
    token = signed({"alg": "HS256", **header}, client.claims(), client.service.jwt_secret)
    status, body = client.rejection(token)
    assert (status, body["error"]) == (401, "malformed_token")
    for path, body_json in (("/auth/refresh", {"refresh_token": token}), ("/events", {})):
        response = client.post(path, body_json, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "malformed_token"


@pytest.fixture(scope="module")
def multi_key_tokens(tmp_path_factory: pytest.TempPathFactory) -> TokenService:
    """An ES256 service that still verifies a previous RSA key: kid picks the key."""
    folder = tmp_path_factory.mktemp("fuzz-keys")
    signing = folder / "ec.pem"
    signing.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    previous = folder / "rsa.pub"
    previous.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return TokenService(
        Settings(
            jwt_algorithm="ES256", jwt_private_key=signing, jwt_previous_public_keys=(previous,)
        )
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), claims=claim_fields | json_values)
def test_any_kid_and_alg_on_a_multi_key_service_get_a_reason(multi_key_tokens, data, claims):
    kids = [key["kid"] for key in multi_key_tokens.jwks()["keys"]]
    header = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "alg": st.sampled_from(["ES256", "RS256", "HS256", "none"]) | json_values,
                "kid": st.sampled_from(kids) | json_values,
                "crit": json_values,
            },
        )
    )
    only_reasons(multi_key_tokens, signed(header, claims))
