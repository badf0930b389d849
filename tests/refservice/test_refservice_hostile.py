"""Hostile input never takes the service down, nor disturbs anybody else's connection.

Application-level garbage is answered with ``error`` messages on a connection that stays
open; protocol-level abuse (sent over a hand-made raw socket) ends only the abusing
connection, with the close code listed in docs/protocol.md.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
import requests

from refservice.protocol import ERROR_CODES

# Nesting this deep is still parsed and echoed; far deeper hits the recursion limit while
# parsing and is answered with invalid_json (never an exception escaping the handler).
DEPTH = 900

MALFORMED: list[str] = [
    "",
    " ",
    "{",
    "}",
    "{oops",
    "nul\x00l",
    '{"type": "echo"',
    '{"type": "echo",}',
    "{'type': 'echo'}",
    "NaN",
    '{"type": "echo", "payload": NaN}',
    '{"type": "echo", "payload": Infinity}',
    '{"type": "echo", "payload": -Infinity}',
    '{"type": "echo", "payload": 1e400}',
    '{"type": "echo", "id": -1e999}',
    '{"type": "echo", "payload": ' + "9" * 5000 + "}",
    "[]",
    "[1, 2, 3]",
    '"echo"',
    "42",
    "null",
    "true",
    "{}",
    '{"id": "no-type"}',
    '{"type": null}',
    '{"type": 7, "id": 1}',
    '{"type": {"nested": "echo"}}',
    '{"type": "echo", "id": true}',
    '{"type": "echo", "id": [1]}',
    '{"type": "echo", "id": null}',
    '{"type": "' + "x" * 20000 + '"}',
    '{"type": "\\ud800", "id": "lone-surrogate"}',
    '{"type": "teleport\\u0000"}',
    "[" * 30000 + "]" * 30000,
    '{"type": "echo", "payload": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"type": "echo", "payload": ' + "[" * DEPTH + "]" * DEPTH + "}",
    '{"type": "echo", "payload": ' + '{"a":' * DEPTH + "1" + "}" * DEPTH + "}",
    '{"type": "ping", "id": {"x": 1}}',
]

# name -> (what the raw client does, expected close code, expected reason)
ABUSES: dict[str, tuple[Callable[[Any], None], int, str]] = {
    "invalid UTF-8 in a text frame": (lambda r: r.send_frame(r.OP_TEXT, b"\xff\xfe"), 1007, ""),
    "invalid UTF-8 split over fragments": (
        lambda r: r.sock.sendall(
            r.frame(r.OP_TEXT, b"\xe2\x82", fin=False) + r.frame(r.OP_CONT, b"(")
        ),
        1007,
        "",
    ),
    "reserved opcode 0x3": (lambda r: r.send_frame(0x3, b"x"), 1002, "invalid opcode"),
    "reserved control opcode 0xB": (lambda r: r.send_frame(0xB), 1002, "invalid opcode"),
    "unmasked client frame": (
        lambda r: r.send_frame(r.OP_TEXT, b'{"type":"echo"}', mask=False),
        1002,
        "incorrect masking",
    ),
    "RSV1 set without an extension": (
        lambda r: r.send_frame(r.OP_TEXT, b"{}", rsv=4),
        1002,
        "reserved bits must be 0",
    ),
    "fragmented ping": (
        lambda r: r.send_frame(r.OP_PING, b"x", fin=False),
        1002,
        "fragmented control frame",
    ),
    "ping payload of 126 bytes": (
        lambda r: r.send_frame(r.OP_PING, b"x" * 126),
        1002,
        "control frame too long",
    ),
    "continuation without a start": (
        lambda r: r.send_frame(r.OP_CONT, b"x"),
        1002,
        "unexpected continuation frame",
    ),
    "new text frame inside a fragmented message": (
        lambda r: r.sock.sendall(r.frame(r.OP_TEXT, b"{", fin=False) + r.frame(r.OP_TEXT, b"}")),
        1002,
        "expected a continuation frame",
    ),
    "close frame with a 1-byte payload": (
        lambda r: r.send_frame(r.OP_CLOSE, b"\x03"),
        1002,
        "close frame too short",
    ),
    "close code 1005 on the wire": (
        lambda r: r.send_frame(r.OP_CLOSE, struct.pack("!H", 1005)),
        1002,
        "invalid status code",
    ),
    "close code 5000": (
        lambda r: r.send_frame(r.OP_CLOSE, struct.pack("!H", 5000)),
        1002,
        "invalid status code",
    ),
    "close reason not UTF-8": (
        lambda r: r.send_frame(r.OP_CLOSE, struct.pack("!H", 1000) + b"\xff"),
        1007,
        "invalid start byte at position 0",
    ),
    "oversize frame (70000 bytes)": (
        lambda r: r.send_frame(r.OP_BINARY, b"x" * 70000),
        1009,
        "frame with 70000 bytes exceeds limit of 65536 bytes",
    ),
    "oversize length announced, no payload (2**63)": (
        lambda r: r.sock.sendall(bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 63)),
        1009,
        "frame with 9223372036854775808 bytes exceeds limit of 65536 bytes",
    ),
    "oversize across fragments (3 x 30000)": (
        lambda r: r.sock.sendall(
            r.frame(r.OP_BINARY, b"x" * 30000, fin=False)
            + r.frame(r.OP_CONT, b"x" * 30000, fin=False)
            + r.frame(r.OP_CONT, b"x" * 30000)
        ),
        1009,
        "frame with 30000 bytes after reading 60000 bytes exceeds limit of 65536 bytes",
    ),
    "HTTP request bytes after the upgrade": (
        lambda r: r.sock.sendall(b"GET / HTTP/1.1\r\n\r\n"),
        1002,
        "invalid opcode",
    ),
}


def _assert_served(client: Any, ws_send: Any, bystander: Any) -> None:
    assert ws_send(bystander, {"type": "echo", "id": "bystander"})["id"] == "bystander"
    fresh = client.connect()
    assert ws_send(fresh, {"type": "ping", "id": "fresh"})["type"] == "pong"
    fresh.close()
    health = requests.get(f"{client.http_url}/health", timeout=5)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("name", list(ABUSES))
def test_protocol_abuse_close_codes(client: Any, raw_socket: Any, name: str) -> None:
    act, code, reason = ABUSES[name]
    raw = raw_socket(client.ws_url, client.token("bob"))
    assert raw.read_text()["type"] == "welcome"
    act(raw)
    assert raw.read_until_close() == (code, reason, [])
    assert raw.at_eof()  # the stack closes the TCP connection right after its close frame


@pytest.mark.parametrize("code", [1000, 1001, 4000])
def test_close_between_fragments_is_echoed(client: Any, raw_socket: Any, code: int) -> None:
    """RFC 6455 5.4 allows a close frame between fragments (Autobahn 7.1.5).

    The ``websockets`` protocol would fail the connection with 1002; the service's
    stack (``refservice.wsstack``) drops the unfinished message and echoes the close.
    """
    raw = raw_socket(client.ws_url, client.token("bob"))
    assert raw.read_text()["type"] == "welcome"
    raw.sock.sendall(
        raw.frame(raw.OP_TEXT, b'{"type": "echo", ', fin=False)
        + raw.frame(raw.OP_PING, b"between")
        + raw.frame(raw.OP_CLOSE, struct.pack("!H", code) + b"bye")
        + raw.frame(raw.OP_CONT, b'"id": 1}')
    )
    opcode, payload = raw.read_frame()
    assert (opcode, payload) == (raw.OP_PONG, b"between")
    assert raw.read_until_close() == (code, "bye", [])
    assert raw.at_eof()


def test_hostile_input_never_takes_the_service_down(
    make_service: Any, client_for: Any, raw_socket: Any, ws_send: Any, poll: Any
) -> None:
    process = make_service()
    client = client_for(process)
    token = client.token()
    bystander = client.connect(client.token("bob"))

    raw = raw_socket(client.ws_url, token)
    assert raw.read_text()["type"] == "welcome"
    for text in MALFORMED:
        raw.send_text(text)
        reply = raw.read_text()
        if reply["type"] == "error":
            assert reply["code"] in ERROR_CODES, reply
        else:  # a deep structure within the limits is fine: it is echoed back
            assert reply["type"] == "echo", reply
    raw.send_text(json.dumps({"type": "echo", "id": "still-open"}))
    assert raw.read_text() == {"type": "echo", "id": "still-open"}
    _assert_served(client, ws_send, bystander)

    for act, code, _ in ABUSES.values():
        abuser = raw_socket(client.ws_url, token)
        abuser.read_text()
        act(abuser)
        assert abuser.read_until_close()[0] == code
        abuser.close()
    raw.close()
    _assert_served(client, ws_send, bystander)
    assert poll(lambda: client.metrics()["connections"]["per_user"] == {"bob": 1})
    bystander.close()

    assert process.stop() == 0
    log = process.log_file.read_text()
    assert "Traceback" not in log
    assert "ERROR" not in log
