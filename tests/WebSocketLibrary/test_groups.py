"""Connection group keywords against a real server."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from WebSocketLibrary.errors import WebSocketLibraryError
from WebSocketLibrary.footprint import Footprint


def test_a_group_opens_sends_a_template_and_gets_every_reply(library, peer):
    results = library.call("Open Connection Group", "g", 20, f"{peer}/echo")
    assert [(r.index, r.name, r.opened, r.status) for r in results] == [
        (i, f"g:{i}", True, 101) for i in range(1, 21)
    ]
    assert library.call("Send Message To Group", "g", {"type": "echo", "id": "{i}"}) == 20
    replies = library.call("Wait For Group Message", "g", type="echo")
    assert replies == [{"type": "echo", "id": i} for i in range(1, 21)]


def test_one_message_each(library, peer):
    library.call("Open Connection Group", "g", 3, f"{peer}/echo")
    library.call("Send Message To Group", "g", each=["a", "b", "c"])
    assert library.call("Wait For Group Message", "g") == ["a", "b", "c"]
    with pytest.raises(WebSocketLibraryError, match=r"one message per open member \(3\), got 2"):
        library.call("Send Message To Group", "g", each=["a", "b"])


def test_members_work_with_every_single_connection_keyword(library, peer):
    library.call("Open Connection Group", "tabs", 3, f"{peer}/echo")
    library.call("Send Text Message", "only two", connection="tabs:2")
    assert library.call("Receive Message", connection="tabs:2") == "only two"
    library.call("Should Not Receive Message", timeout=timedelta(0), connection="tabs:1")
    with pytest.raises(
        WebSocketLibraryError, match=r"Group 'tabs' has no open member 4 \(members 1 to 3\)"
    ):
        library.call("Receive Message", connection="tabs:4")


def test_refused_members_are_named_with_what_the_server_answered(library, peer):
    urls = [f"{peer}/echo", f"{peer}/refuse/403", f"{peer}/echo", "ws://127.0.0.1:1/"]
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Open Connection Group", "g", 4, urls)
    text = str(raised.value)
    assert text.startswith("Group 'g': 2 of 4 connections did not open.")
    assert "g:2: HTTP 403, body: " in text
    assert "g:4: Could not open connection 'g:4'" in text and "connection refused" in text
    assert "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0" not in text, "the body's token is masked"


def test_without_require_all_the_results_tell(library, peer):
    urls = [f"{peer}/refuse/429", f"{peer}/echo"]
    results = library.call("Open Connection Group", "g", 2, urls, require_all=False)
    assert [(r.opened, r.status) for r in results] == [(False, 429), (True, 101)]
    assert '"error":"go_away"' in results[0].body
    assert "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0" not in results[0].body, "masked in results too"
    figures = library.call("Get Group Figures", "g")
    assert (figures.members, figures.open, figures.refused) == (2, 1, 1)
    with pytest.raises(WebSocketLibraryError, match=r"no open member 1 .*never opened: 1\)"):
        library.call("Send Text Message", "x", connection="g:1")


def test_a_wait_names_the_members_that_got_nothing_and_what_they_had(library, peer):
    urls = [f"{peer}/echo", f"{peer}/silent", f"{peer}/echo", f"{peer}/close/4003"]
    library.call("Open Connection Group", "g", 4, urls, require_all=False)
    library.call("Wait For Close", connection="g:4")
    library.call("Send Message To Group", "g", "ping {i}")  # to the three open members
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Group Message", "g", regex="^ping", timeout=timedelta(seconds=0.5))
    assert str(raised.value) == (
        "Group 'g': 2 of 4 members did not receive a message where matching regex '^ping' within "
        "500ms:\n"
        "  g:2 (open): inbox empty\n"
        "  g:4 (closed by the server with code 4003, reason 'closing as asked'): inbox empty"
    )


def test_figures_after_a_broadcast(library, peer):
    library.call("Open Connection Group", "g", 10, f"{peer}/echo", concurrency=3)
    library.call("Send Message To Group", "g", "hi")
    library.call("Wait For Group Message", "g")
    figures = library.call("Get Group Figures", "g")
    assert (figures.members, figures.open, figures.refused) == (10, 10, 0)
    assert 0 < figures.handshake_p50 <= figures.handshake_p95 <= figures.handshake_max
    assert 0 <= figures.first_arrival <= figures.median_arrival <= figures.last_arrival
    assert figures.arrival_spread == pytest.approx(figures.last_arrival - figures.first_arrival)


def test_group_names_are_checked(library, peer):
    library.call("Open Connection Group", "g", 1, f"{peer}/echo")
    with pytest.raises(WebSocketLibraryError, match="named 'g' is already open"):
        library.call("Open Connection Group", "g", 1, f"{peer}/echo")
    with pytest.raises(
        WebSocketLibraryError, match="No connection group named 'h'. Open groups: 'g'"
    ):
        library.call("Wait For Group Message", "h")
    library.call("Close Connection Group", "g")
    library.call("Open Connection Group", "g", 1, f"{peer}/echo")  # the name is free again


def reader_threads() -> int:
    return sum(t.name.startswith("WebSocketLibrary-reader") for t in threading.enumerate())


def test_closing_a_group_of_1000_returns_to_the_baseline(library, peer):
    before = Footprint.now()
    library.call("Open Connection Group", "big", 1000, f"{peer}/echo", concurrency=100)
    assert reader_threads() == 1, "one read loop serves every member"
    library.call("Send Message To Group", "big", "echo {i}")
    assert len(library.call("Wait For Group Message", "big", regex="^echo {i}$")) == 1000
    library.call("Close Connection Group", "big")
    after = Footprint.now()
    assert reader_threads() == 0
    assert (after.connections, after.sockets) == (before.connections, before.sockets)
    # The peer's handler threads (same process) end a moment later; the library's are gone.
    ours = [
        t.name for t in threading.enumerate() if t.name.startswith(("WebSocketLibrary", "group-"))
    ]
    assert ours == []


def test_close_all_connections_closes_groups_too(library, peer):
    library.call("Connect", f"{peer}/echo", "single")
    library.call("Open Connection Group", "g", 5, f"{peer}/echo")
    library.call("Close All Connections")
    assert reader_threads() == 0
    with pytest.raises(WebSocketLibraryError, match="No connection group named 'g'"):
        library.call("Get Group Figures", "g")


def test_each_member_waits_for_its_own_reply_with_an_index_in_the_criteria(library, peer):
    library.call("Open Connection Group", "g", 3, f"{peer}/echo")
    # Every member gets every id, the others' first: only {i} picks its own.
    for index in (3, 2, 1):
        library.call("Send Message To Group", "g", {"type": "echo", "id": index, "from": "{i}"})
    replies = library.call("Wait For Group Message", "g", id="{i}")
    assert [(r["id"], r["from"]) for r in replies] == [(1, 1), (2, 2), (3, 3)]
    texts = library.call("Wait For Group Message", "g", regex='"from": ?{i}[,}]')
    assert len(texts) == 3
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Group Message", "g", id="{i}", timeout=timedelta(seconds=0.2))
    assert "3 of 3 members did not receive a message where id == '{i}'" in str(raised.value)


def test_outcomes_tell_matched_from_closed_from_waiting(library, peer):
    urls = [f"{peer}/hello", f"{peer}/close/4008", f"{peer}/silent", f"{peer}/hello"]
    urls.append(f"{peer}/refuse/403")
    library.call("Open Connection Group", "g", 5, urls, require_all=False)
    outcome = library.call("Wait For Group Outcomes", "g", timeout=timedelta(seconds=0.5))
    assert outcome.matched == [1, 4]
    assert set(outcome.messages) == {1, 4}
    assert outcome.closed == [2]
    assert outcome.close_codes == {4008: 1}
    assert outcome.waiting == [3]
    assert outcome.refused == [5]
    # The match was taken; the rest stays.
    assert library.call("Get Inbox", connection="g:1") == ["plain text", b"\x00\x01"]


def test_group_should_not_receive_fails_naming_the_members_that_did(library, peer):
    library.call("Open Connection Group", "g", 3, f"{peer}/echo")
    library.call("Send Text Message", "for two", connection="g:2")
    library.call("Group Should Not Receive Message", "g", timedelta(seconds=0.3), regex="^for one")
    library.call("Send Text Message", "for three", connection="g:3")
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Group Should Not Receive Message", "g", timedelta(seconds=0.3), regex="^for")
    assert str(raised.value).startswith(
        "Group 'g': 2 of 3 members received a message where matching regex '^for', which they "
        "should not have:\n  g:2: #1 text: for two\n  g:3: #1 text: for three"
    )
    # Within one window: a message that arrives late in it counts too.
    late = ("Send Text Message", "late")
    timer = threading.Timer(0.2, library.call, late, {"connection": "g:1"})
    timer.start()
    try:
        with pytest.raises(WebSocketLibraryError, match=r"(?s)1 of 3 members .*g:1: #1 text: late"):
            library.call(
                "Group Should Not Receive Message", "g", timedelta(seconds=1), regex="^late"
            )
    finally:
        timer.join()
    assert library.call("Get Inbox", connection="g:2") == ["for two"], "inboxes are left alone"


def test_a_member_the_test_closed_is_left_out_of_group_waits(library, peer):
    library.call("Open Connection Group", "tabs", 3, f"{peer}/echo")
    library.call("Close Connection", connection="tabs:2")
    assert library.call("Send Message To Group", "tabs", "after {i}") == 2
    assert library.call("Wait For Group Message", "tabs") == ["after 1", "after 3"]
    assert library.call("Get Group Figures", "tabs").open == 2
