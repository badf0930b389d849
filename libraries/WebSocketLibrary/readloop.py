"""One thread that reads every open connection's socket, instead of a thread each.

A selector watches the sockets; when one is readable, the loop calls its
:class:`Reader`, which reads what is there and acts on it. With a thread per
connection, a burst that woke thousands of readers at once left them fighting
for the interpreter and the kernel, and pings went unanswered for seconds (see
docs/benchmarks.md, 5,000 connections). One loop serves the sockets in turn, a
chunk at a time, so a busy connection cannot starve the others.

The thread starts with the first socket and ends when the last one is finished,
so an idle process has no reader thread at all.

A thread waiting for a socket's next bytes can *borrow* it (:meth:`ReadLoop.lend`):
the loop stops watching it until :meth:`ReadLoop.give_back`, and the borrower reads
it itself. A connection borrows its socket as it sends a message, for at most
``LEASE`` seconds, so that the reply waits in the socket for the keyword that waits
for it; when the lease runs out first, the loop asks the reader (``reclaim``) and
takes the socket back. A keyword waiting for a reply then wakes straight from the socket, instead
of the loop thread waking first and handing the message over, which took two thread
switches per message and was most of the cost of a send/receive round trip in a
Robot Framework loop (see docs/benchmarks.md, keyword speed). Lending needs a selector
that other threads may change while it waits (epoll, kqueue); with others the loop
keeps every socket and borrowers wait for it instead.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from typing import Protocol

THREAD_NAME = "WebSocketLibrary-reader"

LEASE = 0.005
"""Seconds a socket lent with a lease stays out of the loop before the loop takes it back.

