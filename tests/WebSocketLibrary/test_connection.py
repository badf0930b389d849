"""WebSocketConnection against a real server, with no Robot Framework involved."""

import threading
import time

import pytest

from WebSocketLibrary import readloop
from WebSocketLibrary.connection import (
    READER_THREAD_PREFIX,
    ConnectOptions,
    HandshakeRefusedError,
    WebSocketConnection,
)
from WebSocketLibrary.errors import ConnectionClosedError, HandshakeError
from WebSocketLibrary.matchers import Criteria

ANY = Criteria()


def opened(url: str, **options) -> WebSocketConnection:
    connection = WebSocketConnection(url, ConnectOptions(timeout=2, **options), name="test")
    connection.open()
    return connection


def test_messages_arriving_between_calls_wait_in_the_inbox(peer):
    connection = opened(f"{peer}/hello")
    time.sleep(0.2)  # Nobody reads meanwhile, yet nothing is lost.
    assert [m.data for m in connection.inbox.take_many(ANY, 3, 1)] == [
        '{"type":"greeting","n":1}',
        "plain text",
        b"\x00\x01",
    ]
    connection.close()


def test_echo_text_and_binary(peer):
    connection = opened(f"{peer}/echo")
    connection.send_text("héllo")
    connection.send_binary(b"\x00\xff")
    sent = connection.send_json({"type": "echo", "id": 1})
    assert [m.data for m in connection.inbox.take_many(ANY, 3, 2)] == ["héllo", b"\x00\xff", sent]
    assert sent == '{"type":"echo","id":1}'
    connection.close()


def test_pings_are_answered_while_no_one_reads(peer):
    connection = opened(f"{peer}/ping")
    assert connection.inbox.take(ANY, 3).data == "pong received"
    events, _ = connection.transcript.drain()
    assert [e.kind for e in events if e.kind in ("ping", "pong")] == ["ping", "pong"]
    connection.close()


def test_a_frozen_client_does_not_answer_pings(peer):
    connection = opened(f"{peer}/ping")
    connection.answer_pings = False
    assert connection.inbox.take(ANY, 3).data == "no pong"
    connection.close()


def test_fragments_are_joined(peer):
    connection = opened(f"{peer}/fragments")
    assert connection.inbox.take(ANY, 2).data == "fragmented"
    connection.close()


def test_invalid_utf8_fails_the_connection_with_1007(peer):
    connection = opened(f"{peer}/bad-utf8")
    closed = connection.inbox.wait_for_close(2)
    assert closed is not None
    assert (closed.code, closed.initiated_by) == (1007, "client")
    assert "not valid UTF-8" in closed.reason
    assert len(connection.inbox) == 0
    connection.close()


def test_server_close_is_recorded_and_answered(peer):
    connection = opened(f"{peer}/close/4001")
    closed = connection.inbox.wait_for_close(2)
    assert (closed.code, closed.reason, closed.initiated_by) == (4001, "closing as asked", "server")
    connection.close()
    assert not connection.reader_alive


def test_client_close_returns_the_servers_answer(peer):
    connection = opened(f"{peer}/echo")
    closed = connection.close(4002, "bye")
    assert (closed.code, closed.reason, closed.initiated_by) == (4002, "bye", "client")
    assert not connection.reader_alive


def test_sending_after_close_says_how_it_closed(peer):
    connection = opened(f"{peer}/close/4001")
    connection.inbox.wait_for_close(2)
    with pytest.raises(ConnectionClosedError, match="closed by the server with code 4001"):
        connection.send_text("too late")
    connection.close()


def test_refusal_carries_status_headers_and_body(peer):
    with pytest.raises(HandshakeRefusedError) as raised:
        opened(f"{peer}/refuse/401")
    refusal = raised.value.refusal
    assert refusal.status == 401
    assert refusal.json["error"] == "go_away"
    assert refusal.headers["content-type"] == "application/json"
    assert "HTTP 401" in str(raised.value) and "'test'" in str(raised.value)


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(HandshakeError, match="connection refused.*is the server running"):
        opened("ws://127.0.0.1:1/ws")


def test_abort_drops_without_close_frame(peer):
    connection = opened(f"{peer}/echo")
    connection.abort()
    assert connection.closed.code == 1006
    assert not connection.reader_alive


def reader_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith(READER_THREAD_PREFIX)]


def test_one_named_reader_thread_serves_all_and_is_gone_after_the_last_close(peer):
    connections = [opened(f"{peer}/echo") for _ in range(5)]
    assert reader_threads() == [READER_THREAD_PREFIX]
    for connection in connections:
        connection.send_text(f"to {connection.name}")
    for connection in connections:
        assert connection.inbox.take(ANY, 2).data == f"to {connection.name}"
    for connection in connections[:-1]:
        connection.close()
    assert reader_threads() == [READER_THREAD_PREFIX], "the last connection is still served"
    assert connections[-1].reader_alive
    connections[-1].close()
    assert reader_threads() == []
    again = opened(f"{peer}/echo")  # and it starts again for the next connection
    again.send_text("again")
    assert again.inbox.take(ANY, 2).data == "again"
    again.close()
    assert reader_threads() == []


