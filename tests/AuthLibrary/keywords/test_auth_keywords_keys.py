from __future__ import annotations

from pathlib import Path

import pytest

from AuthLibrary import AuthLibrary
from AuthLibrary.algorithms import Algorithm


@pytest.mark.parametrize("algorithm", [Algorithm.RS256, Algorithm.ES256, Algorithm.EDDSA])
def test_generate_key_pair_round_trip(library: AuthLibrary, algorithm: Algorithm) -> None:
    pair = library.generate_key_pair(algorithm)
    assert pair.algorithm == algorithm.value
    assert pair["private_key"] == pair.private_key
    token = library.create_token({"sub": "a"}, algorithm=algorithm, key=pair.private_key)
    assert library.verify_token(token, key=pair.public_key)["sub"] == "a"
    # The private key verifies too (its public part is used).
    assert library.verify_token(token, key=pair.private_key)["sub"] == "a"


def test_generate_key_pair_to_directory(library: AuthLibrary, tmp_path: Path) -> None:
    pair = library.generate_key_pair(Algorithm.ES256, directory=str(tmp_path), name="svc")
    assert pair.private_key_file == str(tmp_path / "svc.pem")
    token = library.create_token(algorithm=Algorithm.ES256, key=pair.private_key_file)
    assert library.verify_token(token, key=pair.public_key_file)["aud"]


def test_generate_secret_used_as_key(library: AuthLibrary, log_messages: list) -> None:
    secret = library.generate_secret(length=48)
    assert len(secret) == 48
    assert secret not in log_messages[-1][1]
    token = library.create_token(algorithm=Algorithm.HS384, key=secret)
    library.token_should_be_valid(token, key=secret)


def test_get_public_key_and_jwk(library: AuthLibrary, ec_pair) -> None:  # type: ignore[no-untyped-def]
    assert library.get_public_key(ec_pair.private_key) == ec_pair.public_key
    jwk = library.get_public_key_as_jwk(ec_pair.private_key, kid="k1")
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["kid"]) == ("EC", "P-256", "ES256", "k1")


def test_private_key_is_logged_masked(library: AuthLibrary, log_messages: list) -> None:
    pair = library.generate_key_pair(Algorithm.ES256)
    message = log_messages[-1][1]
    assert pair.private_key not in message
    assert "-----BEGIN PRIVATE KEY-----…(masked," in message
