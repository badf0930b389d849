"""Pings, the server's heartbeat, raw frames and dropped connections, against real servers."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.errors import WebSocketLibraryError
from WebSocketLibrary.frames import Opcode
from WebSocketLibrary.keywords.frames import DropMode


@pytest.fixture
def library():
    lib = WebSocketLibrary(timeout=timedelta(seconds=2))
    yield lib
    lib.close_all()


def call(library: WebSocketLibrary, name: str, *args, **kwargs):
    return library.run_keyword(name.lower().replace(" ", "_"), args, kwargs)


def test_ping_server_returns_the_round_trip(library, peer):
    call(library, "Connect", f"{peer}/echo")
    rtt = call(library, "Ping Server", b"payload")
    assert 0 < rtt < 1


def test_ping_without_pong_fails_naming_the_payload(library, raw_peer):
    call(library, "Connect", raw_peer(lambda sock: time.sleep(3)), "mute")
    with pytest.raises(
        WebSocketLibraryError, match="'mute' .* got no pong echoing b'x' within 200ms"
    ):
        call(library, "Ping Server", b"x", timedelta(milliseconds=200))


def test_server_ping_intervals_are_measured(library, pinging_peer):
    call(library, "Connect", f"{pinging_peer}/echo")
    intervals = call(library, "Wait For Server Pings", 4)
    assert len(intervals) == 3
    assert all(0.05 < interval < 0.5 for interval in intervals), intervals


def test_an_idle_connection_survives_the_heartbeat_without_any_keyword(library, pinging_peer):
    call(library, "Connect", f"{pinging_peer}/echo")
    time.sleep(1.0)  # Ten heartbeat intervals with no keyword running.
    call(library, "Connection Should Be Open")


def test_a_frozen_client_is_closed_by_the_heartbeat(library, pinging_peer):
    call(library, "Connect", f"{pinging_peer}/echo")
    call(library, "Stop Answering Pings")
    closed = call(library, "Wait For Close", 1011, timeout=timedelta(seconds=2))
    assert closed.closed_by == "server"


def test_wait_for_server_pings_fails_when_none_come(library, peer):
    call(library, "Connect", f"{peer}/echo", "quiet")
    with pytest.raises(
        WebSocketLibraryError, match="'quiet' .* received 0 of 2 pings within 300ms"
    ):
        call(library, "Wait For Server Pings", 2, timedelta(milliseconds=300))


def test_raw_frames_reach_the_server(library, peer):
    call(library, "Connect", f"{peer}/echo")
    call(library, "Send Frame", Opcode.TEXT, "raw hello")
    assert call(library, "Receive Message") == "raw hello"
    call(library, "Send Fragmented Message", ["frag", "ment", "ed"], ping_between=True)
    assert call(library, "Receive Message") == "fragmented"


def test_an_unmasked_frame_gets_a_protocol_error(library, peer):
    call(library, "Connect", f"{peer}/echo")
    call(library, "Send Frame", 1, "unmasked", masked=False)
    assert call(library, "Wait For Close", 1002).closed_by == "server"


def test_an_impossible_frame_is_a_clear_error(library, peer):
    call(library, "Connect", f"{peer}/echo")
    with pytest.raises(WebSocketLibraryError, match="Cannot build that frame: An opcode is 4 bits"):
        call(library, "Send Frame", 16)


def _how_the_peer_saw_the_end(raw_peer) -> tuple[str, list[str]]:
    seen: list[str] = []
    done = threading.Event()

    def script(sock: socket.socket) -> None:
        try:
            seen.append("fin" if sock.recv(1024) == b"" else "data")
        except ConnectionResetError:
            seen.append("reset")
        done.set()

    return raw_peer(script), seen, done


@pytest.mark.parametrize(("mode", "expected"), [(DropMode.FIN, "fin"), (DropMode.RESET, "reset")])
def test_drop_connection_ends_tcp_without_a_close_frame(library, raw_peer, mode, expected):
    url, seen, done = _how_the_peer_saw_the_end(raw_peer)
    call(library, "Connect", url)
    call(library, "Drop Connection", mode)
    assert done.wait(2)
    assert seen == [expected]
    details = call(library, "Get Connection Details")
    assert (details.close_code, details.closed_by) == (1006, "client")


def test_resources_come_back_to_baseline(library, peer):
    call(library, "Take Resource Baseline")
    for n in range(5):
        call(library, "Connect", f"{peer}/echo", f"c{n}")
    with pytest.raises(WebSocketLibraryError, match="connection objects: .*threads: .*tolerance 0"):
        call(library, "Resources Should Be Back To Baseline", timeout=timedelta(milliseconds=200))
    call(library, "Close All Connections")
    snapshot = call(library, "Resources Should Be Back To Baseline")
    assert snapshot.threads >= 1
