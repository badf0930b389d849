"""TLS options of Connect against a real wss:// server with certificates made here."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.sync.server import ServerConnection, serve

from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection
from WebSocketLibrary.errors import HandshakeError
from WebSocketLibrary.matchers import Criteria


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: str, issuer_key, issuer: str, *, ca: bool, usage=None, san=None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def _write(directory: Path, name: str, key, cert) -> tuple[str, str]:
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, tuple[str, str]]:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _issue("Test CA", None, "Test CA", ca=True)
    server = _issue(
        "127.0.0.1",
        ca_key,
        "Test CA",
        ca=False,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client = _issue("qa-client", ca_key, "Test CA", ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return {
        "ca": _write(directory, "ca", ca_key, ca_cert),
        "server": _write(directory, "server", *server),
        "client": _write(directory, "client", *client),
    }


def _echo(ws: ServerConnection) -> None:
    for message in ws:
        ws.send(message)


def _tls_server(pki, require_client_cert: bool) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*pki["server"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"][0])
    server = serve(_echo, "127.0.0.1", 0, ssl=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"wss://127.0.0.1:{server.socket.getsockname()[1]}/"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def wss(pki) -> Iterator[str]:
    yield from _tls_server(pki, require_client_cert=False)


@pytest.fixture(scope="module")
def mutual_wss(pki) -> Iterator[str]:
    yield from _tls_server(pki, require_client_cert=True)


def _round_trip(url: str, **options) -> str:
    connection = WebSocketConnection(url, ConnectOptions(timeout=3, **options), name="tls")
    connection.open()
    try:
        connection.send_text("over tls")
        message = connection.inbox.take(Criteria(), 3)
        return message.data if message else "(nothing)"
    finally:
        connection.close()


def test_ca_file_verifies_the_server(wss, pki):
    assert _round_trip(wss, ca_file=pki["ca"][0]) == "over tls"


def test_unknown_certificate_authority_fails_the_handshake(wss):
    with pytest.raises(
        HandshakeError, match="Could not open connection 'tls'.*CERTIFICATE_VERIFY_FAILED"
    ):
        _round_trip(wss)


def test_verify_false_accepts_any_certificate(wss):
    assert _round_trip(wss, verify=False) == "over tls"


def test_client_certificate(mutual_wss, pki):
    cert, key = pki["client"]
    assert _round_trip(mutual_wss, ca_file=pki["ca"][0], client_cert=cert, client_key=key) == (
        "over tls"
    )
    with pytest.raises(HandshakeError, match="Could not open connection 'tls'"):
        _round_trip(mutual_wss, ca_file=pki["ca"][0])
