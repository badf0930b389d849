"""Connection liveness: heartbeats, vanished TCP peers, idle timeout, per-user limit.

Everything runs against a real service over real sockets. Durations are short (tenths of
a second) so the module stays fast; bounds leave generous room for a loaded machine.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

import pytest
import websocket

SLACK = 0.5  # how late a deadline may fire on a busy machine


def _seconds_until_gone(client: Any, user: str, start: float, timeout: float = 5.0) -> float:
    """Poll /metrics until ``user`` has no connection; return seconds since ``start``."""
    deadline = time.monotonic() + timeout
    while client.open_connections(user) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert client.open_connections(user) == 0, client.metrics()
    return time.monotonic() - start


def _close_frame(ws: websocket.WebSocket) -> tuple[int, str, int]:
    """Read (answering pings) up to the close frame: ``(code, reason, pings seen)``."""
    pings = 0
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_PING:
            pings += 1
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", frame.data[:2])[0]
            return code, frame.data[2:].decode(), pings


# --- heartbeat --------------------------------------------------------------------------

INTERVAL, TIMEOUT = 0.1, 0.3


@pytest.fixture
def heartbeat_client(make_service: Any, client_for: Any) -> Any:
    return client_for(make_service(heartbeat_interval=INTERVAL, heartbeat_timeout=TIMEOUT))


def test_client_that_ignores_pings_is_closed_1011(heartbeat_client: Any, raw_socket: Any) -> None:
    client = heartbeat_client
    assert client.metrics()["heartbeat"] == {"interval": INTERVAL, "timeout": TIMEOUT}
    token = client.token()
    start = time.monotonic()
    frozen = raw_socket(client.ws_url, token)  # never reads, never answers a ping
    assert client.open_connections("alice") == 1
    elapsed = _seconds_until_gone(client, "alice", start)
    assert INTERVAL + TIMEOUT - 0.05 <= elapsed <= INTERVAL + TIMEOUT + SLACK
    # What the frozen client would have read: the welcome and one ping (in either order on a
    # loaded machine: the heartbeat starts at the upgrade, the welcome comes from the app),
    # then the 1011 close.
    code, reason, before = frozen.read_until_close()
    assert (code, reason) == (1011, "keepalive ping timeout")
    assert sorted(before) == sorted([frozen.OP_TEXT, frozen.OP_PING])
    assert frozen.at_eof()


def test_client_that_answers_pings_survives_many_intervals(
    heartbeat_client: Any, ws_send: Any
) -> None:
    ws = heartbeat_client.connect()
    ws.settimeout(1.0)
    pings, start = 0, time.monotonic()
    while time.monotonic() - start < 12 * INTERVAL:
        opcode, _ = ws.recv_data_frame(control_frame=True)  # answers each ping with a pong
        assert opcode == websocket.ABNF.OPCODE_PING
        pings += 1
    assert pings >= 8  # 12 intervals, 4 times the timeout: well past any deadline
    assert ws_send(ws, {"type": "echo", "id": "alive"})["id"] == "alive"
    assert heartbeat_client.open_connections("alice") == 1
    ws.close()


def test_heartbeat_interval_zero_sends_no_pings(
    make_service: Any, client_for: Any, raw_socket: Any
) -> None:
    client = client_for(make_service(heartbeat_interval=0, heartbeat_timeout=0.1))
    quiet = raw_socket(client.ws_url, client.token(), timeout=0.4)
    assert quiet.read_text()["type"] == "welcome"
    with pytest.raises(TimeoutError):
        quiet.read_frame()  # nothing arrives: no ping, no close
    assert client.open_connections("alice") == 1


# --- TCP connections that vanish without a close frame ---------------------------------


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_vanished_tcp_connection_leaves_metrics_promptly(
    make_service: Any, client_for: Any, raw_socket: Any, how: str
) -> None:
    client = client_for(make_service())
    gone = raw_socket(client.ws_url, client.token())
    stays = client.connect()
    assert client.open_connections("alice") == 2
    if how == "rst":  # SO_LINGER with a zero timeout: close() sends RST, not FIN
        gone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    start = time.monotonic()
    gone.close()
    deadline = time.monotonic() + 2.0
    while client.open_connections("alice") != 1 and time.monotonic() < deadline:
        time.sleep(0.002)
    assert client.open_connections("alice") == 1
    assert time.monotonic() - start < 1.0
    stays.send(json.dumps({"type": "echo", "id": how}))
    assert json.loads(stays.recv())["id"] == how
    stays.close()


# --- idle timeout ---------------------------------------------------------------------

IDLE = 0.3


@pytest.fixture
def idle_client(make_service: Any, client_for: Any) -> Any:
    # Pings every 50 ms: control-frame traffic flows all the time, yet must not count.
    return client_for(make_service(idle_timeout=IDLE, heartbeat_interval=0.05, heartbeat_timeout=2))


def test_idle_connection_closed_4000_despite_pings_and_pongs(idle_client: Any) -> None:
    ws = idle_client.connect()
    start = time.monotonic()
    ws.ping(b"client ping")  # a client ping (answered with a pong) is not activity either
    code, reason, pings = _close_frame(ws)
    elapsed = time.monotonic() - start
    assert (code, reason) == (4000, "idle timeout")
    assert pings >= 2  # heartbeats were answered with pongs while the clock ran
    assert IDLE - 0.05 <= elapsed <= IDLE + SLACK
    assert _seconds_until_gone(idle_client, "alice", start) <= IDLE + SLACK
    ws.close()


def test_data_messages_keep_an_idle_connection_open(idle_client: Any, ws_send: Any) -> None:
    ws = idle_client.connect()
    start = time.monotonic()
    while time.monotonic() - start < 3 * IDLE:
        time.sleep(IDLE / 3)
        assert ws_send(ws, {"type": "ping", "id": 1})["type"] == "pong"
        quiet_since = time.monotonic()
    assert idle_client.open_connections("alice") == 1
    assert _close_frame(ws)[:2] == (4000, "idle timeout")
    assert IDLE - 0.05 <= time.monotonic() - quiet_since <= IDLE + SLACK
    ws.close()


def test_idle_timeout_is_off_by_default(client: Any) -> None:
    assert client.service.settings.get("idle_timeout") is None
    ws = client.connect()
    ws.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    ws.close()


# --- per-user connection limit ----------------------------------------------------------


def test_by_default_one_user_holds_at_most_100_connections(
    make_service: Any, client_for: Any
) -> None:
    client = client_for(make_service())
    token = client.token("alice")
    opened = [client.connect(token) for _ in range(100)]
    extra = client.open(token)
    assert _close_frame(extra)[:2] == (4008, "too many connections")
    for ws in (*opened, extra):
        ws.close()


def test_connection_beyond_the_limit_is_closed_4008(
    make_service: Any, client_for: Any, ws_send: Any, poll: Any
) -> None:
    client = client_for(make_service(max_connections_per_user=2))
    alice, bob = client.token("alice"), client.token("bob")
    first, second = client.connect(alice), client.connect(alice)
    extra = client.open(alice)  # the handshake succeeds...
    code, reason, _ = _close_frame(extra)  # ...and the close comes first, no welcome
    assert (code, reason) == (4008, "too many connections")
    extra.close()
    assert client.metrics()["connections"]["per_user"] == {"alice": 2}
    for ws in (first, second):  # the existing connections are untouched
        assert ws_send(ws, {"type": "echo", "id": "ok"})["id"] == "ok"
    other_user = client.connect(bob)  # the limit is per user
    assert client.metrics()["connections"]["per_user"] == {"alice": 2, "bob": 1}
    first.close()
    assert poll(lambda: client.open_connections("alice") == 1)
    replacement = client.connect(alice)  # a freed slot can be used again
    assert client.open_connections("alice") == 2
    for ws in (second, other_user, replacement):
        ws.close()
    assert poll(lambda: client.metrics()["connections"]["open"] == 0)
