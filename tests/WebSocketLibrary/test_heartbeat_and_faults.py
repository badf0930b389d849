"""Pings, the server's heartbeat, raw frames and dropped connections, against real servers."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from websockets.sync.server import serve

from WebSocketLibrary.errors import WebSocketLibraryError
from WebSocketLibrary.frames import Opcode
from WebSocketLibrary.keywords.frames import DropMode


def test_ping_server_returns_the_round_trip(library, peer):
    library.call("Connect", f"{peer}/echo")
    rtt = library.call("Ping Server", b"payload")
    assert 0 < rtt < 1


def test_ping_without_pong_fails_naming_the_payload(library, raw_peer):
    library.call("Connect", raw_peer(lambda sock: time.sleep(3)), "mute")
    with pytest.raises(
        WebSocketLibraryError, match="'mute' .* got no pong echoing b'x' within 200ms"
    ):
        library.call("Ping Server", b"x", timedelta(milliseconds=200))


def test_server_ping_intervals_are_measured(library, pinging_peer):
    library.call("Connect", f"{pinging_peer}/echo")
    intervals = library.call("Wait For Server Pings", 4)
    assert len(intervals) == 3
    assert all(0.05 < interval < 0.5 for interval in intervals), intervals


def test_an_idle_connection_survives_the_heartbeat_without_any_keyword(library, pinging_peer):
    library.call("Connect", f"{pinging_peer}/echo")
    time.sleep(1.0)  # Ten heartbeat intervals with no keyword running.
    library.call("Connection Should Be Open")


def test_a_frozen_client_is_closed_by_the_heartbeat(library, pinging_peer):
    library.call("Connect", f"{pinging_peer}/echo")
    library.call("Stop Answering Pings")
    closed = library.call("Wait For Close", 1011, timeout=timedelta(seconds=2))
    assert closed.closed_by == "server"


def test_wait_for_server_pings_fails_when_none_come(library, peer):
    library.call("Connect", f"{peer}/echo", "quiet")
    with pytest.raises(
        WebSocketLibraryError, match="'quiet' .* received 0 of 2 pings within 300ms"
    ):
        library.call("Wait For Server Pings", 2, timedelta(milliseconds=300))


def test_raw_frames_reach_the_server(library, peer):
    library.call("Connect", f"{peer}/echo")
    library.call("Send Frame", Opcode.TEXT, "raw hello")
    assert library.call("Receive Message") == "raw hello"
    library.call("Send Fragmented Message", ["frag", "ment", "ed"], ping_between=True)
    assert library.call("Receive Message") == "fragmented"


def test_an_unmasked_frame_gets_a_protocol_error(library, peer):
    library.call("Connect", f"{peer}/echo")
    library.call("Send Frame", 1, "unmasked", masked=False)
    assert library.call("Wait For Close", 1002).closed_by == "server"


def test_an_impossible_frame_is_a_clear_error(library, peer):
    library.call("Connect", f"{peer}/echo")
    with pytest.raises(WebSocketLibraryError, match="Cannot build that frame: An opcode is 4 bits"):
        library.call("Send Frame", 16)


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
    library.call("Connect", url)
    library.call("Drop Connection", mode)
    assert done.wait(2)
    assert seen == [expected]
    details = library.call("Get Connection Details")
    assert (details.close_code, details.closed_by) == (1006, "client")


def test_resources_come_back_to_baseline(library, peer):
    library.call("Take Resource Baseline")
    for n in range(5):
        library.call("Connect", f"{peer}/echo", f"c{n}")
    with pytest.raises(WebSocketLibraryError, match="connection objects: .*threads: .*tolerance 0"):
        library.call("Resources Should Be Back To Baseline", timeout=timedelta(milliseconds=200))
    library.call("Close All Connections")
    snapshot = library.call("Resources Should Be Back To Baseline")
    assert snapshot.threads >= 1


def test_reconnect_keeps_alias_index_and_unconsumed_messages(library, peer):
    library.call("Connect", f"{peer}/echo", "first")
    assert library.call("Connect", f"{peer}/echo", "alice") == 2
    library.call("Send Text Message", "before the drop")
    library.call("Wait For Messages", 1, regex="before", connection="alice")  # Taken.
    library.call("Send Text Message", "left unconsumed")
    time.sleep(0.1)
    library.call("Drop Connection", DropMode.FIN)
    assert library.call("Reconnect", "alice") == 2
    details = library.call("Get Connection Details")
    assert (details.alias, details.index, details.open) == ("alice", 2, True)
    assert library.call("Receive Message") == "left unconsumed"
    library.call("Send Text Message", "after")
    assert library.call("Receive Message") == "after"
    assert library.call("Get Connection Details", "first").open, "others are untouched"


def _echo_server(port: int):
    def handler(ws):
        for message in ws:
            ws.send(message)

    server = serve(handler, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_reconnect_waits_for_a_server_that_comes_back(library):
    first = _echo_server(0)
    port = first.socket.getsockname()[1]
    library.call("Connect", f"ws://127.0.0.1:{port}/", "alice")
    first.shutdown()
    library.call("Wait For Close", connection="alice")
    servers = []
    timer = threading.Timer(0.5, lambda: servers.append(_echo_server(port)))
    timer.start()
    started = time.monotonic()
    library.call("Reconnect", "alice", timeout=timedelta(seconds=5))
    assert time.monotonic() - started >= 0.4, "the first attempts were refused"
    library.call("Send Text Message", "back")
    assert library.call("Receive Message") == "back"
    library.call("Close All Connections")
    servers[0].shutdown()


def test_reconnect_gives_up_after_its_timeout(library):
    first = _echo_server(0)
    port = first.socket.getsockname()[1]
    library.call("Connect", f"ws://127.0.0.1:{port}/", "alice")
    first.shutdown()
    with pytest.raises(WebSocketLibraryError, match="connection refused"):
        library.call("Reconnect", "alice", timeout=timedelta(milliseconds=300))
