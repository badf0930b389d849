import pytest

from WebSocketLibrary.sequences import check_sequence, dedupe, values_at


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
