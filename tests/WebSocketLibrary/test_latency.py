"""Reply-time figures and budgets, on explicit numbers."""

from __future__ import annotations

import pytest

from WebSocketLibrary.latency import Budget, LatencyFigures, percentile


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.5, 5), (0.95, 10), (0.9, 9), (0.1, 1), (0.0, 1), (1.0, 10)]
)
def test_percentile_is_nearest_rank(fraction, expected):
    assert percentile([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], fraction) == expected


def test_percentile_of_nothing_is_none():
    assert percentile([], 0.5) is None


def test_figures_of_a_hundred_times():
    times = [n / 1000 for n in range(100, 0, -1)]  # 1 ms .. 100 ms, unordered
    figures = LatencyFigures.of(times, errors=2)
    assert (figures.count, figures.errors) == (100, 2)
    assert (figures.min, figures.p50, figures.p95, figures.p99, figures.max) == (
        0.001, 0.050, 0.095, 0.099, 0.100,
    )  # fmt: skip
    assert figures.mean == pytest.approx(0.0505)
    assert figures.describe() == (
        "count 100, errors 2, min 1.00 ms, p50 50.00 ms, p95 95.00 ms, p99 99.00 ms, "
        "max 100.00 ms, mean 50.50 ms"
    )


def test_figures_of_nothing_have_no_statistics():
    figures = LatencyFigures.of([], errors=3)
    assert figures.as_dict() == {
        "count": 0, "errors": 3, "min": None, "p50": None, "p95": None, "p99": None,
        "max": None, "mean": None,
    }  # fmt: skip


def test_budget_holds_and_breaks():
    figures = LatencyFigures.of([0.010, 0.012, 0.030])
    assert Budget.parse("p50 < 20 ms").breaches(figures) == []
    assert Budget.parse("max <= 30ms").breaches(figures) == []
    assert Budget.parse("P95 < 20 ms AND max < 1 s").breaches(figures) == [
        "p95 30.00 ms is not < 20.00 ms"
    ]
    assert Budget.parse("max < 30 ms").breaches(figures) == ["max 30.00 ms is not < 30.00 ms"]


def test_a_budget_without_replies_is_broken():
    assert Budget.parse("p95 < 1 s").breaches(LatencyFigures.of([], errors=5)) == [
        "p95 not measured (no reply) is not < 1000.00 ms"
    ]


def test_budget_reads_back_as_written():
    assert str(Budget.parse("p95<20ms and  max <= 0.5 s")) == "p95 < 20.00 ms and max <= 500.00 ms"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("p95 20 ms", "expected a statistic, '<' or '<=' and a time"),
        ("p42 < 20 ms", "unknown statistic 'p42'"),
        ("p95 < soon", "'soon' is not a time"),
        ("p95 > 20 ms", "expected a statistic"),
        ("", "expected a statistic"),
    ],
)
def test_a_bad_budget_names_the_problem(text, problem):
    with pytest.raises(ValueError, match=problem):
        Budget.parse(text)
