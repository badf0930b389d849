"""Robustness against hostile numbers, failing writers, slow readers and slow commits.

Every test runs a real service process and talks to it over real sockets.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket
from refservice_wire import recv, request

from ReferenceServiceLibrary.process import ServiceProcess

MAX_SEQ = 2**63 - 1


def faulty_python(tmp_path: Path, patch: str) -> str:
    """A ``python`` for :class:`ServiceProcess` that runs the service with ``patch`` applied.

    ``patch`` is module-level code run before the service starts (it may monkeypatch).
    """
    script = tmp_path / "faulty_service.py"
    script.write_text(
        textwrap.dedent(patch)
        + "\nimport sys\nfrom refservice.__main__ import main\n"
        + "raise SystemExit(main(sys.argv[1:]))\n"
    )
    wrapper = tmp_path / "faulty-python"
    # ServiceProcess runs ``<python> -m refservice ARGS``: drop ``-m refservice``.
    wrapper.write_text(f'#!/bin/sh\nshift 2\nexec "{sys.executable}" "{script}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


# --- 1. huge numbers and writer failures ---------------------------------------------


@pytest.mark.parametrize("after", [2**63, 2**64 + 5, 10**40])
def test_resume_after_beyond_64_bits_is_invalid_and_connection_lives(
    client: Any, after: int
) -> None:
    ws = client.connect(client.token("carol"))
    try:
        reply = request(ws, {"type": "resume", "id": 1, "after": after})
        assert (reply["type"], reply["code"], reply["field"]) == ("error", "invalid_field", "after")
        assert request(ws, {"type": "ping", "id": 2})["type"] == "pong"
        for name, kind in (("seq", "ack"), ("version", "state.resume")):
            bad = request(ws, {"type": kind, "id": name, name: 2**63})
            assert (bad["code"], bad["field"]) == ("invalid_field", name)
        bad = request(ws, {"type": "state.patch", "id": "p", "base_version": 2**63, "patch": {}})
        assert (bad["code"], bad["field"]) == ("invalid_field", "base_version")
        assert request(ws, {"type": "ping", "id": 3})["type"] == "pong"
    finally:
        ws.close()


@pytest.mark.parametrize("value", [str(2**63), "9" * 19, "1" * 40])
def test_handshake_resume_after_beyond_64_bits_is_refused(client: Any, value: str) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(
            f"{client.ws_url}?resume_after={value}",
            header=[f"Authorization: Bearer {client.token('carol')}"],
            timeout=5,
        ).close()
    assert caught.value.status_code == 400
    assert json.loads(caught.value.resp_body)["error"] == "invalid_request"


def test_writer_failure_closes_with_1011_and_logs_a_warning(
    make_service: Callable[..., ServiceProcess],
    client_for: Any,
    raw_socket: Any,
    poll: Callable[..., bool],
    tmp_path: Path,
) -> None:
    python = faulty_python(
        tmp_path,
        """
        import refservice.store as store
        original = store.Store.events_from
        def events_from(self, username, first_seq, limit=500):
            if username == "carol":
                raise RuntimeError("injected writer failure")
            return original(self, username, first_seq, limit)
        store.Store.events_from = events_from
        """,
    )
    service = make_service(python=python)
    client = client_for(service)
    raw = raw_socket(service.ws_url, client.token("carol"))
    welcome = raw.read_text()
    assert welcome["type"] == "welcome"
    code, reason, _ = raw.read_until_close()
    assert (code, reason) == (1011, "internal error")
    assert poll(lambda: client.open_connections("carol") == 0)
    log = service.log_tail(200)
    assert any(
        "WARNING" in line and welcome["connection_id"] in line for line in log.splitlines()
    ), log
    # Other users are unaffected.
    other = client.connect(client.token("bob"))
    assert request(other, {"type": "ping", "id": 1})["type"] == "pong"
    other.close()


# --- 2. resume beyond latest_seq -----------------------------------------------------


def _publisher_headers(client: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token('publisher')}"}


def _publish(client: Any, headers: dict[str, str], user: str, data: Any) -> int:
    response = requests.post(
        f"{client.http_url}/events", json={"user": user, "data": data}, headers=headers, timeout=5
    )
    assert response.status_code == 201, response.text
    return int(response.json()["deliveries"][0]["seq"])


def test_handshake_resume_after_beyond_latest_is_clamped(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    client = client_for(make_service())
    headers = _publisher_headers(client)
    _publish(client, headers, "bob", "old")
    for query in (f"?resume_after={MAX_SEQ}", "?resume_after=100"):
        ws = websocket.create_connection(
            client.ws_url + query,
            header=[f"Authorization: Bearer {client.token('bob')}"],
            timeout=5,
        )
        welcome = recv(ws)
        assert welcome["type"] == "welcome" and welcome["latest_seq"] >= 1
        seqs = [_publish(client, headers, "bob", n) for n in range(3)]
        # Before the clamp these seqs (all below S) were silently skipped.
        assert seqs[0] == welcome["latest_seq"] + 1
        assert [recv(ws)["seq"] for _ in seqs] == seqs
        ws.close()


def test_resume_message_beyond_latest_is_clamped(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    client = client_for(make_service())
    headers = _publisher_headers(client)
    ws = client.connect(client.token("bob"))
    try:
        first = _publish(client, headers, "bob", "a")
        assert recv(ws)["seq"] == first
        for after in (first + 1000, MAX_SEQ):
            resumed = request(ws, {"type": "resume", "id": "r", "after": after})
            assert resumed == {"type": "resumed", "id": "r", "from_seq": first + 1}
        live = _publish(client, headers, "bob", "b")
        event = recv(ws)
        assert (event["type"], event["seq"]) == ("event", live)
    finally:
        ws.close()


# --- 3. bounded outbox ---------------------------------------------------------------

SMALL_BUFFER = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)


def _close_code(ws: websocket.WebSocket) -> tuple[int, str, int]:
    """Read everything up to the close frame: ``(code, reason, data frames before it)``."""
    frames = 0
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0], frame.data[2:].decode(), frames
        if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            frames += 1


@pytest.mark.parametrize("limits", [{"max_outbox_messages": 20}, {"max_outbox_bytes": 256 * 1024}])
def test_tab_that_never_reads_pushes_is_closed_with_4009(
    make_service: Callable[..., ServiceProcess],
    client_for: Any,
    poll: Callable[..., bool],
    limits: dict[str, int],
) -> None:
    service = make_service(heartbeat_interval=0, **limits)
    client = client_for(service)
    slow = client.connect(client.token("alice"), sockopt=SMALL_BUFFER)
    fast = client.connect(client.token("alice"))
    bystander = client.connect(client.token("bob"))
    version = request(fast, {"type": "state.get", "id": "g"})["version"]
    big = "x" * 30000
    closed_after = None
    for n in range(600):
        reply = request(
            fast,
            {"type": "state.patch", "id": n, "base_version": version + n, "patch": {"k": big}},
        )
        assert reply["type"] == "state.patched", reply
        if "with 4009" in service.log_tail(20):
            closed_after = n
            break
    assert closed_after is not None, "the slow tab was never closed"
    # The writer stopped queueing: the slow tab gets what was already in flight, then 4009.
    code, reason, _ = _close_code(slow)
    assert (code, reason) == (4009, "client too slow")
    # The sender and other users are unaffected.
    assert request(fast, {"type": "ping", "id": "p"})["type"] == "pong"
    assert request(bystander, {"type": "ping", "id": "p"})["type"] == "pong"
    assert poll(lambda: client.open_connections("alice") == 1)
    fast.close()
    bystander.close()


def test_client_that_never_reads_its_replies_is_closed_with_4009(
    make_service: Callable[..., ServiceProcess], client_for: Any
) -> None:
    client = client_for(make_service(heartbeat_interval=0, max_outbox_messages=20))
    ws = client.connect(client.token("carol"), sockopt=SMALL_BUFFER)
    payload = "y" * 30000
    try:
        for n in range(600):
            ws.send(json.dumps({"type": "echo", "id": n, "payload": payload}))
    except (OSError, websocket.WebSocketException):
        pass  # the server may already have closed
    code, reason, frames = _close_code(ws)
    assert (code, reason) == (4009, "client too slow")
    assert frames < 600
    other = client.connect(client.token("carol"))
    assert request(other, {"type": "ping", "id": 1})["type"] == "pong"
    other.close()


# --- 4. user look-ups off the event loop ---------------------------------------------

SLOW_COMMIT = 1.5


def test_user_lookups_do_not_block_the_event_loop_during_a_slow_commit(
    make_service: Callable[..., ServiceProcess], client_for: Any, tmp_path: Path
) -> None:
    python = faulty_python(
        tmp_path,
        f"""
        import time
        import refservice.store as store
        original = store.Store.publish
        def publish(self, **options):
            with self._lock:  # a commit that holds the store lock for a long time
                time.sleep({SLOW_COMMIT})
            return original(self, **options)
        store.Store.publish = publish
        """,
    )
    client = client_for(make_service(python=python))
    headers = _publisher_headers(client)
    ws = client.connect(client.token("alice"))
    results: list[int] = []

    def post() -> None:
        response = requests.post(
            f"{client.http_url}/events",
            json={"user": "bob", "data": 1},
            headers=headers,
            timeout=10,
        )
        results.append(response.status_code)

    first = threading.Thread(target=post)
    first.start()
    time.sleep(0.2)  # the first publish now holds the lock
    # These look users up (user_exists, user_roles) while the lock is held.
    second = threading.Thread(target=post)
    second.start()
    login = threading.Thread(target=client.login, args=("carol",))
    login.start()
    time.sleep(0.2)
    try:
        started = time.monotonic()
        health = requests.get(f"{client.http_url}/health", timeout=10)
        assert health.status_code == 200
        assert time.monotonic() - started < SLOW_COMMIT / 3
        started = time.monotonic()
        assert request(ws, {"type": "ping", "id": "p"})["type"] == "pong"
        assert time.monotonic() - started < SLOW_COMMIT / 3
    finally:
        for thread in (first, second, login):
            thread.join()
        ws.close()
    assert results == [201, 201]
