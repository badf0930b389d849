"""permessage-deflate: refused unless ``--permessage-deflate`` turns it on.

Compressing a message that holds a secret next to data an attacker chooses lets the
attacker guess the secret from the compressed size (CRIME, BREACH). On this service an
``auth.refresh`` carries a token on the same connection that echoes what a client sends,
so the extension is off unless a deployment asks for it (the OWASP WebSocket cheat sheet
says the same).
"""

from __future__ import annotations

from typing import Any

from ReferenceServiceLibrary.process import ServiceProcess

OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


def negotiated_extensions(client: Any) -> str | None:
    token = client.token()
    ws = client.open(token, header=[f"Authorization: Bearer {token}", OFFER])
    try:
        return ws.getheaders().get("sec-websocket-extensions")
    finally:
        ws.close()


def test_permessage_deflate_is_not_negotiated_by_default(
    client_for: Any, service: ServiceProcess
) -> None:
    assert negotiated_extensions(client_for(service)) is None


def test_the_setting_turns_permessage_deflate_on(client_for: Any, make_service: Any) -> None:
    extensions = negotiated_extensions(client_for(make_service(permessage_deflate=True)))
    assert extensions is not None and extensions.startswith("permessage-deflate"), extensions
