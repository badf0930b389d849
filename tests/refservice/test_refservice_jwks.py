"""Key ids, the JWKS endpoint and key rotation with verify-only previous keys (issue 9)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from refservice.config import ConfigError, Settings, load_settings
from refservice.tokens import TokenError, TokenService, key_id

JWKS_PATH = "/.well-known/jwks.json"


def write_private(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def write_public(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two RSA keys (A, then B), one EC P-256 key, their PEM files."""
    folder = tmp_path_factory.mktemp("keys")
    found: dict[str, Any] = {}
    for name, key in (
        ("a", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("b", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ec", ec.generate_private_key(ec.SECP256R1())),
    ):
        found[name] = key
        found[f"{name}_private"] = write_private(folder / f"{name}.pem", key)
        found[f"{name}_public"] = write_public(folder / f"{name}.pub", key)
    return found


def jwks_of(client: Any) -> dict[str, Any]:
    response = requests.get(f"{client.http_url}{JWKS_PATH}", timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def verified_by_jwks(client: Any, token: str) -> dict[str, Any]:
    """The claims of ``token`` checked the way a third party would: against the JWKS."""
    signing_key = jwt.PyJWKClient(f"{client.http_url}{JWKS_PATH}").get_signing_key_from_jwt(token)
    return dict(
        jwt.decode(
            token,
            signing_key.key,
            algorithms=[signing_key.algorithm_name],
            audience=client.service.audience,
        )
    )


def test_key_rotation_keeps_old_tokens_valid_until_they_expire(
    make_service, client_for, keys
) -> None:
    first = client_for(make_service(jwt_algorithm="RS256", jwt_private_key=keys["a_private"]))
    old_token = first.token()
    assert jwt.get_unverified_header(old_token)["kid"] == key_id(keys["a"].public_key())
    assert verified_by_jwks(first, old_token)["sub"] == "alice"

    # Restarted with key B for signing and A kept for verifying.
    second = client_for(
        make_service(
            jwt_algorithm="RS256",
            jwt_private_key=keys["b_private"],
            jwt_previous_public_key=[keys["a_public"]],
        )
    )
    second.connect(old_token).close()
    new_token = second.token()
    kid_a, kid_b = key_id(keys["a"].public_key()), key_id(keys["b"].public_key())
    assert jwt.get_unverified_header(new_token)["kid"] == kid_b
    assert verified_by_jwks(second, new_token)["sub"] == "alice"
    assert verified_by_jwks(second, old_token)["sub"] == "alice"
    published = jwks_of(second)["keys"]
    assert [(key["kid"], key["alg"], key["use"], key["kty"]) for key in published] == [
        (kid_b, "RS256", "sig", "RSA"),
        (kid_a, "RS256", "sig", "RSA"),
    ]
    assert all(set(key) == {"kid", "alg", "use", "kty", "n", "e"} for key in published)

    # Signed by B but naming A: the signature is checked with A, and fails.
    liar = jwt.encode(second.claims(), keys["b"], "RS256", headers={"kid": kid_a})
    assert second.rejection(liar) == (
        401,
        {"error": "invalid_signature", "message": "The token signature does not verify."},
    )
    status, body = second.rejection(
        jwt.encode(second.claims(), keys["b"], "RS256", headers={"kid": "retired-long-ago"})
    )
    assert (status, body["error"]) == (401, "unknown_key")
    assert "'retired-long-ago'" in body["message"]
    # Without kid: the current key (B). A token of A without kid does not verify any more.
    second.connect(jwt.encode(second.claims(), keys["b"], "RS256")).close()
    status, body = second.rejection(jwt.encode(second.claims(), keys["a"], "RS256"))
    assert (status, body["error"]) == (401, "invalid_signature")


def test_es256_keys_are_published_and_verify(make_service, client_for, keys) -> None:
    client = client_for(make_service(jwt_algorithm="ES256", jwt_private_key=keys["ec_private"]))
    token = client.token()
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("ES256", key_id(keys["ec"].public_key()))
    (published,) = jwks_of(client)["keys"]
    assert (published["kty"], published["crv"], published["alg"]) == ("EC", "P-256", "ES256")
    assert "d" not in published
    assert verified_by_jwks(client, token)["typ"] == "access"
    client.connect(token).close()


def test_a_rotation_from_rs256_to_es256_pins_each_key_to_its_algorithm(keys) -> None:
    tokens = TokenService(
        Settings(
            jwt_algorithm="ES256",
            jwt_private_key=keys["ec_private"],
            jwt_previous_public_keys=(keys["a_public"],),
        )
    )
    kid_a = key_id(keys["a"].public_key())
    old = jwt.encode(claims(), keys["a"], "RS256", headers={"kid": kid_a})
    assert tokens.verify(old, "access")["sub"] == "alice"
    assert [key["alg"] for key in tokens.jwks()["keys"]] == ["ES256", "RS256"]
    # The EC key's kid with an RS256 signature: refused before any signature check.
    kid_ec = key_id(keys["ec"].public_key())
    confused = jwt.encode(claims(), keys["a"], "RS256", headers={"kid": kid_ec})
    with pytest.raises(TokenError) as refused:
        tokens.verify(confused, "access")
    assert refused.value.reason == "algorithm_not_allowed"
    assert refused.value.message == (
        f"The token is signed with 'RS256'; key {kid_ec!r} is for ES256."
    )


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "alice", "iat": now, "exp": now + 300, "iss": "refservice",
            "aud": "refservice-clients", "typ": "access"}  # fmt: skip


def test_hs256_publishes_no_keys_and_issues_no_kid(client: Any) -> None:
    """The default (HS256) is unchanged: its secret is never published, tokens have no kid."""
    assert jwks_of(client) == {"keys": []}
    assert "kid" not in jwt.get_unverified_header(client.token())
    client.connect(client.forge()).close()


@pytest.mark.parametrize(
    ("make_settings", "message"),
    [
        (
            lambda k, tmp: {
                "jwt_algorithm": "ES256",
                "jwt_private_key": write_private(
                    tmp / "p384.pem", ec.generate_private_key(ec.SECP384R1())
                ),
            },
            "is on curve secp384r1; ES256 needs secp256r1",
        ),
        (
            lambda k, tmp: {"jwt_algorithm": "RS256", "jwt_private_key": k["ec_private"]},
            "is an EC key; RS256 needs another key type",
        ),
        (
            lambda k, tmp: {
                "jwt_algorithm": "RS256",
                "jwt_private_key": k["a_private"],
                "jwt_previous_public_keys": (
                    write_public(
                        tmp / "weak.pub",
                        rsa.generate_private_key(public_exponent=65537, key_size=1024),
                    ),
                ),
            },
            "The RSA key has 1024 bits; 2048 at least",
        ),
        (
            lambda k, tmp: {
                "jwt_algorithm": "RS256",
                "jwt_private_key": k["a_private"],
                "jwt_previous_public_keys": (
                    write_public(tmp / "p384.pub", ec.generate_private_key(ec.SECP384R1())),
                ),
            },
            None,  # accepted: a P-384 key is an ES384 key
        ),
        (
            lambda k, tmp: {
                "jwt_algorithm": "RS256",
                "jwt_private_key": k["a_private"],
                "jwt_public_key": k["b_public"],
            },
            "does not belong to the private key",
        ),
        (
            lambda k, tmp: {
                "jwt_algorithm": "RS256",
                "jwt_private_key": k["a_private"],
                "jwt_previous_public_keys": (tmp / "missing.pub",),
            },
            "Cannot read the public key",
        ),
        (
            lambda k, tmp: {"jwt_algorithm": "RS256", "jwt_private_key": k["a_public"]},
            "is not an unencrypted PEM private key",
        ),
    ],
)
def test_every_key_is_checked_at_start(
    keys, tmp_path: Path, make_settings: Any, message: str | None
) -> None:
    settings = Settings(**make_settings(keys, tmp_path))
    if message is None:
        assert len(TokenService(settings).jwks()["keys"]) == 2
        return
    with pytest.raises(ConfigError, match=message):
        TokenService(settings)


def test_previous_keys_need_an_asymmetric_algorithm(keys) -> None:
    with pytest.raises(ConfigError, match="needs an RS\\*/ES\\* --jwt-algorithm"):
        Settings(jwt_previous_public_keys=(keys["a_public"],))


def test_previous_keys_from_flags_and_env(keys) -> None:
    a, b = str(keys["a_public"]), str(keys["b_public"])
    base = ["--jwt-algorithm", "RS256", "--jwt-private-key", str(keys["b_private"])]
    flags = [*base, "--jwt-previous-public-key", a, "--jwt-previous-public-key", b]
    assert load_settings(flags, {}).jwt_previous_public_keys == (Path(a), Path(b))
    env = {"REFSERVICE_JWT_PREVIOUS_PUBLIC_KEYS": f"{a}{os.pathsep}{b}"}
    assert load_settings(base, env).jwt_previous_public_keys == (Path(a), Path(b))
