"""The keyword layer: failure messages, connection cache, transcript, cleanup."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from robot import run
from robot.api import ExecutionResult

from WebSocketLibrary import library as library_module
from WebSocketLibrary.connection import READER_THREAD_PREFIX
from WebSocketLibrary.errors import WebSocketLibraryError
from WebSocketLibrary.transcript import TranscriptMode

LIBRARIES = str(Path(__file__).resolve().parents[2] / "libraries")
SHORT = timedelta(milliseconds=300)


def client_sockets_to(port: int) -> list:
    return [c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port]


def test_refused_handshake_names_connection_status_and_body(library, peer):
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Connect", f"{peer}/refuse/403", "alice")
    message = str(raised.value)
    assert "connection 'alice'" in message
    assert "HTTP 403 Refused" in message
    assert '"error":"go_away"' in message
    assert "c2lnbmF0dXJl" not in message, "the token in the body must be masked"


def test_connect_should_be_refused_returns_the_refusal(library, peer):
    refusal = library.call("Connect Should Be Refused", f"{peer}/refuse/401", 401)
    assert refusal.status == 401 and refusal.json["error"] == "go_away"


def test_connect_should_be_refused_fails_on_other_status_and_on_acceptance(library, peer):
    with pytest.raises(WebSocketLibraryError, match="refused with HTTP 403 Refused, expected 401"):
        library.call("Connect Should Be Refused", f"{peer}/refuse/403", 401)
    with pytest.raises(WebSocketLibraryError, match="server accepted it"):
        library.call("Connect Should Be Refused", f"{peer}/echo")


def test_timeout_names_connection_and_shows_what_arrived(library, peer):
    library.call("Connect", f"{peer}/echo", "alice")
    library.call("Send Json Message", '{"type": "error", "code": "unknown_type"}')
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Wait For Message", timeout=SHORT, type="echo", id="1")
    message = str(raised.value)
    assert message.startswith("Connection 'alice' (ws://")
    assert "did not receive a message where type == 'echo' and id == '1' within 300ms" in message
    assert '#1 text: {"type":"error","code":"unknown_type"}' in message


def test_timeout_with_nothing_arrived_says_so(library, peer):
    library.call("Connect", f"{peer}/silent", "quiet")
    with pytest.raises(
        WebSocketLibraryError, match="Connection 'quiet' .* within 300ms. Its inbox is empty."
    ):
        library.call("Receive Message", SHORT)


def test_non_matching_message_stays_for_the_next_keyword(library, peer):
    library.call("Connect", f"{peer}/echo")
    library.call("Send Text Message", "first")
    library.call("Send Json Message", {"type": "echo", "id": 2})
    assert library.call("Wait For Message", type="echo") == {"type": "echo", "id": 2}
    assert library.call("Receive Message") == "first"


def test_wrong_kind_of_message_is_shown(library, peer):
    library.call("Connect", f"{peer}/echo", "bob")
    library.call("Send Text Message", "not json at all")
    with pytest.raises(
        WebSocketLibraryError,
        match="Expected a JSON message on connection 'bob' .*received text: not json at all",
    ):
        library.call("Receive Json Message")


def test_close_before_a_match_is_reported_at_once(library, peer):
    library.call("Connect", f"{peer}/close/4001", "c")
    with pytest.raises(
        WebSocketLibraryError,
        match="was closed by the server with code 4001, reason 'closing as asked' before",
    ):
        library.call("Wait For Message", timeout=timedelta(seconds=30), type="never")


def test_wait_for_close_checks_the_code(library, peer):
    library.call("Connect", f"{peer}/close/4001")
    assert library.call("Wait For Close", 4001, "closing as asked").closed_by == "server"
    with pytest.raises(WebSocketLibraryError, match="code 4001.*expected code 1000"):
        library.call("Wait For Close", 1000)


def test_should_not_receive_message(library, peer):
    library.call("Connect", f"{peer}/echo", "e")
    library.call("Should Not Receive Message", SHORT, type="echo")
    library.call("Send Json Message", {"type": "echo"})
    with pytest.raises(
        WebSocketLibraryError, match="'e' .* received a message where type == 'echo'"
    ):
        library.call("Should Not Receive Message", SHORT, type="echo")
    assert library.call("Get Inbox") == [{"type": "echo"}]


def test_wait_for_messages_reports_how_many_matched(library, peer):
    library.call("Connect", f"{peer}/echo")
    library.call("Send Json Message", {"n": 1})
    with pytest.raises(WebSocketLibraryError, match="only 1 matched"):
        library.call("Wait For Messages", 2, SHORT, n="1")
    assert library.call("Clear Inbox") == 1


def test_switch_connection_returns_previous_index(library, peer):
    assert library.call("Connect", f"{peer}/echo", "one") == 1
    assert library.call("Connect", f"{peer}/echo", "two") == 2
    assert library.call("Switch Connection", "one") == 2
    assert library.call("Get Connection Details").alias == "one"
    assert library.call("Switch Connection", "2") == 1
    with pytest.raises(
        WebSocketLibraryError,
        match="No WebSocket connection with alias or index 'three'. Known: 'one', 'two'.",
    ):
        library.call("Switch Connection", "three")


def test_keywords_without_connection_fail_clearly(library):
    with pytest.raises(
        WebSocketLibraryError, match="No open WebSocket connection. Use 'Connect' first."
    ):
        library.call("Send Text Message", "x")


def test_send_json_rejects_invalid_json(library, peer):
    library.call("Connect", f"{peer}/echo")
    with pytest.raises(WebSocketLibraryError, match="needs valid JSON.*Send Text Message"):
        library.call("Send Json Message", "{oops")


def test_redirect_is_a_refusal_and_is_not_followed(library, peer):
    refusal = library.call("Connect Should Be Refused", f"{peer}/redirect", 302)
    assert refusal.headers["location"] == "ws://127.0.0.1:1/elsewhere"
    with pytest.raises(
        WebSocketLibraryError, match="HTTP 302 redirect, Location: ws://127.0.0.1:1"
    ):
        library.call("Connect", f"{peer}/redirect")


def test_reply_time_counts_only_replies_to_the_last_send(library, peer):
    library.call("Connect", f"{peer}/echo")
    with pytest.raises(WebSocketLibraryError, match="has sent nothing to time a reply against"):
        library.call("Reply Time Should Be Below", timedelta(seconds=1))
    library.call("Send Text Message", "old")
    time.sleep(0.1)  # The echo of "old" is in the inbox before the next send.
    library.call("Send Text Message", "new")
    reply, seconds = library.call("Reply Time Should Be Below", timedelta(seconds=1))
    assert reply == "new"
    assert 0 < seconds < 1
    assert library.call("Receive Message") == "old", "the older reply stays in the inbox"


def test_wait_for_messages_needs_a_positive_count(library, peer):
    library.call("Connect", f"{peer}/echo")
    with pytest.raises(WebSocketLibraryError, match="count of 1 or more, got 0"):
        library.call("Wait For Messages", 0)


def test_failures_and_transcript_mask_opaque_credentials(library, peer, monkeypatch):
    logged: list[str] = []
    monkeypatch.setattr(library_module.logger, "info", lambda text, html=False: logged.append(text))
    url = f"{peer}/refuse/403?access_token=opaque-secret-123&room=7"
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Connect", url, headers={"X-Api-Key": "key-secret-456"})
    assert "opaque-secret-123" not in str(raised.value)
    assert "access_token=(masked)&room=7" in str(raised.value)
    assert logged, "a failing keyword writes the transcript at once"
    assert "key-secret-456" not in logged[-1]
    library.call("Set Transcript Logging", TranscriptMode.KEYWORD)
    library.call("Connect", f"{peer}/echo?token=opaque-secret-123", headers={"X-Api-Key": "k"})
    assert "X-Api-Key: (masked)" in logged[-1]
    assert not any("opaque-secret-123" in text for text in logged)


def test_close_all_connections_leaves_no_thread_or_socket(library, peer):
    port = int(peer.rsplit(":", 1)[1])
    for n in range(10):
        library.call("Connect", f"{peer}/echo", f"c{n}")
    library.call("Connect", f"{peer}/close/4001")
    assert len(client_sockets_to(port)) >= 10
    library.call("Close All Connections")
    assert [t.name for t in threading.enumerate() if t.name.startswith(READER_THREAD_PREFIX)] == []
    assert client_sockets_to(port) == []
    assert len(library.connections) == 0
    assert library.call("Connect", f"{peer}/echo") == 1, "indexes start again from 1"


TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
SUITE = """
*** Settings ***
Library    WebSocketLibrary    timeout=2s
Test Teardown    Close All Connections

