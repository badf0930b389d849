"""Keywords that check the test process released what its connections held."""

from __future__ import annotations

import time
import tracemalloc
from datetime import timedelta

from robot.api.deco import keyword
from robot.utils import DotDict

from ..errors import WebSocketLibraryError
from ..footprint import Footprint
from .base import LibraryComponent, timestr


class ResourceKeywords(LibraryComponent):
    baseline: Footprint | None = None

    @keyword(tags=("resources",))
    def take_resource_baseline(self) -> DotDict:
        """Records this process's connection objects, threads, sockets, file descriptors and memory.

        Starts Python's ``tracemalloc`` if it is not running, so memory is
        counted from here on. Returns the baseline. Compare later with
        `Resources Should Be Back To Baseline`.

        | `Take Resource Baseline` |
        | `Connect` | ${WS_URL} |
        | `Close All Connections` |
        | `Resources Should Be Back To Baseline` |
        """
        if not tracemalloc.is_tracing():
            tracemalloc.start()
        self.baseline = Footprint.now()
        return DotDict(vars(self.baseline))

    @keyword(tags=("resources",))
    def resources_should_be_back_to_baseline(
        self,
        threads: int = 0,
        sockets: int = 0,
        memory: int = 1024 * 1024,
        timeout: timedelta = timedelta(seconds=5),
    ) -> DotDict:
        """Fails unless the process is back to the baseline `Take Resource Baseline` took.

        The library's connection objects must all be gone (after
        `Close All Connections`, say). ``threads``, ``sockets`` and ``memory``
        (bytes, as ``tracemalloc`` counts them) are how much growth is
        tolerated; ``sockets`` applies to file descriptors too. Memory includes
        Robot Framework's own results of the keywords run meanwhile, so long
        loops need a larger ``memory`` tolerance. Threads and
        sockets end shortly after a close, so the check repeats until
        ``timeout``. The failure lists what stayed above the baseline. Returns
        the final snapshot.

        | `Resources Should Be Back To Baseline` | memory=${2 * 1024 * 1024} |
        """
        if self.baseline is None:
            raise WebSocketLibraryError("Take Resource Baseline first.")
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            now = Footprint.now()
            excess = now.excess_over(self.baseline, threads, sockets, memory)
            if not excess or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if excess:
            waited = timestr(timeout.total_seconds())
            raise WebSocketLibraryError(
                f"Resources did not return to the baseline within {waited}: {'; '.join(excess)}."
            )
        return DotDict(vars(now))
