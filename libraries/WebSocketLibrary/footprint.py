"""What this process holds: threads, sockets, file descriptors and traced memory.

A baseline taken before a test and a snapshot after it show whether the
connections the test opened were really released.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
from dataclasses import dataclass

import psutil

from .connection import WebSocketConnection


@dataclass(frozen=True)
class Footprint:
    connections: int
    """WebSocketLibrary connection objects still in memory, open or closed."""
    threads: int
    sockets: int
    file_descriptors: int
    traced_memory: int
    """Bytes allocated by Python and still alive, as tracemalloc counts them."""

    @classmethod
    def now(cls) -> Footprint:
        process = psutil.Process()
        gc.collect()  # Count what is really still referenced, not garbage not yet collected.
        return cls(
            connections=len(WebSocketConnection.alive),
            threads=threading.active_count(),
            sockets=len(process.net_connections("all")),
            file_descriptors=process.num_fds(),
            traced_memory=tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0,
        )

    def excess_over(
        self, baseline: Footprint, threads: int, sockets: int, memory: int
    ) -> list[str]:
        """What grew beyond the tolerances since ``baseline``, as sentences; empty if nothing.

        Connection objects must be back exactly: any left over is a leak.
        """
        excess = []
        for name, now, before, allowed in (
            ("connection objects", self.connections, baseline.connections, 0),
            ("threads", self.threads, baseline.threads, threads),
            ("sockets", self.sockets, baseline.sockets, sockets),
            ("file descriptors", self.file_descriptors, baseline.file_descriptors, sockets),
            ("traced memory (bytes)", self.traced_memory, baseline.traced_memory, memory),
        ):
            if now - before > allowed:
                excess.append(f"{name}: {now}, baseline {before}, tolerance {allowed}")
        return excess
