"""Security events reach the service log at the default level, and without credentials.

The OWASP WebSocket cheat sheet asks for refused handshakes (with the client and the
Origin) and refused actions to be logged, so that an attack can be seen and traced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from refservice_wire import recv, request

from ReferenceServiceLibrary.process import ServiceProcess

GOOD_ORIGIN = "https://app.example"
EVIL_ORIGIN = "https://evil.example"


def test_refused_handshakes_and_actions_are_logged_without_tokens(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    service = make_service(allowed_origins=GOOD_ORIGIN)
    client = client_for(service)
    token = client.token("alice")
    status, _ = client.rejection(token, origin=EVIL_ORIGIN)
    assert status == 403
    forged = client.forge(key="another-key-that-is-long-enough-for-hs256-0123456789")
    status, _ = client.rejection(forged, origin=GOOD_ORIGIN)
    assert status == 401
    alice = client.open(token, origin=GOOD_ORIGIN)
    connection_id = recv(alice)["connection_id"]
    refused = request(alice, {"type": "publish", "id": 1, "to": {"user": "bob"}, "data": 1})
    assert refused["code"] == "forbidden"
    refused = request(alice, {"type": "subscribe", "id": 2, "topic": "user.bob"})
    assert refused["code"] == "forbidden"
    refused = request(alice, {"type": "auth.refresh", "id": 3, "access_token": forged})
    assert refused["code"] == "invalid_token"
    alice.close()
    service.stop()  # flushes the log
    log = service.log_file.read_text(encoding="utf-8")
    peer = r"127\.0\.0\.1:\d+"
    assert re.search(rf"Refused WebSocket handshake from {peer}: origin '{EVIL_ORIGIN}'", log)
    assert re.search(rf"Refused WebSocket handshake from {peer}: invalid_signature", log)
    on_connection = f"on connection {connection_id} for alice"
    for action, reason in (("publish", "forbidden"), ("subscribe", "forbidden"),
                           ("auth.refresh", "invalid_token")):  # fmt: skip
        assert re.search(rf"Refused '{action}' {on_connection}: {reason}", log), (action, log)
    for secret in (token, forged, token.split(".")[2], service.jwt_secret):
        assert secret not in log


def test_a_long_origin_is_logged_cut_short(
    make_service: Callable[..., ServiceProcess], client_for: Callable[..., Any]
) -> None:
    service = make_service(allowed_origins=GOOD_ORIGIN)
    client = client_for(service)
    status, _ = client.rejection(client.token(), origin="https://x.example/'" + "A" * 5000)
    assert status == 403
    service.stop()
    lines = service.log_file.read_text(encoding="utf-8").splitlines()
    line = next(line for line in lines if "origin " in line)
    assert "https://x.example/" in line and len(line) < 400, line
