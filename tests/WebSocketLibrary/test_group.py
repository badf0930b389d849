"""The pieces of connection groups that need no server: templates, fd limits."""

from __future__ import annotations

import resource

import pytest

from WebSocketLibrary.group import (
    ensure_file_descriptors,
    fill,
    has_placeholder,
    per_member,
)


def test_fill_replaces_the_index_in_every_string():
    template = {"type": "echo", "id": "{i}", "to": "user-{i}", "tags": ["t{i}", 5], "n": None}
    assert fill(template, 7) == {"type": "echo", "id": 7, "to": "user-7", "tags": ["t7", 5],
                                 "n": None}  # fmt: skip


def test_fill_can_keep_an_exact_placeholder_as_text():
    assert fill({"id": "{i}", "to": "user-{i}"}, 4, exact_as_number=False) == {
        "id": "4",
        "to": "user-4",
    }


@pytest.mark.parametrize(
    ("template", "expected"),
    [("x{i}", True), ({"a": ["b", "{i}"]}, True), ({"{i}": 1}, True), ("{j}", False),
     ({"a": [1, None]}, False), (None, False)],
)  # fmt: skip
def test_has_placeholder_looks_inside_everything(template, expected):
    assert has_placeholder(template) is expected


def test_fill_leaves_json_braces_alone():
    assert fill('{"id": {i}, "x": "{j}"}', 3) == '{"id": 3, "x": "{j}"}'


def test_per_member_takes_a_list_as_it_is_or_fills_a_template():
    assert per_member(["a", "b"], 2, "URL") == ["a", "b"]
    assert per_member("ws://h/{i}", 3, "URL") == ["ws://h/1", "ws://h/2", "ws://h/3"]
    with pytest.raises(ValueError, match=r"^Expected one URL per connection \(3\), got 2\.$"):
        per_member(["a", "b"], 3, "URL")


@pytest.fixture
def low_soft_limit():
    """Lower the soft limit of open files to 300 (anyone may), restore it afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (300, hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_low_soft_limit_is_raised_and_said(low_soft_limit):
    hard = low_soft_limit
    if hard != resource.RLIM_INFINITY and hard < 1000:
        pytest.skip(f"the hard limit ({hard}) is too low to raise the soft one to 1,000")
    note = ensure_file_descriptors(600)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert soft >= 856
    assert note == f"raised the soft limit of open files from 300 to {soft} (hard {hard})"


def test_enough_descriptors_change_nothing(low_soft_limit):
    assert ensure_file_descriptors(10) == ""
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 300


def test_more_than_the_hard_limit_fails_naming_both_limits(low_soft_limit):
    hard = low_soft_limit
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit on open files here")
    with pytest.raises(OSError, match=rf"may open at most {hard} \(soft limit 300, hard limit"):
        ensure_file_descriptors(hard)
