import json

import pytest

from WebSocketLibrary.inbox import Inbox
from WebSocketLibrary.matchers import Criteria, as_text, lookup, values_equal

DOCUMENT = {"type": "echo", "id": 7, "ok": True, "none": None, "p": {"items": [{"n": "x"}]}}


def message(data):
    return Inbox().put(data)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("type", ["echo"]),
        ("p.items.0.n", ["x"]),
        ("p.items.-1.n", ["x"]),
        ("p.items.5.n", []),
        ("missing", []),
        ("$.p.items[0].n", ["x"]),
        ("$.p.items[*].n", ["x"]),
    ],
)
def test_lookup(path, expected):
    assert lookup(DOCUMENT, path) == expected


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        (7, "7", True),
        (7.0, "7", True),
        (7, "7.0", True),
        (7, "seven", False),
        (7, 7, True),
        ("7", 7, False),
        (True, "true", True),
        (True, 1, False),
        (1, True, False),
        (None, "null", True),
        ({"a": 1}, '{"a": 1}', True),
        ("echo", "echo", True),
        ("echo", "ECHO", False),
    ],
)
def test_values_equal(actual, expected, equal):
    assert values_equal(actual, expected) is equal


def test_fields_all_must_match():
    msg = message('{"type": "echo", "id": 7}')
    assert Criteria({"type": "echo", "id": "7"}).matches(msg)
    assert not Criteria({"type": "echo", "id": "8"}).matches(msg)


def test_fields_never_match_non_json():
    assert not Criteria({"type": "echo"}).matches(message("type=echo"))
    assert not Criteria({"type": "echo"}).matches(message(b'{"type": "echo"}'))


def test_regex_searches_text_and_binary():
    assert Criteria(regex=r"^\{\"type").matches(message('{"type": 1}'))
    assert Criteria(regex="abc").matches(message(b"xxabcxx"))
    assert not Criteria(regex="^abc").matches(message("xabc"))


def test_kind():
    assert Criteria(kind="binary").matches(message(b"1"))
    assert not Criteria(kind="binary").matches(message("1"))


def test_no_criteria_match_anything():
    assert Criteria().is_any and Criteria().matches(message(b""))


def test_bad_expressions_fail_early_with_their_text():
    with pytest.raises(ValueError, match=r"Invalid JSONPath '\$\.\[\['"):
        Criteria({"$.[[": 1})
    with pytest.raises(ValueError, match="Invalid regular expression '\\('"):
        Criteria(regex="(")


def test_describe():
    assert Criteria({"type": "echo"}, regex="x").describe() == (
        "where type == 'echo' and matching regex 'x'"
    )
    assert Criteria().describe() == "of any kind"


@pytest.mark.parametrize(
    ("fields", "matches"),
    [
        # Absent fields never match, whatever the expectation; not even "null" or None.
        ({"missing": "x"}, False),
        ({"missing": "null"}, False),
        ({"missing": None}, False),
        ({"p.missing.n": "x"}, False),
        ({"type.deeper": "echo"}, False),
        # A present null matches null, an absent field does not.
        ({"none": "null"}, True),
        ({"none": None}, True),
        # Nested paths, by dotted path and by JSONPath.
        ({"p.items.0.n": "x"}, True),
        ({"p.items.0.n": "y"}, False),
        ({"$.p.items[0].n": "x"}, True),
        ({"$.p.items[*].n": "x"}, True),
        # JSONPath that finds nothing does not match.
        ({"$.p.nope": "x"}, False),
        ({"$.p.items[3].n": "x"}, False),
        ({"$..nowhere": "null"}, False),
        # Several criteria: all of them, one absent is enough to fail.
        ({"type": "echo", "missing": "x"}, False),
    ],
)
def test_field_criteria(fields, matches):
    msg = message(json.dumps(DOCUMENT))
    assert Criteria(fields).matches(msg) is matches


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        # Robot Framework passes strings: they match numbers written the same way...
        (7.5, "7.5", True),
        (1000, "1e3", True),
        (-3, "-3", True),
        # ...and booleans and null only as JSON spells them.
        (False, "false", True),
        (False, "False", False),
        (False, "0", False),
        (0, "false", False),
        (None, "None", False),
        ("null", "null", True),
        # A JSON string is compared as a string, never as a number.
        ("7", "7", True),
        ("7", "7.0", False),
        # Containers written as JSON compare by value, however the JSON is spaced.
        ([1, 2], "[1, 2]", True),
        ([1, 2], "[1,2]", True),
        ({"a": [1, True]}, '{ "a" : [1, true] }', True),
        ({"a": 1}, '{"a": "1"}', False),
        ([1, 2], "[2, 1]", False),
        ([1, 2], "not json", False),
        ([1, 2], [1, 2], True),
        (1.0, 1, True),
    ],
)
def test_values_equal_coercion(actual, expected, equal):
    assert values_equal(actual, expected) is equal


@pytest.mark.parametrize(
    ("document", "path"),
    [({"a": [1, 2]}, "a.2"), ({"a": [1]}, "a.X0"), ({"a": [1]}, "a.-2"), ({"a": [1]}, "a.0.b")],
)
def test_lookup_outside_a_list_or_through_a_scalar_finds_nothing(document, path):
    assert lookup(document, path) == []


def test_as_text_keeps_strings_and_writes_other_values_as_readable_json():
    assert as_text("x") == "x"
    assert as_text({"name": "café"}) == '{"name": "café"}'
    assert values_equal({"name": "café"}, '{"name": "café"}')


def test_describe_puts_the_kind_first():
    assert Criteria({"a": 1}, kind="text").describe() == "where of kind text and a == 1"


def test_a_message_that_arrived_at_the_cutoff_counts_as_after_it():
    msg = message("reply")
    assert Criteria(arrived_after=msg.monotonic).matches(msg)
    assert not Criteria(arrived_after=msg.monotonic + 0.001).matches(msg)
