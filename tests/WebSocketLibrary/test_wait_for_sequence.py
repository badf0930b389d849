"""Wait For Sequence over a real socket: the echo server sends back the seqs we send."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from WebSocketLibrary.errors import WebSocketLibraryError
from WebSocketLibrary.sequences import Duplicates

SHORT = timedelta(milliseconds=300)


def echo_seqs(library, *seqs, kind="event", connection=None):
    for seq in seqs:
        message = json.dumps({"type": kind, "seq": seq})
        library.call("Send Text Message", message, connection=connection)


def open_echo(library, peer, alias="reader"):
    library.call("Connect", f"{peer}/echo", alias)


def test_repeats_and_disorder_are_counted_and_each_value_returned_once_in_order(library, peer):
    open_echo(library, peer)
    echo_seqs(library, 3, 1, 3, 2)
    events = library.call("Wait For Sequence", 1, 3, type="event")
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert library.call("Get Inbox") == []  # the repeat was taken too


def test_messages_outside_the_range_or_the_criteria_stay_in_the_inbox(library, peer):
    open_echo(library, peer)
    echo_seqs(library, 1, 7)
    echo_seqs(library, 2, kind="other")
    echo_seqs(library, 2)
    library.call("Wait For Sequence", 1, 2, type="event")
    assert library.call("Get Inbox") == [{"type": "event", "seq": 7}, {"type": "other", "seq": 2}]


def all_arrived(library, marker, connection=None):
    """The echo keeps order: once ``marker`` is back, everything sent before it is too."""
    library.call("Send Json Message", {"type": "marker", "id": marker}, connection=connection)
    library.call("Wait For Message", type="marker", id=marker, connection=connection)


def test_kept_messages_and_redelivery_after_a_reconnect_cover_the_range(library, peer):
    # Suite 06's race in miniature: 1..4 arrived, 1..2 were taken, the reconnect keeps 3..4
    # in front, then the server sends 1..6 again. The first six messages hold 3,4,1,2,3,4.
    open_echo(library, peer)
    echo_seqs(library, 1, 2, 3, 4)
    all_arrived(library, "before")
    library.call("Wait For Sequence", 1, 2)
    library.call("Reconnect", "reader")
    echo_seqs(library, 1, 2, 3, 4, 5, 6)
    all_arrived(library, "after")
    assert [m["seq"] for m in library.call("Get Inbox")][:6] == [3, 4, 1, 2, 3, 4]
    events = library.call("Wait For Sequence", 1, 6)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]


def test_timeout_names_missing_ranges_repeats_and_last_arrivals(library, peer):
    open_echo(library, peer)
    echo_seqs(library, 1, 2, 2, 5, 9)
    all_arrived(library, "sent")
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Sequence", 1, 10, type="event", timeout=SHORT)
    message = str(raised.value)
    assert message.startswith("Connection 'reader' (ws://127.0.0.1:"), message
    assert (
        "did not receive messages where type == 'event' covering seq 1 to 10 within 300ms: "
        "4 of 10 values arrived, in 5 message(s)." in message
    )
    assert "  missing: 3 to 4 (2 values), 6 to 8 (3 values), 10\n" in message
    assert "  repeated: 2 (2 times)\n" in message
    assert "  last arrivals (#arrival: seq): #1: 1, #2: 2, #3: 2, #4: 5, #5: 9" in message
    assert len(library.call("Get Inbox")) == 5, "a failed wait takes nothing"


def test_messages_with_the_criteria_but_no_value_in_range_are_reported(library, peer):
    open_echo(library, peer)
    library.call("Send Json Message", {"type": "event", "sequence": 1})
    all_arrived(library, "sent")
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Sequence", 1, 1, type="event", timeout=SHORT)
    assert (
        "  not counted: 1 message(s) met the criteria but held no integer 'seq' from 1 to 1, "
        'the first: #1 {"type":"event","sequence":1}' in str(raised.value)
    )


def test_duplicates_fail_stops_at_the_first_repeat(library, peer):
    open_echo(library, peer)
    echo_seqs(library, 1, 1)
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call(
            "Wait For Sequence", 1, 3, duplicates=Duplicates.FAIL, timeout=timedelta(seconds=5)
        )
    message = str(raised.value)
    assert message.startswith("Connection 'reader'")
    assert "received seq 1 more than once, expected each of 1 to 3 once (duplicates=fail)." in (
        message
    )
    assert "  missing: 2 to 3 (2 values)" in message


def test_ordered_fails_when_a_value_arrives_after_a_higher_one(library, peer):
    open_echo(library, peer)
    echo_seqs(library, 1, 3, 2)
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Sequence", 1, 3, ordered=True, timeout=timedelta(seconds=5))
    message = str(raised.value)
    assert "received seq 2 after 3, expected 1 to 3 in order (ordered=True)." in message
    assert "  out of order: 2 after 3" in message


def test_a_close_ends_the_wait_at_once_and_says_so(library, peer):
    library.call("Connect", f"{peer}/close/4000", "reader")
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Sequence", 1, 2, timeout=timedelta(seconds=5))
    assert "was closed by the server with code 4000" in str(raised.value)
    assert "before it received messages of any kind covering seq 1 to 2: 0 of 2 values" in str(
        raised.value
    )


def test_field_and_criteria_may_be_paths(library, peer):
    open_echo(library, peer)
    for version in (2, 1):
        library.call("Send Json Message", {"type": "state.updated", "doc": {"version": version}})
    updates = library.call("Wait For Sequence", 1, 2, field="$.doc.version", type="state.updated")
    assert [u["doc"]["version"] for u in updates] == [1, 2]


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((3, 2), {}, "The range 3 to 2 is empty: last < first."),
        ((1, 2), {"field": "$[["}, "Invalid JSONPath '$[['"),
        ((1, 2), {"regex": "("}, "Invalid regular expression '('"),
    ],
)
def test_bad_arguments_fail_before_waiting(library, peer, args, kwargs, error):
    open_echo(library, peer)
    with pytest.raises(WebSocketLibraryError, match=re.escape(error)):
        library.call("Wait For Sequence", *args, timeout=timedelta(seconds=5), **kwargs)
