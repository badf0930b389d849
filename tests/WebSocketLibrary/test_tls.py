"""TLS options of Connect against a real wss:// server with certificates of a throwaway CA."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.server import ServerConnection, serve

from ReferenceServiceLibrary import ReferenceServiceLibrary
from ReferenceServiceLibrary.tls import ThrowawayCA
from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection
from WebSocketLibrary.errors import ConnectionClosedError, HandshakeError, WebSocketLibraryError
from WebSocketLibrary.matchers import Criteria


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """A CA, a server certificate for 127.0.0.1, a client certificate; and another CA."""
    authority = ThrowawayCA(tmp_path_factory.mktemp("pki"))
    server = authority.issue("server", ["127.0.0.1"])
    client = authority.issue("qa-client", (), client=True)
    stranger = ThrowawayCA(tmp_path_factory.mktemp("other-pki"), name="Some other CA")
    return {
        "ca": (str(authority.ca_file), ""),
        "server": (str(server[0]), str(server[1])),
        "client": (str(client[0]), str(client[1])),
        "other_ca": (str(stranger.ca_file), ""),
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


def test_certificate_for_another_host_fails_the_handshake(wss, pki):
    # The certificate names 127.0.0.1 only: localhost reaches the same server but must fail.
    with pytest.raises(HandshakeError, match="CERTIFICATE_VERIFY_FAILED.*localhost"):
        _round_trip(wss.replace("127.0.0.1", "localhost"), ca_file=pki["ca"][0])


def test_verify_false_accepts_any_certificate(wss):
    assert _round_trip(wss, verify=False) == "over tls"


def test_client_certificate(mutual_wss, pki):
    cert, key = pki["client"]
    assert _round_trip(mutual_wss, ca_file=pki["ca"][0], client_cert=cert, client_key=key) == (
        "over tls"
    )
    with pytest.raises(HandshakeError, match="Could not open connection 'tls'"):
        _round_trip(mutual_wss, ca_file=pki["ca"][0])


# The library-wide default CA: set once, used by every connection opened after it.


def test_default_ca_file_verifies_connect_and_groups(library, wss, pki):
    assert library.call("Set Default CA File", pki["ca"][0]) is None
    library.call("Connect", wss, "alice")
    library.call("Send Text Message", "hello")
    assert library.call("Receive Message") == "hello"
    results = library.call("Open Connection Group", "tabs", 2, wss)
    assert [result["opened"] for result in results] == [True, True]


def test_without_the_default_ca_file_the_same_connect_fails(library, wss, pki):
    library.call("Set Default CA File", pki["ca"][0])
    assert library.call("Set Default CA File", None) == pki["ca"][0]
    with pytest.raises(WebSocketLibraryError, match="CERTIFICATE_VERIFY_FAILED"):
        library.call("Connect", wss)


def test_ca_file_of_connect_wins_over_the_default(library, wss, pki):
    library.call("Set Default CA File", pki["ca"][0])
    with pytest.raises(WebSocketLibraryError, match="CERTIFICATE_VERIFY_FAILED"):
        library.call("Connect", wss, ca_file=pki["other_ca"][0])
    library.call("Set Default CA File", pki["other_ca"][0])
    library.call("Connect", wss, ca_file=pki["ca"][0])


def test_default_ca_file_given_at_import(wss, pki):
    library = WebSocketLibrary(ca_file=pki["ca"][0])
    try:
        library.run_keyword("connect", (wss,), {})
        library.run_keyword("send_text_message", ("imported",), {})
        assert library.run_keyword("receive_message", (), {}) == "imported"
    finally:
        library.close_all()


def test_a_missing_default_ca_file_fails_at_once(library, tmp_path: Path):
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(WebSocketLibraryError, match=f"CA file '{missing}' does not exist"):
        library.call("Set Default CA File", str(missing))


@pytest.fixture(scope="module")
def small_wss_service() -> Iterator[dict]:
    """The reference service over TLS with a 1 KiB message limit, and a token for it."""
    library = ReferenceServiceLibrary()
    service = library.start_reference_service(tls=True, max_message_size=1024)
    context = ssl.create_default_context(cafile=service["ca_file"])
    login = urllib.request.Request(
        service["http_url"] + "/auth/login",
        data=json.dumps({"username": "alice", "password": "alice-password"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, context=context) as answer:
        token = json.load(answer)["access_token"]
    yield {"url": service["ws_url"], "ca_file": service["ca_file"], "token": token}
    library.stop_all_reference_services()


def test_a_send_cut_short_by_the_servers_close_names_that_close(small_wss_service):
    # Over TLS a big message goes out record by record, and this server closes with 1009
    # and hangs up while it is still being sent: the failure names that close, and the
    # connection's end is the server's 1009, not a broken pipe.
    options = ConnectOptions(
        timeout=3,
        ca_file=small_wss_service["ca_file"],
        headers={"Authorization": f"Bearer {small_wss_service['token']}"},
    )
    for attempt in range(3):
        connection = WebSocketConnection(small_wss_service["url"], options, name=f"big-{attempt}")
        connection.open()
        try:
            connection.send_binary(b"x" * 4_000_000)
        except ConnectionClosedError as error:
            assert "closed while the message was being sent" in str(error), str(error)
            assert "code 1009" in str(error), str(error)
        closed = connection.inbox.wait_for_close(3)
        assert closed is not None, "the server's close never arrived"
        assert (closed.code, closed.initiated_by) == (1009, "server"), closed
        connection.close()
