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


class Borrowable(Recorder):
    """A reader whose socket can be lent; answers ``answer`` when a lease ends."""

    def __init__(self, sock: socket.socket, answer: bool | None = True) -> None:
        super().__init__(sock)
        self.answer = answer
        self.reclaims = 0
        self.reclaimed = threading.Event()
        self.asked_again = threading.Event()

    def reclaim(self) -> bool | None:
        self.reclaims += 1
        self.reclaimed.set()
        if self.reclaims >= 2:
            self.asked_again.set()
        return self.answer


def test_a_lent_socket_is_not_read_by_the_loop_until_it_is_given_back():
    loop = ReadLoop("test-loop-lend")
    ours, theirs = socket.socketpair()
    reader = Borrowable(ours)
    loop.add(ours, reader)
    theirs.sendall(b"first")
    assert reader.got_data.wait(2)
    reader.got_data.clear()
    assert loop.lend(ours, reader)
    theirs.sendall(b"kept for the borrower")
    assert not reader.got_data.wait(0.2), "the loop left the lent socket alone"
    assert ours.recv(100) == b"kept for the borrower"
    loop.give_back(ours, reader)
    theirs.sendall(b"after")
    assert reader.got_data.wait(2) and bytes(reader.data).endswith(b"after")
    theirs.close()
    assert reader.finished.wait(2)
    loop.join_if_idle(2)
    assert loop_threads("test-loop-lend") == []


def test_a_lease_ends_with_the_loop_reading_again_if_the_reader_agrees():
    loop = ReadLoop("test-loop-lease")
    ours, theirs = socket.socketpair()
    reader = Borrowable(ours)
    loop.add(ours, reader)
    theirs.sendall(b"hello")
    assert reader.got_data.wait(2)
    reader.got_data.clear()
    assert loop.lend(ours, reader, lease=0.05)
    theirs.sendall(b"during the lease")
    assert reader.reclaimed.wait(2)
    assert reader.got_data.wait(2) and bytes(reader.data).endswith(b"during the lease")
    theirs.close()
    assert reader.finished.wait(2)
    loop.join_if_idle(2)
    assert loop_threads("test-loop-lease") == []


def test_a_busy_borrower_is_asked_again_until_it_gives_the_socket_back():
    loop = ReadLoop("test-loop-keep")
    ours, theirs = socket.socketpair()
    reader = Borrowable(ours, answer=None)
    loop.add(ours, reader)
    theirs.sendall(b"x")
    assert reader.got_data.wait(2)
    reader.got_data.clear()
    assert loop.lend(ours, reader, lease=0.01)
    assert reader.asked_again.wait(2), "asked again after the first refusal"
    theirs.sendall(b"still mine")
    assert not reader.got_data.wait(0.2), "refused: the socket stays lent"
    assert ours.recv(100) == b"still mine"
    reader.answer = True
    theirs.sendall(b"taken back")
    assert reader.got_data.wait(2) and bytes(reader.data).endswith(b"taken back")
    theirs.close()
    assert reader.finished.wait(2)
    loop.join_if_idle(2)


def test_a_borrower_that_finds_the_end_finishes_the_reader_once():
    loop = ReadLoop("test-loop-finish")
    ours, theirs = socket.socketpair()
    reader = Borrowable(ours)
    calls = []
    reader.on_finished = lambda: (calls.append(1), Recorder.on_finished(reader))  # type: ignore[method-assign]
    loop.add(ours, reader)
    theirs.sendall(b"x")
    assert reader.got_data.wait(2)
    assert loop.lend(ours, reader)
    theirs.close()
    assert ours.recv(100) == b""
    loop.finish_lent(ours, reader)
    loop.finish_lent(ours, reader)
    assert calls == [1]
    loop.join_if_idle(2)
    assert loop_threads("test-loop-finish") == []


def test_a_socket_given_back_before_the_loop_registered_it_stays_served():
    loop = ReadLoop("test-loop-early")
    first_ours, first_theirs = socket.socketpair()
    first = Recorder(first_ours)
    loop.add(first_ours, first)  # The loop runs.
    ours, theirs = socket.socketpair()
    reader = Borrowable(ours)
    # A keyword borrowed the new socket and gave it back before the loop registered it.
    loop.give_back(ours, reader)
    loop.add(ours, reader)
    theirs.sendall(b"still served")
    assert reader.got_data.wait(2), "the loop's own registration found it registered"
    assert not reader.finished.is_set()
    for other in (theirs, first_theirs):
        other.close()
    assert reader.finished.wait(2) and first.finished.wait(2)
    loop.join_if_idle(2)
    assert loop_threads("test-loop-early") == []
