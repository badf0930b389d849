"""Reply-time statistics and budgets such as ``p95 < 20 ms``, without I/O.

:class:`LatencyFigures` summarises measured reply times (count, errors, min,
p50, p95, p99, max, mean); :class:`Budget` parses conditions on them and says
which ones the figures break.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from robot.utils import timestr_to_secs

STATISTICS = ("min", "p50", "p95", "p99", "max", "mean")

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
}
_CONDITION = re.compile(r"^\s*(?P<name>[a-z0-9]+)\s*(?P<op><=|<)\s*(?P<limit>.+?)\s*$", re.I)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``fraction`` of them at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def milliseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


@dataclass(frozen=True)
class LatencyFigures:
    """Reply times in seconds: ``count`` measured, ``errors`` requests without a reply."""

    count: int
    errors: int
    min: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    mean: float | None

    @classmethod
    def of(cls, times: Sequence[float], errors: int = 0) -> LatencyFigures:
        ordered = sorted(times)
        return cls(
            count=len(ordered),
            errors=errors,
            min=ordered[0] if ordered else None,
            p50=percentile(ordered, 0.50),
            p95=percentile(ordered, 0.95),
            p99=percentile(ordered, 0.99),
            max=ordered[-1] if ordered else None,
            mean=sum(ordered) / len(ordered) if ordered else None,
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "count": self.count,
            "errors": self.errors,
            **{name: getattr(self, name) for name in STATISTICS},
        }

    def describe(self) -> str:
        """One line: ``count 100, errors 0, min 0.21 ms, p50 ..., max 3.10 ms``."""
        parts = [f"count {self.count}", f"errors {self.errors}"]
        parts += [f"{name} {milliseconds(getattr(self, name))}" for name in STATISTICS]
        return ", ".join(parts)


@dataclass(frozen=True)
class Condition:
    statistic: str
    operator: str
    limit: float
    """Seconds."""

    def holds(self, figures: LatencyFigures) -> bool:
        value = getattr(figures, self.statistic)
        return value is not None and _OPERATORS[self.operator](value, self.limit)

    def describe_breach(self, figures: LatencyFigures) -> str:
        value = getattr(figures, self.statistic)
        measured = "not measured (no reply)" if value is None else milliseconds(value)
        return f"{self.statistic} {measured} is not {self.operator} {milliseconds(self.limit)}"

    def __str__(self) -> str:
        return f"{self.statistic} {self.operator} {milliseconds(self.limit)}"


@dataclass(frozen=True)
class Budget:
    """Conditions joined by ``and``: ``p95 < 20 ms and max < 100 ms``."""

    conditions: tuple[Condition, ...]

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``ValueError`` naming the problem when ``text`` is not a budget."""
        conditions = []
        for part in re.split(r"\s+and\s+", text.strip(), flags=re.I):
            match = _CONDITION.match(part)
            if match is None:
                raise ValueError(
                    f"Invalid budget condition '{part}': expected a statistic, '<' or '<=' "
                    "and a time, such as 'p95 < 20 ms'."
                )
            name = match["name"].lower()
            if name not in STATISTICS:
                raise ValueError(
                    f"Invalid budget condition '{part}': unknown statistic '{name}', "
                    f"expected one of {', '.join(STATISTICS)}."
                )
            try:
                limit = timestr_to_secs(match["limit"])
            except ValueError:
                raise ValueError(
                    f"Invalid budget condition '{part}': '{match['limit']}' is not a time "
                    "such as '20 ms' or '0.5 s'."
                ) from None
            conditions.append(Condition(name, match["op"], limit))
        return cls(tuple(conditions))

    def breaches(self, figures: LatencyFigures) -> list[str]:
        """What the figures break, one description per broken condition."""
        return [c.describe_breach(figures) for c in self.conditions if not c.holds(figures)]

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)