*** Test Cases ***
Echo And Transcript
    Connect    ${URL}/echo    alias=alice    headers=${{{"Authorization": "Bearer ${TOKEN}"}}}
    Send Json Message    {"type": "echo", "id": 5, "token": "${TOKEN}"}
    # Not assigned: Robot Framework itself logs assigned values unmasked.
    Wait For Message    type=echo    id=5    timeout=1.5 seconds
    # Nothing is left: the echo was taken, so this must fail.
    Reply Time Should Be Below    1 s    regex=.*    timeout=0.1s

Budgets
    Connect    ${URL}/echo
    Handshake Time Should Be Below    2s
    Send Text Message    ping
    Reply Time Should Be Below    500ms    regex=^ping$

Enums And Bytes Convert
    Connect    ${URL}/echo
    Send Frame    text    raw
    ${raw}    Receive Message
    Should Be Equal    ${raw}    raw
    Send Frame    2    ${{b"\\x00"}}
    ${binary}    Receive Binary Message
    Length Should Be    ${binary}    1
    Should Be Equal    ${binary}    ${{b"\\x00"}}
    ${rtt}    Ping Server    hello    timeout=1 s
    Should Be True    ${rtt} < 1
    Drop Connection    reset
    ${details}    Get Connection Details
    Should Contain    ${details.close_reason}    TCP reset