def test_reopen_keeps_unconsumed_messages_in_front_of_new_ones(peer):
    old = opened(f"{peer}/hello")
    assert old.inbox.take(ANY, 2).data == '{"type":"greeting","n":1}'
    assert old.inbox.peek(lambda m: m.data == b"\x00\x01", 2) is not None  # all three are in
    fresh = old.reopen()
    assert not old.is_open and fresh.is_open
    assert (fresh.name, fresh.url, fresh.options) == (old.name, old.url, old.options)
    taken = [m.data for m in fresh.inbox.take_many(ANY, 4, 2)]
    assert taken == ["plain text", b"\x00\x01", '{"type":"greeting","n":1}', "plain text"]
    fresh.close()


def test_reopen_replaces_url_and_headers(peer):
    old = opened(f"{peer}/echo")
    fresh = old.reopen(url=f"{peer}/hello", headers={"X-Try": "2"})
    assert fresh.url == f"{peer}/hello" and fresh.options.headers == {"X-Try": "2"}
    assert fresh.options.timeout == old.options.timeout
    assert fresh.inbox.take(ANY, 2).data == '{"type":"greeting","n":1}'
    fresh.close()


def test_reopen_refused_fails_at_once_and_names_the_attempt(peer):
    old = opened(f"{peer}/echo")
    started = time.monotonic()
    with pytest.raises(HandshakeRefusedError) as raised:
        old.reopen(url=f"{peer}/refuse/403", timeout=5)
    assert time.monotonic() - started < 2, "a refusal is an answer: no retrying"
    attempt = raised.value.attempt
    assert attempt is not None and attempt is not old and not attempt.is_open
    assert [e.kind for e in attempt.transcript.drain()[0]] == ["handshake", "refusal"]


def reading_threads(connection: WebSocketConnection) -> list[str]:
    """Record the name of the thread that reads each chunk of the connection's bytes."""
    names: list[str] = []
    act_on = connection._act_on

    def recording(data: bytes):
        names.append(threading.current_thread().name)
        return act_on(data)

    connection._act_on = recording  # type: ignore[method-assign]
    return names


def test_the_waiting_thread_reads_the_reply_itself(peer):
    connection = opened(f"{peer}/echo")
    names = reading_threads(connection)
    for n in range(20):
        connection.send_text(f"request {n}")
        assert connection.inbox.take(ANY, 2).data == f"request {n}"
    # The reply waits in the socket, lent to the sender, for the wait that follows the send:
    # no hand-over from the read loop's thread.
    assert names.count(threading.current_thread().name) >= 15, names
    connection.close()


def test_a_reply_nobody_waits_for_is_read_by_the_loop_within_the_lease(peer):
    connection = opened(f"{peer}/echo")
    names = reading_threads(connection)
    started = connection.send_text("unawaited")
    deadline = time.monotonic() + 2
    while len(connection.inbox) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)  # Polling the inbox without taking from it (taking would read).
    [message] = connection.inbox.snapshot()
    assert names and names[-1].startswith(READER_THREAD_PREFIX), names
    # The loop takes the socket back when the lease ends; on a loaded machine a little later.
    assert message.monotonic - started < 0.5
    connection.close()


def test_pings_after_a_send_are_answered_with_no_keyword_waiting(pinging_peer):
    connection = opened(f"{pinging_peer}/echo")
    connection.send_text("then nothing")
    time.sleep(0.6)  # Several pings come and must be answered within 0.2 s each.
    assert connection.is_open, connection.closed
    assert connection.control.ping_count >= 3
    connection.close()


def test_waiting_at_once_after_opening_never_loses_a_socket(peer):
    # The first wait borrows the socket while the loop may be registering it: whatever the
    # order, every connection is served to the end and closes promptly.
    for _ in range(150):
        connection = opened(f"{peer}/hello")
        assert connection.inbox.take(ANY, 2).data == '{"type":"greeting","n":1}'
        started = time.monotonic()
        info = connection.close()
        assert info.initiated_by == "client" and info.code == 1000, info
        assert time.monotonic() - started < 1.5, "the close reply was read"
        assert not connection.reader_alive
    assert reader_threads() == []


def test_without_a_selector_that_lends_the_loop_reads_everything(peer, monkeypatch):
    # select() and poll() selectors (Windows, some BSDs) cannot be changed while they wait.
    monkeypatch.setattr(readloop, "_LENDING_SELECTORS", ())
    connection = opened(f"{peer}/echo")
    names = reading_threads(connection)
    for n in range(5):
        connection.send_text(f"request {n}")
        assert connection.inbox.take(ANY, 2).data == f"request {n}"
    assert names and all(name.startswith(READER_THREAD_PREFIX) for name in names), names
    connection.close()
    assert not connection.reader_alive


def test_a_wait_after_the_close_was_read_does_not_read_past_it(peer):
    connection = WebSocketConnection(f"{peer}/close/4008", ConnectOptions(timeout=2))
    entered, release = threading.Event(), threading.Event()
    finish = connection.on_finished

    def slow_finish() -> None:  # The loop read the close frame; hold it before it finishes.
        entered.set()
        release.wait(5)
        finish()

    connection.on_finished = slow_finish  # type: ignore[method-assign]
    connection.open()
    assert entered.wait(2)
    # A keyword waiting now must not read the EOF after the close frame as a lost connection.
    assert connection.inbox.take(ANY, 0.2) is None
    release.set()
    info = connection.inbox.wait_for_close(2)
    assert info is not None and info.code == 4008, info
