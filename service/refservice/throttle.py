"""Login throttling: too many failed logins for one user name and it is refused for a while.

Sans-I/O: the clock is passed in, so the rule is tested without waiting.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

# Most user names tracked at once; beyond it the oldest are forgotten, so spraying
# made-up names cannot grow the service's memory without bound.
MAX_TRACKED_NAMES = 100_000


class LoginThrottle:
    """At most ``max_failures`` failed logins per user name within ``window`` seconds."""

    def __init__(
        self,
        max_failures: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED_NAMES,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self.max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, username: str) -> float | None:
        """Seconds until ``username`` may try again, or ``None`` when it may now."""
        if not self.max_failures:
            return None
        failures = self._recent(username)
        if len(failures) < self.max_failures:
            return None
        return max(failures[0] + self.window - self.clock(), 0.001)

    def failed(self, username: str) -> None:
        if not self.max_failures:
            return
        failures = self._recent(username)
        failures.append(self.clock())
        self._failures[username] = failures
        self._failures.move_to_end(username)
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    def _recent(self, username: str) -> deque[float]:
        failures = self._failures.get(username, deque())
        cutoff = self.clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(username, None)
        return failures
