import pytest

from WebSocketLibrary.inbox import Inbox
from WebSocketLibrary.matchers import Criteria
from WebSocketLibrary.sequences import (
    Coverage,
    Duplicates,
    SequenceCollector,
    check_sequence,
    dedupe,
    describe_ranges,
    values_at,
)


def problems(values, start=None):
    return check_sequence(values, start).problems


def test_continuous_sequence_has_no_problems():
    assert problems([1, 2, 3], start=1) == []
    assert problems([]) == []


def test_each_kind_of_break_is_named_with_its_position():
    assert problems([1, 2, 5, 6]) == [(2, "5 follows 2: 3 to 4 (2 values) missing")]
    assert problems([1, 3]) == [(1, "3 follows 1: 2 missing")]
    assert problems([1, 2, 2, 3]) == [(2, "2 is a duplicate of position 1")]
    assert problems([1, 3, 2]) == [(1, "3 follows 1: 2 missing"), (2, "2 follows 3: out of order")]
    assert problems([2, 3], start=1) == [(0, "starts at 2, expected 1")]
    assert problems([1, "2", True]) == [(1, "'2' is not an integer"), (2, "True is not an integer")]


def test_values_at_reads_paths_and_names_the_message_without_one():
    assert values_at([{"seq": 1}, {"seq": 2}], "seq") == [1, 2]
    assert values_at([{"e": {"seq": 2}}], "e.seq") == [2]
    assert values_at([{"e": [{"seq": 3}]}], "$.e[0].seq") == [3]
    with pytest.raises(ValueError, match="position 1 has no 'seq'"):
        values_at([{"seq": 1}, {"other": 2}], "seq")


def test_dedupe_keeps_the_first_of_each_value():
    messages = [{"seq": 1, "n": "a"}, {"seq": 1, "n": "b"}, {"seq": 2, "n": "c"}]
    assert dedupe(messages, [1, 1, 2]) == [messages[0], messages[2]]


def test_describe_ranges_limits_what_it_shows():
    assert describe_ranges([(3, 3), (7, 9)]) == "3, 7 to 9 (3 values)"
    assert describe_ranges([(1, 1), (3, 3), (5, 5)], limit=2) == "1, 3 and 1 more range(s)"


def test_describe_ranges_shows_ten_by_default():
    singles = [(n, n) for n in range(1, 22, 2)]  # 11 ranges: 1, 3, ..., 21
    assert describe_ranges(singles[:10]) == "1, 3, 5, 7, 9, 11, 13, 15, 17, 19"
    assert describe_ranges(singles) == "1, 3, 5, 7, 9, 11, 13, 15, 17, 19 and 1 more range(s)"


def test_coverage_counts_values_not_messages():
    coverage = Coverage(1, 5)
    for value in (3, 4, 1, 2, 3, 4):  # 3 and 4 kept from before a reconnect, then redelivered
        coverage.add(value)
    assert not coverage.complete
    assert coverage.distinct == 4 and coverage.arrivals == 6 and coverage.duplicates == 2
    assert coverage.missing() == [(5, 5)]
    assert coverage.repeated() == {3: 2, 4: 2}
    assert coverage.late == [(1, 4), (2, 4)]
    assert coverage.contiguous == 4
    coverage.add(5)
    assert coverage.complete and coverage.missing() == []


def test_coverage_names_gaps_inside_and_at_the_end():
    coverage = Coverage(10, 20)
    for value in (10, 13, 14, 17):
        coverage.add(value)
    assert coverage.missing() == [(11, 12), (15, 16), (18, 20)]
    assert coverage.contiguous == 10


def test_coverage_first_arrival_only_decides_order():
    coverage = Coverage(1, 3)
    assert coverage.add(1) and coverage.add(2)
    assert not coverage.add(1)  # a repeat is not "late", it is a duplicate
    assert coverage.late == [] and coverage.duplicates == 1


def test_open_coverage_is_never_complete_and_ends_its_gaps_at_the_highest():
    coverage = Coverage(1)
    for value in (1, 2, 5):
        coverage.add(value)
    assert coverage.size is None and not coverage.complete
    assert coverage.missing() == [(3, 4)]
    assert coverage.wants(10**9)


@pytest.mark.parametrize(
    ("value", "wanted"),
    [(1, True), (3, True), (0, False), (4, False), (True, False), (2.0, False), ("2", False)],
)
def test_coverage_wants_integers_inside_the_range(value, wanted):
    assert Coverage(1, 3).wants(value) is wanted


def test_an_empty_range_is_refused():
    with pytest.raises(ValueError, match="range 5 to 4 is empty"):
        Coverage(5, 4)


def messages(*texts):
    inbox = Inbox()
    return [inbox.put(text) for text in texts]


def test_collector_takes_matching_messages_in_range_and_counts_the_rest():
    collector = SequenceCollector(Criteria({"type": "event"}), "seq", 1, 2)
    offered = messages(
        '{"type": "event", "seq": 2}',
        '{"type": "event", "seq": 9}',
        '{"type": "event"}',
        '{"type": "other", "seq": 1}',
        "not json",
        '{"type": "event", "seq": 2}',
        '{"type": "event", "seq": 1}',
    )
    assert [collector.offer(m) for m in offered] == [True, False, False, False, False, True, True]
    assert collector.ignored == 2 and collector.first_ignored is offered[1]
    assert collector.satisfied and collector.finished
    assert [m.sequence for m in collector.in_order()] == [7, 1]
    collector.restart()
    assert not collector.finished and collector.gathered == [] and collector.ignored == 0


def test_collector_with_duplicates_fail_finishes_unsatisfied_at_the_first_repeat():
    collector = SequenceCollector(Criteria(), "seq", 1, 3, duplicates=Duplicates.FAIL)
    for message in messages('{"seq": 1}', '{"seq": 1}'):
        collector.offer(message)
    assert collector.finished and collector.violated and not collector.satisfied


def test_ordered_collector_finishes_unsatisfied_when_a_value_comes_late():
    collector = SequenceCollector(Criteria(), "seq", 1, 3, ordered=True)
    for message in messages('{"seq": 2}', '{"seq": 1}'):
        collector.offer(message)
    assert collector.finished and not collector.satisfied
    unordered = SequenceCollector(Criteria(), "seq", 1, 2)
    for message in messages('{"seq": 2}', '{"seq": 1}'):
        unordered.offer(message)
    assert unordered.satisfied