It bounds how late a message that arrives between two keywords is read (and stamped),
and how late a ping then is answered."""
#: While leases come and go, the loop checks them this often for this many seconds.
_LEASE_LINGER = 1.0

# Selectors whose registrations another thread may change while select() waits: the
# kernel takes the change at once, and a file descriptor missing from the map is skipped.
_LENDING_SELECTORS = tuple(
    getattr(selectors, name)
    for name in ("EpollSelector", "KqueueSelector")
    if hasattr(selectors, name)
)


class Reader(Protocol):
    """What the loop calls for one socket."""

    def on_readable(self) -> bool:
        """Read what the socket has and act on it; false when the connection is over."""

    def on_finished(self) -> None:
        """The socket is out of the loop for good: release what belongs to it."""

    def reclaim(self) -> bool | None:
        """A lease on the socket ran out: ``True`` when the loop may watch it again now,
        ``None`` when the borrower is reading it (ask again a lease later), ``False`` when
        it is not lent any more."""


class ReadLoop:
    """A selector thread serving any number of sockets."""

    def __init__(self, thread_name: str = THREAD_NAME) -> None:
        self.thread_name = thread_name
        self._lock = threading.Lock()
        self._added: list[tuple[socket.socket, Reader]] = []
        self._active: set[Reader] = set()
        self._selector: selectors.BaseSelector | None = None
        # A selector keeps a map beside the kernel's set: a change is two steps, and two
        # threads changing it at once could leave a socket in one and not the other.
        self._changing = threading.Lock()
        self._on_loan: set[socket.socket] = set()
        """Lent sockets: the loop must not register them until they come back."""
        self._leases: dict[Reader, tuple[socket.socket, float]] = {}
        self._last_lease = -_LEASE_LINGER
        self._selecting_forever = False
        self._thread: threading.Thread | None = None
        """The newest loop thread; it may still be ending after ``_running`` went false."""
        self._running = False
        self._wake_writer: socket.socket | None = None

    def add(self, sock: socket.socket, reader: Reader) -> None:
        """Serve ``sock`` from now on, starting the thread when it is not running."""
        with self._lock:
            self._added.append((sock, reader))
            self._active.add(reader)
            if not self._running:
                self._start()
            else:
                self._wake()

    def join_if_idle(self, timeout: float) -> None:
        """Wait until the thread has ended, when no socket is left for it to serve."""
        with self._lock:
            thread = self._thread if not self._active else None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def lend(self, sock: socket.socket, reader: Reader, lease: float | None = None) -> bool:
        """Stop watching ``sock`` until :meth:`give_back` (or, with a ``lease``, until that
        many seconds have passed and the reader agrees); ``True`` when the caller may now
        wait on it and read it itself, ``False`` when it must leave it to the loop.

        The reader must keep a lock of its own around every read, since the loop may be
        serving the socket as it is lent.
        """
        with self._lock:
            selector = self._selector
            if not isinstance(selector, _LENDING_SELECTORS) or not self._running:
                return False
            if lease is not None:
                now = time.monotonic()
                self._leases[reader] = (sock, now + lease)
                self._last_lease = now
                if self._selecting_forever:
                    self._wake()  # It must wake for the lease's end.
        with self._changing:
            self._on_loan.add(sock)
            with contextlib.suppress(KeyError, ValueError, OSError):
                selector.unregister(sock)  # (not registered yet, if it fails)
        return True

    def give_back(self, sock: socket.socket, reader: Reader) -> None:
        """Watch a lent socket again."""
        with self._lock:
            selector = self._selector
            self._leases.pop(reader, None)
        with self._changing:
            self._on_loan.discard(sock)
            if selector is not None:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    selector.register(sock, selectors.EVENT_READ, reader)  # (closed meanwhile)

    def finish_lent(self, sock: socket.socket, reader: Reader) -> None:
        """The borrower found the connection over: release it as the loop would have."""
        with self._changing:
            self._on_loan.discard(sock)
        self._finish(reader)
        with self._lock:
            self._leases.pop(reader, None)
            self._wake()  # It may have been the last socket: the loop then ends.

    def _start(self) -> None:
        selector = selectors.DefaultSelector()
        wake_reader, self._wake_writer = socket.socketpair()
        wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        selector.register(wake_reader, selectors.EVENT_READ, None)
        self._thread = threading.Thread(
            target=self._run, args=(selector, wake_reader), name=self.thread_name, daemon=True
        )
        self._running = True
        self._selector = selector
        self._thread.start()

    def _wake(self) -> None:
        if self._wake_writer is not None:
            with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
                self._wake_writer.send(b"\0")

    def _run(self, selector: selectors.BaseSelector, wake_reader: socket.socket) -> None:
        try:
            while True:
                self._register_added(selector)
                if self._stop_if_idle():
                    return
                for key, _ in selector.select(self._next_timeout()):
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError):
                            wake_reader.recv(4096)
                        continue
                    self._serve(selector, key.fileobj, key.data)  # type: ignore[arg-type]
                self._end_leases(selector)
        finally:
            selector.close()
            wake_reader.close()

    def _next_timeout(self) -> float | None:
        """How long select() may wait: until the next lease ends, or, while leases come and
        go, one lease long (so that a new lease needs no wake-up); else for ever."""
        with self._lock:
            now = time.monotonic()
            if self._leases:
                timeout = max(min(end for _, end in self._leases.values()) - now, 0.0)
            elif now - self._last_lease < _LEASE_LINGER:
                timeout = LEASE
            else:
                timeout = None
            self._selecting_forever = timeout is None
            return timeout

    def _end_leases(self, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        with self._lock:
            ended = [(r, s) for r, (s, end) in self._leases.items() if end <= now]
            for reader, _ in ended:
                del self._leases[reader]
        for reader, sock in ended:
            answer = reader.reclaim()
            if answer:
                self.give_back(sock, reader)
            elif answer is None:
                with self._lock:  # Busy: ask again later, unless it was given back meanwhile.
                    if reader not in self._leases:
                        self._leases[reader] = (sock, now + LEASE)

    def renew(self, reader: Reader, lease: float = LEASE) -> bool:
        """Extend the lease of a lent socket from now; ``False`` when it has none."""
        with self._lock:
            if reader not in self._leases:
                return False
            now = time.monotonic()
            self._leases[reader] = (self._leases[reader][0], now + lease)
            self._last_lease = now
            return True

    def _register_added(self, selector: selectors.BaseSelector) -> None:
        with self._lock:
            added, self._added = self._added, []
        for sock, reader in added:
            try:
                with self._changing:
                    if sock in self._on_loan:
                        continue  # Registered when the borrower gives it back.
                    selector.register(sock, selectors.EVENT_READ, reader)
            except KeyError:  # A borrower gave it back before the loop got to it.
                pass
            except (ValueError, OSError):  # closed before the loop got to it
                self._finish(reader)
                continue
            # Bytes may wait where the selector cannot see them (inside TLS).
            if getattr(sock, "pending", lambda: 0)():
                self._serve(selector, sock, reader)

    def _stop_if_idle(self) -> bool:
        """With nothing left to serve, mark the loop stopped (the thread then ends)."""
        with self._lock:
            if self._added or self._active:
                return False
            self._running = False
            self._selector = None
            if self._wake_writer is not None:
                self._wake_writer.close()
                self._wake_writer = None
            return True

    def _serve(self, selector: selectors.BaseSelector, sock: socket.socket, reader: Reader) -> None:
        try:
            keep = reader.on_readable()
        except Exception:  # a reader must never take the loop down with it
            keep = False
        if not keep:
            with self._changing, contextlib.suppress(KeyError, ValueError):
                selector.unregister(sock)  # (lent, or gone already, if it fails)
            self._finish(reader)

    def _finish(self, reader: Reader) -> None:
        # Counted out first: whoever on_finished() wakes may call join_if_idle() at once.
        # Once only: a borrower and the loop may both find a connection over.
        with self._lock:
            if reader not in self._active:
                return
            self._active.discard(reader)
        reader.on_finished()


READ_LOOP = ReadLoop()
"""The loop every :class:`~.connection.WebSocketConnection` of the process uses."""