Sequence Arguments Convert
    Connect    ${URL}/echo
    Send Json Message    {"seq": 1}
    Send Json Message    {"seq": 1}
    Run Keyword And Expect Error    *received seq 1 more than once*
    ...    Wait For Sequence    1    2    duplicates=FAIL    timeout=1 s
    Send Json Message    {"seq": 2}
    ${events}    Wait For Sequence    1    2    duplicates=allow    ordered=yes
    Should Be Equal    ${events}[1][seq]    ${2}
"""


def test_robot_run_converts_arguments_and_logs_a_masked_transcript(peer, tmp_path):
    suite = tmp_path / "suite.robot"
    suite.write_text(SUITE)
    run(
        str(suite),
        outputdir=str(tmp_path),
        pythonpath=[LIBRARIES],
        variable=[f"URL:{peer}", f"TOKEN:{TOKEN}"],
        loglevel="INFO",
        report="NONE",
        log="NONE",
        stdout=open(tmp_path / "stdout.txt", "w"),  # noqa: SIM115
    )
    result = ExecutionResult(str(tmp_path / "output.xml"))
    tests = {test.name: test for test in result.suite.tests}
    echo, budgets = tests["Echo And Transcript"], tests["Budgets"]
    assert budgets.status == "PASS", budgets.message
    for name in ("Enums And Bytes Convert", "Sequence Arguments Convert"):
        assert tests[name].status == "PASS", tests[name].message
    assert echo.status == "FAIL"
    assert (
        "did not receive a message where matching regex '.*' and arriving after the last send "
        "within 100ms" in echo.message
    )
    # Arguments are logged as written in the data; what the library logs is in <msg>.
    logged = "".join(
        re.findall(r"<msg [^>]*>(.*?)</msg>", (tmp_path / "output.xml").read_text(), re.S)
    )
    assert "websocket-transcript" in logged
    assert "c2lnbmF0dXJl" not in logged, "tokens must be masked below DEBUG"
    assert "(masked, 49 chars)" in logged


def test_sequence_failure_lists_every_break(library):
    events = [{"seq": n} for n in (1, 2, 4, 4, 3)]
    with pytest.raises(WebSocketLibraryError) as raised:
        library.call("Sequence Should Be Continuous", events, start=1)
    assert str(raised.value) == (
        "Sequence 'seq' of 5 messages (from 1 to 3) is not continuous, 3 problem(s):\n"
        "  at position 2: 4 follows 2: 3 missing\n"
        "  at position 3: 4 is a duplicate of position 2\n"
        "  at position 4: 3 follows 4: out of order"
    )
    unique = library.call("Remove Duplicate Messages", [{"seq": 1}, {"seq": 1}, {"seq": 2}])
    library.call("Sequence Should Be Continuous", unique, start=1)
