"""Tokens that bring their own key, or a key of the wrong kind (RFC 8725 3.1, 3.2 and 3.10).

A verifier must take its keys from its own configuration only: not from a token's ``jwk``
header, not from a URL a token names (``jku``, ``x5u``: the service must not even fetch
them), not by reading its RSA public key as an HMAC secret, and not with an all-zero ECDSA
signature (CVE-2022-21449).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm


def pem_private(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def pem_public(key: Any) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.fixture(scope="module")
def service_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("service-key") / "service.pem"
    path.write_bytes(pem_private(key))
    return key, path


@pytest.fixture(scope="module")
def attacker_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def rs256(make_service, client_for, service_key) -> Any:
    return client_for(make_service(jwt_algorithm="RS256", jwt_private_key=service_key[1]))


class KeyServer:
    """An attacker's key URL on loopback: serves a JWKS and counts every request."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        self.requests: list[str] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KeyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def key_server(attacker_key) -> Iterator[KeyServer]:
    public = json.loads(RSAAlgorithm.to_jwk(attacker_key.public_key()))
    with KeyServer({"keys": [{**public, "kid": "attacker", "alg": "RS256", "use": "sig"}]}) as s:
        yield s


def test_an_embedded_jwk_is_not_trusted(rs256, attacker_key) -> None:
    jwk = json.loads(RSAAlgorithm.to_jwk(attacker_key.public_key()))
    token = jwt.encode(rs256.claims(), attacker_key, "RS256", headers={"jwk": jwk})
    status, body = rs256.rejection(token)
    assert (status, body["error"]) == (401, "invalid_signature"), body


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_a_key_url_in_the_token_is_neither_trusted_nor_fetched(
    rs256, attacker_key, key_server, header
) -> None:
    url = f"{key_server.url}/.well-known/jwks.json"
    token = jwt.encode(
        rs256.claims(), attacker_key, "RS256", headers={header: url, "kid": "attacker"}
    )
    status, body = rs256.rejection(token)
    # The service's own key set has no 'attacker' key.
    assert (status, body["error"]) == (401, "unknown_key"), body
    without_kid = jwt.encode(rs256.claims(), attacker_key, "RS256", headers={header: url})
    status, body = rs256.rejection(without_kid)
    assert (status, body["error"]) == (401, "invalid_signature"), body
    assert key_server.requests == [], f"the service fetched {key_server.requests}"


def test_the_public_key_as_an_hmac_secret_is_refused(rs256, service_key) -> None:
    # PyJWT itself refuses to sign HS256 with a PEM key, so the token is made by hand.
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(rs256.claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(pem_public(service_key[0]), signing_input, hashlib.sha256).digest()
    status, body = rs256.rejection(f"{header}.{payload}.{b64url(signature)}")
    assert (status, body["error"]) == (401, "algorithm_not_allowed"), body


def test_an_all_zero_ecdsa_signature_is_refused(make_service, client_for, tmp_path) -> None:
    key_file = tmp_path / "ec.pem"
    key_file.write_bytes(pem_private(ec.generate_private_key(ec.SECP256R1())))
    es256 = client_for(make_service(jwt_algorithm="ES256", jwt_private_key=key_file))
    issued = es256.token()
    signing_input = issued.rsplit(".", 1)[0]
    status, body = es256.rejection(f"{signing_input}.{b64url(bytes(64))}")
    assert (status, body["error"]) == (401, "invalid_signature"), body
