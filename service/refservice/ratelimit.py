"""Per-connection message rate limit: a token bucket, and how many refusals a connection gets.

Sans-I/O: every call takes the clock time (seconds, any monotonic origin), so the rule is
tested with explicit times instead of sockets and sleeps.
"""

from __future__ import annotations

import enum
from collections import deque

# Rounding of float times (0.3 - 0.2 is not 0.1) must not refuse a client sending exactly
# at the rate.
_EPSILON = 1e-9


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; it starts full.

    A ``rate`` of 0 means no limit: every :meth:`take` succeeds.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate < 0 or burst < 1:
            raise ValueError("rate must not be negative and burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> bool:
        """Take one token at ``now``: whether there was one."""
        if not self.rate:
            return True
        self._refill(now)
        if self.tokens >= 1 - _EPSILON:
            self.tokens = max(self.tokens - 1, 0.0)
            return True
        return False

    def retry_after(self, now: float) -> float:
        """Seconds from ``now`` until a token is there (0 when one is there now)."""
        if not self.rate:
            return 0.0
        self._refill(now)
        return max(1 - self.tokens, 0.0) / self.rate

    def _refill(self, now: float) -> None:
        # A clock that goes backwards (it should not) refills nothing rather than draining.
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(self.tokens + elapsed * self.rate, float(self.burst))
        self.updated = max(now, self.updated)


class Verdict(enum.Enum):
    """What to do with one incoming data message."""

    ACCEPT = "accept"
    """Within the limit: process it."""
    REFUSE = "refuse"
    """Over the limit: do not process it, answer ``rate_limited``."""
    CLOSE = "close"
    """Over the limit once more than the allowance: do not process it, close (1008)."""


class MessageRateLimit:
    """One connection's limit: a :class:`TokenBucket` and an allowance of refused messages.

    At most ``max_refused`` messages are refused within any ``refused_window`` seconds;
    the message that would be one more refusal gets :attr:`Verdict.CLOSE` instead (and
    so does every later one). ``max_refused`` 0 means refusals never close the connection;
    ``rate`` 0 turns the limit off.
    """

    def __init__(
        self, rate: float, burst: int, max_refused: int, refused_window: float, now: float
    ) -> None:
        if max_refused < 0 or refused_window <= 0:
            raise ValueError("max_refused must not be negative and refused_window must be > 0")
        self.bucket = TokenBucket(rate, burst, now)
        self.max_refused = max_refused
        self.refused_window = refused_window
        # Times of the recent refusals; never more than max_refused of them.
        self._refused: deque[float] = deque()
        self.exceeded = False

    def check(self, now: float) -> Verdict:
        """The verdict for a data message arriving at ``now``."""
        if self.exceeded:
            return Verdict.CLOSE
        if self.bucket.take(now):
            return Verdict.ACCEPT
        if not self.max_refused:
            return Verdict.REFUSE
        while self._refused and self._refused[0] <= now - self.refused_window:
            self._refused.popleft()
        if len(self._refused) >= self.max_refused:
            self.exceeded = True
            return Verdict.CLOSE
        self._refused.append(now)
        return Verdict.REFUSE

    def retry_after(self, now: float) -> float:
        """Seconds from ``now`` until a message would be accepted again."""
        return self.bucket.retry_after(now)
