"""Requests and replies: one-keyword round trips, bulk sends and reply-time figures.

The keywords run against the scriptable server: ``/echo``, ``/silent`` (never
answers), ``/slow-echo`` (answers after SLOW_SECONDS) and ``/lossy-echo`` (drops
every third message), so each failure is real.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from peer_timing import SLOW_SECONDS

from WebSocketLibrary import library as library_module
from WebSocketLibrary.errors import WebSocketLibraryError
from WebSocketLibrary.exchange import RepliesCollector, correlated, encode, request_criteria
from WebSocketLibrary.inbox import Inbox
from WebSocketLibrary.keywords.exchange import Pacing, histogram_html
from WebSocketLibrary.matchers import Criteria

SHORT = timedelta(milliseconds=300)


def failure(library, *args, **kwargs) -> str:
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call(*args, **kwargs)
    return str(raised.value)


@pytest.fixture
def logged(monkeypatch) -> list[str]:
    """What the library logs, as text."""
    lines: list[str] = []
    # Both modules log through the same robot.api.logger.
    monkeypatch.setattr(library_module.logger, "info", lambda text, html=False: lines.append(text))
    return lines


# Without I/O.


def test_encode_sends_structures_as_compact_json_and_the_rest_as_is():
    assert encode({"id": 1, "to": "é"}) == '{"id":1,"to":"é"}'
    assert encode([1, 2]) == "[1,2]"
    assert encode("{not json") == "{not json"
    assert encode(b"\x00") == b"\x00"


def test_correlated_fills_a_fresh_id_only_when_the_message_has_none():
    first, first_id = correlated({"type": "echo"}, "id")
    second, second_id = correlated('{"type": "echo"}', "id")
    assert first == {"type": "echo", "id": first_id}
    assert second == {"type": "echo", "id": second_id}
    assert first_id != second_id
    assert correlated({"type": "echo", "id": "mine"}, "id") == ({"type": "echo", "id": "mine"},
                                                                 "mine")  # fmt: skip
    with pytest.raises(ValueError, match="needs a JSON object"):
        correlated("[1, 2]", "id")


def test_request_criteria_fill_the_index_into_values_and_regex():
    criteria = request_criteria({"id": "{i}", "to": "user-{i}"}, "n={i}$", 7)
    assert criteria.fields == {"id": "7", "to": "user-7"}
    assert criteria.regex == "n=7$"


def test_replies_collector_takes_each_request_s_first_match_in_any_order():
    inbox = Inbox()
    for n in (2, 9, 1, 3, 1):
        inbox.put(json.dumps({"id": n}))
    collector = RepliesCollector([Criteria({"id": str(n)}) for n in (1, 2, 3, 4)])
    taken = inbox.collect(collector, timeout=0)
    assert sorted(collector.replies) == [0, 1, 2], "request 4 got no reply"
    assert [json.loads(collector.replies[p].data)["id"] for p in (0, 1, 2)] == [1, 2, 3]
    assert len(taken) == 3
    left = [json.loads(m.data)["id"] for m in inbox.snapshot()]
    assert left == [9, 1], "what matched no request, or a request already answered, stays"


def test_histogram_counts_every_time_once():
    times = [0.001 * n for n in range(1, 101)]
    rendered = histogram_html(times)
    counts = [int(c) for c in re.findall(r"<td align='right'>(\d+)</td>", rendered)]
    assert sum(counts) == 100
    assert len(counts) == 10
    assert histogram_html([0.002, 0.002]).count("<tr>") == 1
    assert histogram_html([]) == ""


# Send And Wait For Reply.


def test_send_and_wait_for_reply_returns_the_reply_and_leaves_older_messages(library, peer):
    library.call("Connect", f"{peer}/echo")
    library.call("Send Json Message", {"id": 5, "n": 1})
    assert library.connections.current.inbox.peek(Criteria(), 2) is not None  # its echo is in
    reply = library.call("Send And Wait For Reply", {"id": 5, "n": 2}, id="5")
    assert reply == {"id": 5, "n": 2}, "the message that came before the send is not the reply"
    assert library.call("Receive Json Message") == {"id": 5, "n": 1}


def test_send_and_wait_for_reply_correlates_by_a_field_it_fills_in(library, peer):
    library.call("Connect", f"{peer}/echo")
    first = library.call("Send And Wait For Reply", '{"type": "echo"}', correlate="id")
    second = library.call("Send And Wait For Reply", {"type": "echo"}, correlate="id")
    assert first["id"].startswith("wsqa-") and first["id"] != second["id"]
    text = library.call("Send And Wait For Reply", "plain", regex="^plain$")
    assert text == "plain"
    message = failure(library, "Send And Wait For Reply", "[1]", correlate="id")
    assert "needs a JSON object" in message


def test_send_and_wait_for_reply_fails_naming_what_was_sent_and_what_arrived(library, peer):
    library.call("Connect", f"{peer}/echo", "alice")
    message = failure(
        library, "Send And Wait For Reply", {"type": "echo", "id": 1}, timeout=SHORT, id="2"
    )
    assert message.startswith("Connection 'alice' (ws://127.0.0.1:"), message
    assert 'sent {"type":"echo","id":1} but did not receive a reply where id == \'2\'' in message
    assert "within 300ms" in message
    assert '#1 text: {"type":"echo","id":1}' in message, "the inbox is shown"


def test_send_and_wait_for_reply_fails_at_once_when_the_server_closes(library, peer):
    library.call("Connect", f"{peer}/close/4001")
    library.call("Wait For Close")
    message = failure(library, "Send And Wait For Reply", {"id": 1}, id="1")
    assert "closed" in message


# Send Messages.


def test_send_messages_sends_a_template_in_order(library, peer):
    library.call("Connect", f"{peer}/echo")
    assert library.call("Send Messages", template='{"type":"echo","id":{i}}', count=500) == 500
    replies = library.call("Wait For Messages", 500, type="echo")
    assert [r["id"] for r in replies] == list(range(1, 501))


def test_send_messages_sends_a_list_of_text_json_and_binary(library, peer):
    library.call("Connect", f"{peer}/echo")
    sent = library.call("Send Messages", ["plain", {"id": "{i}"}, b"\x00\xff"])
    assert sent == 3
    assert library.call("Receive Message") == "plain"
    assert library.call("Receive Json Message") == {"id": "{i}"}, "a list is sent as it is"
    assert library.call("Receive Binary Message") == b"\x00\xff"


def test_send_messages_with_a_structured_template_numbers_each(library, peer):
    library.call("Connect", f"{peer}/echo")
    library.call("Send Messages", template={"n": "{i}", "to": "user-{i}"}, count=2)
    assert library.call("Wait For Messages", 2) == [
        {"n": 1, "to": "user-1"},
        {"n": 2, "to": "user-2"},
    ]


def test_send_messages_needs_messages_or_a_template(library, peer):
    library.call("Connect", f"{peer}/echo")
    assert "either messages or a template" in failure(library, "Send Messages")
    assert "either messages or a template" in failure(
        library, "Send Messages", ["a"], template="b", count=1
    )
    assert "count of 0 or more" in failure(library, "Send Messages", template="b")


def test_send_messages_on_a_closed_connection_names_the_close(library, peer):
    library.call("Connect", f"{peer}/close/4001")
    library.call("Wait For Close")
    message = failure(library, "Send Messages", template="x", count=3)
    assert "Cannot send messages" in message and "code 4001" in message


# Measure Reply Times.


@pytest.mark.parametrize("pacing", list(Pacing))
def test_measure_reply_times_returns_figures_and_logs_them(library, peer, logged, pacing):
    library.call("Connect", f"{peer}/echo")
    figures = library.call(
        "Measure Reply Times", 200, '{"type":"echo","id":{i}}', pacing=pacing, id="{i}"
    )
    assert (figures["count"], figures["errors"]) == (200, 0)
    assert 0 < figures.min <= figures.p50 <= figures.p95 <= figures.p99 <= figures.max < 5
    assert figures.min <= figures.mean <= figures.max
    assert library.call("Get Inbox") == [], "every reply was taken"
    shown = next(text for text in logged if "Reply times" in text)
    assert f"200 {pacing.value} requests" in shown and "p95" in shown
    assert "<div style='background" in shown, "a histogram"


def test_measure_reply_times_fails_on_its_budget_with_the_figures(library, peer):
    library.call("Connect", f"{peer}/slow-echo", "slow")
    message = failure(
        library,
        "Measure Reply Times",
        2,
        '{"id":{i}}',
        budget="p95 < 50 ms",
        timeout=timedelta(seconds=5),
        id="{i}",
    )
    assert message.startswith("Reply times on connection 'slow' (ws://127.0.0.1:"), message
    assert "the budget p95 < 50.00 ms does not hold: p95 " in message
    assert "Figures: count 2, errors 0, min " in message
    p95 = float(re.search(r"does not hold: p95 ([\d.]+) ms", message).group(1))
    assert SLOW_SECONDS * 1000 <= p95 < SLOW_SECONDS * 1000 + 2000


def test_measure_reply_times_counts_requests_without_a_reply(library, peer):
    library.call("Connect", f"{peer}/lossy-echo", "lossy")
    message = failure(library, "Measure Reply Times", 9, '{"id":{i}}', timeout=SHORT, id="{i}")
    assert "3 of 9 requests got no reply within 300ms (each): request 3, 6, 9." in message
    assert "Figures: count 6, errors 3" in message
    figures = library.call(
        "Measure Reply Times", 9, '{"id":{i}}', timeout=SHORT, max_errors=3, id="{i}"
    )
    assert (figures["count"], figures["errors"]) == (6, 3)


def test_measure_reply_times_pipelined_names_the_missing(library, peer):
    library.call("Connect", f"{peer}/lossy-echo")
    message = failure(
        library, "Measure Reply Times", 30, '{"id":{i}}', pacing=Pacing.PIPELINED, timeout=SHORT,
        id="{i}",
    )  # fmt: skip
    assert "10 of 30 requests got no reply within 300ms (all): request 3, 6, 9" in message
    assert "and 0 more" not in message


def test_measure_reply_times_refuses_a_bad_budget_before_sending(library, peer):
    library.call("Connect", f"{peer}/echo")
    message = failure(library, "Measure Reply Times", 5, "x", budget="p95 fast")
    assert "Invalid budget condition 'p95 fast'" in message
    assert "count of 1 or more" in failure(library, "Measure Reply Times", 0, "x")
    assert library.connections.current.last_sent_monotonic is None, "nothing was sent"
