"""``/conformance/echo`` (``--conformance-echo``): the plain echo the Autobahn server cases need.

Off by default; authenticated like ``/ws``; sends nothing of its own and echoes text as
text and binary as binary, byte for byte, on the same WebSocket stack as ``/ws``.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import pytest
import websocket

ECHO_PATH = "/conformance/echo"


def echo_url(client: Any) -> str:
    return client.ws_url.removesuffix("/ws") + ECHO_PATH


@pytest.fixture
def echo_client(make_service: Any, client_for: Any) -> Any:
    return client_for(make_service(conformance_echo=True, max_message_size=1024))


def test_off_by_default(client: Any) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(
            f"{echo_url(client)}?access_token={client.token()}", timeout=5
        ).close()
    assert caught.value.status_code == 403


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({}, "missing_token"),
        ({"query": "access_token=not-a-jwt"}, "malformed_token"),
        ({"header": ["Authorization: Basic eDp5"]}, "malformed_token"),
    ],
)
def test_refused_like_ws(echo_client: Any, options: dict[str, Any], reason: str) -> None:
    query = options.pop("query", None)
    url = echo_url(echo_client) + (f"?{query}" if query else "")
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(url, timeout=5, **options).close()
    error = caught.value
    assert error.status_code == 401
    assert error.resp_headers is not None and error.resp_body is not None
    assert error.resp_headers["content-type"] == "application/json"
    assert b'"error":"' + reason.encode() + b'"' in error.resp_body


def test_echoes_text_and_binary_unchanged(echo_client: Any) -> None:
    url = f"{echo_url(echo_client)}?access_token={echo_client.token()}"
    ws = websocket.create_connection(url, timeout=5)
    try:
        ws.settimeout(0.3)  # nothing of its own: no welcome message
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv_data()
        ws.settimeout(5)
        payload = os.urandom(1000)
        for opcode, data in [
            (websocket.ABNF.OPCODE_TEXT, "{not json, no envelope} \u00e9\U0001f600".encode()),
            (websocket.ABNF.OPCODE_TEXT, b""),
            (websocket.ABNF.OPCODE_BINARY, payload),
            (websocket.ABNF.OPCODE_BINARY, b""),
            (websocket.ABNF.OPCODE_BINARY, b"\xff\xfe not UTF-8"),
        ]:
            ws.send(data, opcode)
            assert ws.recv_data() == (opcode, data)
        ws.send_close(websocket.STATUS_NORMAL)
        opcode, data = ws.recv_data(control_frame=True)
        assert (opcode, data[:2]) == (websocket.ABNF.OPCODE_CLOSE, struct.pack("!H", 1000))
    finally:
        ws.close()


def test_accepts_header_and_subprotocol_tokens(echo_client: Any) -> None:
    token = echo_client.token()
    ws = websocket.create_connection(
        echo_url(echo_client), timeout=5, subprotocols=["bearer", token]
    )
    assert ws.getsubprotocol() == "bearer"
    ws.send("via subprotocol")
    assert ws.recv() == "via subprotocol"
    ws.close()
    ws = websocket.create_connection(
        echo_url(echo_client), timeout=5, header=[f"Authorization: Bearer {token}"]
    )
    ws.send_binary(b"via header")
    assert ws.recv() == b"via header"
    ws.close()


def test_same_stack_limits(echo_client: Any, raw_socket: Any) -> None:
    raw = raw_socket(echo_url(echo_client), echo_client.token())
    raw.send_frame(raw.OP_BINARY, b"x" * 1025)
    code, _, seen = raw.read_until_close()
    assert (code, seen) == (1009, [])
    raw = raw_socket(echo_url(echo_client), echo_client.token())
    raw.send_frame(raw.OP_TEXT, b"\xff")
    assert raw.read_until_close()[0] == 1007


def test_not_counted_in_metrics(echo_client: Any) -> None:
    ws = websocket.create_connection(
        f"{echo_url(echo_client)}?access_token={echo_client.token()}", timeout=5
    )
    ws.send("x")
    assert ws.recv() == "x"
    metrics = echo_client.metrics()
    assert metrics["connections"]["open"] == 0
    assert metrics["messages"] == {"received": 0, "sent": 0}
    ws.close()


def test_close_inside_a_fragmented_message_is_echoed(echo_client: Any, raw_socket: Any) -> None:
    """Autobahn 7.1.5, as on ``/ws``: the unfinished message is dropped, the close echoed."""
    raw = raw_socket(echo_url(echo_client), echo_client.token())
    raw.sock.sendall(
        raw.frame(raw.OP_TEXT, b"frag", fin=False)
        + raw.frame(raw.OP_CLOSE, struct.pack("!H", 1000))
        + raw.frame(raw.OP_CONT, b"ment")
    )
    assert raw.read_until_close() == (1000, "", [])
    assert raw.at_eof()
