"""The service over TLS: https:// and wss:// with a certificate of a throwaway CA.

Everything goes over real sockets: a client that trusts the CA is served, one that does
not is refused during the TLS handshake, and the service keeps serving the others.
"""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import websocket

from ReferenceServiceLibrary.tls import ThrowawayCA, make_server_certificate
from refservice.__main__ import main
from refservice.config import ConfigError, load_settings

TIMEOUT = 5.0


@pytest.fixture
def tls_service(make_service):
    return make_service(tls=True)


def _login(service) -> str:
    response = requests.post(
        f"{service.http_url}/auth/login",
        json={"username": "alice", "password": "alice-password"},
        timeout=TIMEOUT,
        verify=str(service.ca_file),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_urls_say_https_and_wss(tls_service) -> None:
    assert tls_service.http_url.startswith("https://127.0.0.1:")
    assert tls_service.ws_url.startswith("wss://127.0.0.1:")
    assert tls_service.ws_url.endswith("/ws")
    announced = json.loads(tls_service.url_file.read_text())
    assert (announced["http_url"], announced["ws_url"]) == (
        tls_service.http_url,
        tls_service.ws_url,
    )
    assert tls_service.info()["ca_file"] == str(tls_service.ca_file)


def test_https_health_through_the_throwaway_ca(tls_service) -> None:
    response = requests.get(
        f"{tls_service.http_url}/health", timeout=TIMEOUT, verify=str(tls_service.ca_file)
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_wss_echo_through_the_throwaway_ca(tls_service) -> None:
    ws = websocket.create_connection(
        tls_service.ws_url,
        timeout=TIMEOUT,
        header=[f"Authorization: Bearer {_login(tls_service)}"],
        sslopt={"ca_certs": str(tls_service.ca_file)},
    )
    try:
        assert isinstance(ws.sock, ssl.SSLSocket)
        assert json.loads(ws.recv())["type"] == "welcome"
        ws.send(json.dumps({"type": "echo", "id": 1, "payload": "over tls"}))
        assert json.loads(ws.recv()) == {"type": "echo", "id": 1, "payload": "over tls"}
    finally:
        ws.close()


def test_localhost_is_in_the_certificate(tls_service) -> None:
    url = tls_service.http_url.replace("127.0.0.1", "localhost")
    response = requests.get(f"{url}/health", timeout=TIMEOUT, verify=str(tls_service.ca_file))
    assert response.status_code == 200


def test_a_client_that_does_not_trust_the_ca_is_refused(tls_service, tmp_path: Path) -> None:
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{tls_service.http_url}/health", timeout=TIMEOUT)
    other_ca = ThrowawayCA(tmp_path / "other").ca_file
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        websocket.create_connection(
            tls_service.ws_url, timeout=TIMEOUT, sslopt={"ca_certs": str(other_ca)}
        )
    # The refused clients cost the service nothing: it still serves one that trusts it.
    response = requests.get(
        f"{tls_service.http_url}/health", timeout=TIMEOUT, verify=str(tls_service.ca_file)
    )
    assert response.status_code == 200


def test_plain_http_on_the_tls_port_gets_no_answer(tls_service) -> None:
    url = urlsplit(tls_service.http_url)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert b"HTTP/1.1 200" not in received
    assert b'"status"' not in received
    response = requests.get(
        f"{tls_service.http_url}/health", timeout=TIMEOUT, verify=str(tls_service.ca_file)
    )
    assert response.status_code == 200
    assert "Traceback" not in tls_service.log_tail(200)


def test_restart_keeps_tls_and_the_certificate(tls_service) -> None:
    ca_file, url = tls_service.ca_file, tls_service.http_url
    tls_service.restart()
    assert tls_service.http_url == url
    response = requests.get(f"{url}/health", timeout=TIMEOUT, verify=str(ca_file))
    assert response.status_code == 200


def test_own_certificate_files_as_settings(make_service, tmp_path: Path) -> None:
    files = make_server_certificate(tmp_path / "own")
    service = make_service(tls_certfile=files.certfile, tls_keyfile=files.keyfile)
    assert service.ca_file is None  # the controller did not make this CA: the test knows it
    response = requests.get(
        f"{service.http_url}/health", timeout=TIMEOUT, verify=str(files.ca_file)
    )
    assert response.status_code == 200


def test_tls_settings_from_flags_and_environment() -> None:
    settings = load_settings(["--tls-certfile", "c.pem"], {"REFSERVICE_TLS_KEYFILE": "k.pem"})
    assert settings.tls_certfile == Path("c.pem")
    assert settings.tls_keyfile == Path("k.pem")
    assert load_settings([], {}).tls_certfile is None


def test_a_key_without_a_certificate_is_refused() -> None:
    with pytest.raises(ConfigError, match="--tls-keyfile needs --tls-certfile"):
        load_settings(["--tls-keyfile", "k.pem"], {})


def test_an_unreadable_certificate_is_refused_at_start(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "missing.pem"
    assert main(["--tls-certfile", str(missing), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert f"Cannot load the TLS certificate {missing}" in error
    assert "Traceback" not in error


def test_a_key_that_does_not_match_the_certificate_is_refused_at_start(
    tmp_path: Path, capsys
) -> None:
    authority = ThrowawayCA(tmp_path)
    certfile, _ = authority.issue("one")
    _, other_key = authority.issue("two")
    code = main(["--tls-certfile", str(certfile), "--tls-keyfile", str(other_key), "--port", "0"])
    assert code == 2
    assert f"Cannot load the TLS certificate {certfile} with key {other_key}" in (
        capsys.readouterr().err
    )
