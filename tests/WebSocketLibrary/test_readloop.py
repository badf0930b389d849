"""The read loop on its own: plain socket pairs and readers that record what they are asked."""

from __future__ import annotations

import socket
import threading

from WebSocketLibrary.readloop import ReadLoop


class Recorder:
    """Reads until EOF; can be told to fail on its first read."""

    def __init__(self, sock: socket.socket, fail: bool = False) -> None:
        self.sock = sock
        self.fail = fail
        self.data = bytearray()
        self.finished = threading.Event()
        self.got_data = threading.Event()

    def on_readable(self) -> bool:
        if self.fail:
            raise RuntimeError("a reader bug")
        chunk = self.sock.recv(4096)
        self.data += chunk
        self.got_data.set()
        return bool(chunk)

    def on_finished(self) -> None:
        self.sock.close()
        self.finished.set()


def loop_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_one_thread_serves_every_socket_and_ends_when_the_last_is_finished():
    loop = ReadLoop("test-loop-serves")
    pairs = [socket.socketpair() for _ in range(50)]
    readers = [Recorder(ours) for ours, _ in pairs]
    for reader in readers:
        loop.add(reader.sock, reader)
    assert len(loop_threads("test-loop-serves")) == 1
    for n, (_, theirs) in enumerate(pairs):
        theirs.sendall(f"message {n}".encode())
    for n, reader in enumerate(readers):
        assert reader.got_data.wait(2)
        assert bytes(reader.data) == f"message {n}".encode()
    for _, theirs in pairs:
        theirs.close()  # EOF: each reader says it is over
    assert all(reader.finished.wait(2) for reader in readers)
    loop.join_if_idle(2)
    assert loop_threads("test-loop-serves") == []


def test_a_failing_reader_is_finished_and_the_others_go_on():
    loop = ReadLoop("test-loop-failing")
    bad_ours, bad_theirs = socket.socketpair()
    good_ours, good_theirs = socket.socketpair()
    bad, good = Recorder(bad_ours, fail=True), Recorder(good_ours)
    loop.add(bad_ours, bad)
    loop.add(good_ours, good)
    bad_theirs.sendall(b"boom")
    assert bad.finished.wait(2)
    good_theirs.sendall(b"fine")
    assert good.got_data.wait(2) and bytes(good.data) == b"fine"
    good_theirs.close()
    assert good.finished.wait(2)
    loop.join_if_idle(2)
    assert loop_threads("test-loop-failing") == []
    bad_theirs.close()


def test_a_socket_closed_before_the_loop_takes_it_is_finished_at_once():
    loop = ReadLoop("test-loop-closed")
    ours, theirs = socket.socketpair()
    reader = Recorder(ours)
    ours.close()
    loop.add(ours, reader)
    assert reader.finished.wait(2)
    loop.join_if_idle(2)
    assert loop_threads("test-loop-closed") == []
    theirs.close()


def test_the_loop_starts_again_after_it_ended():
    loop = ReadLoop("test-loop-again")
    for round_number in range(3):
        ours, theirs = socket.socketpair()
        reader = Recorder(ours)
        loop.add(ours, reader)
        theirs.sendall(b"round %d" % round_number)
        assert reader.got_data.wait(2)
        theirs.close()
        assert reader.finished.wait(2)
        loop.join_if_idle(2)
        assert loop_threads("test-loop-again") == []
