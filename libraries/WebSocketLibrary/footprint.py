"""What this process holds: threads, sockets, file descriptors and traced memory.

A baseline taken before a test and a snapshot after it show whether the
connections the test opened were really released.
"""

from __future__ import annotations

import threading
import tracemalloc
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Footprint:
    threads: int
    sockets: int
    file_descriptors: int
    traced_memory: int
    """Bytes allocated by Python and still alive, as tracemalloc counts them."""

    @classmethod
    def now(cls) -> Footprint:
        process = psutil.Process()
        return cls(
            threads=threading.active_count(),
            sockets=len(process.net_connections("all")),
            file_descriptors=process.num_fds(),
            traced_memory=tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0,
        )

    def excess_over(
        self, baseline: Footprint, threads: int, sockets: int, memory: int
    ) -> list[str]:
        """What grew beyond the tolerances since ``baseline``, as sentences; empty if nothing."""
        excess = []
        for name, now, before, allowed in (
            ("threads", self.threads, baseline.threads, threads),
            ("sockets", self.sockets, baseline.sockets, sockets),
            ("file descriptors", self.file_descriptors, baseline.file_descriptors, sockets),
            ("traced memory (bytes)", self.traced_memory, baseline.traced_memory, memory),
        ):
            if now - before > allowed:
                excess.append(f"{name}: {now}, baseline {before}, tolerance {allowed}")
        return excess
