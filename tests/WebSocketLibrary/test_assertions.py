"""The failing side of every assertion keyword: it fails, and its message says why.

A check that cannot fail proves nothing, so each keyword that asserts (budgets, close
codes and reasons, message kinds, open connections) is made to fail here on purpose,
against a server that really is slow, closes, or sends the wrong thing.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from peer_timing import SLOW_SECONDS

from WebSocketLibrary.errors import WebSocketLibraryError

SHORT = timedelta(milliseconds=300)
LONG = timedelta(seconds=5)


def failure(library, *args, **kwargs) -> str:
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call(*args, **kwargs)
    return str(raised.value)


def measured_ms(message: str, what: str) -> float:
    found = re.search(rf"{what} .* took (\d+\.\d) ms, over the budget of (\d+) ms\.$", message)
    assert found, message
    return float(found.group(1))


def test_a_reply_slower_than_its_budget_fails_with_the_time_it_took(library, peer):
    library.call("Connect", f"{peer}/slow-echo", "slow")
    library.call("Send Text Message", "hi")
    message = failure(library, "Reply Time Should Be Below", timedelta(milliseconds=50), LONG)
    assert message.startswith("Reply on connection 'slow' (ws://127.0.0.1:")
    assert message.endswith("over the budget of 50 ms.")
    # The time is the server's delay, in milliseconds: seconds would read as 0.2 ms.
    assert SLOW_SECONDS * 1000 <= measured_ms(message, "Reply") < SLOW_SECONDS * 1000 + 2000


def test_a_reply_within_its_budget_passes(library, peer):
    library.call("Connect", f"{peer}/slow-echo")
    library.call("Send Text Message", "hi")
    reply, seconds = library.call("Reply Time Should Be Below", timedelta(seconds=3), LONG)
    assert reply == "hi"
    # The returned time is the server's delay, in seconds.
    assert SLOW_SECONDS <= seconds < SLOW_SECONDS + 2


def test_a_handshake_slower_than_its_budget_fails_with_the_time_it_took(library, peer):
    library.call("Connect", f"{peer}/slow-handshake", "late")
    message = failure(library, "Handshake Time Should Be Below", timedelta(milliseconds=50))
    assert message.startswith("Handshake of connection 'late' (ws://127.0.0.1:")
    assert SLOW_SECONDS * 1000 <= measured_ms(message, "Handshake") < SLOW_SECONDS * 1000 + 2000
    took = library.call("Handshake Time Should Be Below", timedelta(seconds=3))
    assert SLOW_SECONDS <= took < SLOW_SECONDS + 2


def test_wait_for_close_fails_on_another_reason_even_a_longer_one(library, peer):
    library.call("Connect", f"{peer}/close/4001", "c")
    message = failure(library, "Wait For Close", reason="closing")
    assert message == (
        f"Connection 'c' ({peer}/close/4001) was closed by the server with code 4001, reason "
        "'closing as asked'; expected reason 'closing'."
    )
    message = failure(library, "Wait For Close", 4002, "closing as asked")
    assert message.endswith("; expected code 4002 and reason 'closing as asked'.")


def test_wait_for_close_fails_when_the_connection_stays_open(library, peer):
    library.call("Connect", f"{peer}/echo", "open")
    library.call("Send Text Message", "still here")
    message = failure(library, "Wait For Close", 1000, timeout=SHORT)
    assert message.startswith(f"Connection 'open' ({peer}/echo) was still open after 300ms, ")
    assert "expected a close with code 1000. Its inbox holds 1 unconsumed message(s):" in message
    assert "#1 text: still here" in message


def test_connection_should_be_open_fails_on_a_closed_connection(library, peer):
    library.call("Connect", f"{peer}/close/4001", "gone")
    library.call("Wait For Close")
    assert failure(library, "Connection Should Be Open") == (
        f"Expected connection 'gone' ({peer}/close/4001) to be open, but it was closed by the "
        "server with code 4001, reason 'closing as asked'."
    )


@pytest.mark.parametrize(
    ("send", "data", "keyword", "wanted", "arrived"),
    [
        ("Send Binary Message", b"\x01\x02", "Receive Text Message", "a text", "binary: 0x0102"),
        ("Send Text Message", "words", "Receive Binary Message", "a binary", "text: words"),
        ("Send Binary Message", b"{}", "Receive Json Message", "a JSON", "binary: 0x7b7d"),
    ],
)
def test_receiving_the_wrong_kind_fails_naming_what_came(
    library, peer, send, data, keyword, wanted, arrived
):
    library.call("Connect", f"{peer}/echo", "k")
    library.call(send, data)
    assert failure(library, keyword) == (
        f"Expected {wanted} message on connection 'k' ({peer}/echo), received {arrived}"
    )


def test_receive_fails_when_the_connection_closes_first(library, peer):
    library.call("Connect", f"{peer}/close/1001", "bye")
    message = failure(library, "Receive Message", LONG)
    assert message == (
        f"Connection 'bye' ({peer}/close/1001) was closed by the server with code 1001, reason "
        "'closing as asked' before it received any message. Its inbox is empty."
    )


def test_receive_takes_from_the_named_connection_not_the_current_one(library, peer):
    library.call("Connect", f"{peer}/echo", "named")
    library.call("Send Text Message", "for named")
    library.call("Connect", f"{peer}/silent", "current")
    assert library.call("Receive Message", LONG, connection="named") == "for named"


def test_receive_waits_the_connections_own_timeout_and_says_so(library, peer):
    library.call("Connect", f"{peer}/silent", "quiet", timeout=timedelta(milliseconds=200))
    started = time.monotonic()
    message = failure(library, "Receive Message")  # the library's default is 2 s
    assert time.monotonic() - started < 1.5
    assert message == (
        f"Connection 'quiet' ({peer}/silent) did not receive any message within 200ms. "
        "Its inbox is empty."
    )


def test_a_bad_regular_expression_fails_the_keyword_with_its_text(library, peer):
    library.call("Connect", f"{peer}/echo")
    message = failure(library, "Wait For Message", regex="(", timeout=LONG)
    assert message.startswith("Invalid regular expression '(': missing ), unterminated subpattern")
