from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest

from AuthLibrary.algorithms import Algorithm, KeyFamily
from AuthLibrary.errors import KeyMaterialError
from AuthLibrary.keys import (
    KeyPair,
    algorithms_for_key,
    check_key_fits,
    generate_key_pair,
    generate_secret,
    is_private_key,
    key_family,
    public_key_of,
    public_key_to_jwk,
    resolve_key,
)


def test_algorithm_families() -> None:
    assert Algorithm.HS384.family is KeyFamily.HMAC
    assert Algorithm.PS256.family is KeyFamily.RSA
    assert Algorithm.ES512.family is KeyFamily.EC
    assert Algorithm.EDDSA.family is KeyFamily.OKP
    assert Algorithm.NONE.family is KeyFamily.NONE
    assert not Algorithm.HS256.is_asymmetric
    assert Algorithm.RS256.is_asymmetric
    assert str(Algorithm.EDDSA) == "EdDSA"


def test_generate_secret_length_and_randomness() -> None:
    first, second = generate_secret(), generate_secret()
    assert len(first) == 32
    assert first != second
    assert first.isalnum()
    assert len(generate_secret(64)) == 64
    with pytest.raises(KeyMaterialError, match="at least 1 but was 0"):
        generate_secret(0)


@pytest.mark.parametrize(
    ("algorithm", "family"),
    [(Algorithm.ES384, KeyFamily.EC), (Algorithm.ES512, KeyFamily.EC)],
)
def test_generate_key_pair_ec_curves(algorithm: Algorithm, family: KeyFamily) -> None:
    pair = generate_key_pair(algorithm)
    assert key_family(pair.public_key) is family
    assert algorithms_for_key(pair.public_key) == [algorithm]


def test_generated_pair_is_pem_and_matching(rsa_pair: KeyPair) -> None:
    assert rsa_pair.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert rsa_pair.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    assert is_private_key(rsa_pair.private_key)
    assert not is_private_key(rsa_pair.public_key)
    assert public_key_of(rsa_pair.private_key) == rsa_pair.public_key
    assert rsa_pair.private_key_file is None


def test_generate_key_pair_writes_files(tmp_path: Path) -> None:
    pair = generate_key_pair(Algorithm.ES256, directory=tmp_path / "keys", name="svc")
    assert pair.private_key_file == tmp_path / "keys" / "svc.pem"
    assert pair.public_key_file == tmp_path / "keys" / "svc.pub.pem"
    assert pair.private_key_file.read_text() == pair.private_key
    assert pair.public_key_file.read_text() == pair.public_key
    assert stat.S_IMODE(pair.private_key_file.stat().st_mode) == 0o600
    assert pair.as_dict()["private_key_file"] == str(pair.private_key_file)


def test_generate_key_pair_rejects_hmac() -> None:
    with pytest.raises(KeyMaterialError, match="use Generate Secret for HS"):
        generate_key_pair(Algorithm.HS256)


def test_resolve_key_reads_pem_file_but_keeps_secrets(tmp_path: Path, ec_pair: KeyPair) -> None:
    pem_file = tmp_path / "key.pem"
    pem_file.write_text(ec_pair.private_key)
    assert resolve_key(str(pem_file)) == ec_pair.private_key
    assert resolve_key(pem_file) == ec_pair.private_key
    assert resolve_key(ec_pair.public_key) == ec_pair.public_key
    not_pem = tmp_path / "secret.txt"
    not_pem.write_text("a secret")
    assert resolve_key(str(not_pem)) == str(not_pem)
    assert resolve_key("my-secret") == "my-secret"


def test_resolve_key_path_object_must_be_pem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(KeyMaterialError, match="Cannot read key file"):
        resolve_key(missing)


def test_algorithms_for_key(rsa_pair: KeyPair, ed_pair: KeyPair) -> None:
    assert algorithms_for_key("secret") == [Algorithm.HS256, Algorithm.HS384, Algorithm.HS512]
    assert Algorithm.PS512 in algorithms_for_key(rsa_pair.public_key)
    assert Algorithm.RS256 in algorithms_for_key(rsa_pair.private_key)
    assert algorithms_for_key(ed_pair.public_key) == [Algorithm.EDDSA]


def test_check_key_fits_messages(rsa_pair: KeyPair, ec_pair: KeyPair) -> None:
    check_key_fits("secret", Algorithm.HS256)
    check_key_fits(rsa_pair.private_key, Algorithm.PS256)
    with pytest.raises(KeyMaterialError, match="HS256 needs a secret string but got a PEM RSA key"):
        check_key_fits(rsa_pair.public_key, Algorithm.HS256)
    with pytest.raises(KeyMaterialError, match="RS256 needs a PEM private RSA key or a path"):
        check_key_fits("not-a-key", Algorithm.RS256)
    with pytest.raises(KeyMaterialError, match="ES256 needs a EC key but got a RSA key"):
        check_key_fits(rsa_pair.private_key, Algorithm.ES256)
    with pytest.raises(KeyMaterialError, match="ES384 needs an EC key on curve secp384r1"):
        check_key_fits(ec_pair.private_key, Algorithm.ES384)


def test_broken_pem_is_reported() -> None:
    broken = "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"
    with pytest.raises(KeyMaterialError, match="PEM public key cannot be loaded"):
        key_family(broken)


def test_public_key_of_rejects_secret() -> None:
    with pytest.raises(KeyMaterialError, match="Expected a PEM key or a path"):
        public_key_of("secret")


@pytest.mark.parametrize("fixture", ["rsa_pair", "ec_pair", "ed_pair"])
def test_jwk_verifies_tokens(fixture: str, request: pytest.FixtureRequest) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    jwk = public_key_to_jwk(pair.private_key, kid="key-1", algorithm=pair.algorithm)
    assert jwk["kid"] == "key-1"
    assert jwk["use"] == "sig"
    assert jwk["alg"] == pair.algorithm.value
    assert "d" not in jwk, "private part must not leak into the JWK"
    token = jwt.encode({"sub": "a"}, pair.private_key, algorithm=pair.algorithm.value)
    public = jwt.PyJWK(jwk)
    assert jwt.decode(token, public, algorithms=[pair.algorithm.value]) == {"sub": "a"}


def test_jwk_rejects_algorithm_of_other_family(rsa_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError, match="Algorithm ES256 cannot use this RSA key"):
        public_key_to_jwk(rsa_pair.public_key, algorithm=Algorithm.ES256)
