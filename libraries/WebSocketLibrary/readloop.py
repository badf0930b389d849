"""One thread that reads every open connection's socket, instead of a thread each.

A selector watches the sockets; when one is readable, the loop calls its
:class:`Reader`, which reads what is there and acts on it. With a thread per
connection, a burst that woke thousands of readers at once left them fighting
for the interpreter and the kernel, and pings went unanswered for seconds (see
docs/benchmarks.md, 5,000 connections). One loop serves the sockets in turn, a
chunk at a time, so a busy connection cannot starve the others.

The thread starts with the first socket and ends when the last one is finished,
so an idle process has no reader thread at all.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Protocol

THREAD_NAME = "WebSocketLibrary-reader"


class Reader(Protocol):
    """What the loop calls for one socket."""

    def on_readable(self) -> bool:
        """Read what the socket has and act on it; false when the connection is over."""

    def on_finished(self) -> None:
        """The socket is out of the loop for good: release what belongs to it."""


class ReadLoop:
    """A selector thread serving any number of sockets."""

    def __init__(self, thread_name: str = THREAD_NAME) -> None:
        self.thread_name = thread_name
        self._lock = threading.Lock()
        self._added: list[tuple[socket.socket, Reader]] = []
        self._active = 0
        self._thread: threading.Thread | None = None
        """The newest loop thread; it may still be ending after ``_running`` went false."""
        self._running = False
        self._wake_writer: socket.socket | None = None

    def add(self, sock: socket.socket, reader: Reader) -> None:
        """Serve ``sock`` from now on, starting the thread when it is not running."""
        with self._lock:
            self._added.append((sock, reader))
            self._active += 1
            if not self._running:
                self._start()
            else:
                self._wake()

    def join_if_idle(self, timeout: float) -> None:
        """Wait until the thread has ended, when no socket is left for it to serve."""
        with self._lock:
            thread = self._thread if self._active == 0 else None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

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
                for key, _ in selector.select():
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError):
                            wake_reader.recv(4096)
                        continue
                    self._serve(selector, key.fileobj, key.data)  # type: ignore[arg-type]
        finally:
            selector.close()
            wake_reader.close()

    def _register_added(self, selector: selectors.BaseSelector) -> None:
        with self._lock:
            added, self._added = self._added, []
        for sock, reader in added:
            try:
                selector.register(sock, selectors.EVENT_READ, reader)
            except (ValueError, KeyError, OSError):  # closed before the loop got to it
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
            selector.unregister(sock)
            self._finish(reader)

    def _finish(self, reader: Reader) -> None:
        # Counted out first: whoever on_finished() wakes may call join_if_idle() at once.
        with self._lock:
            self._active -= 1
        reader.on_finished()


READ_LOOP = ReadLoop()
"""The loop every :class:`~.connection.WebSocketConnection` of the process uses."""
