"""Per-connection message rate limit: the rule at explicit times, then the service over sockets."""

from __future__ import annotations

import json
import re
import struct
import time
from collections.abc import Callable
from typing import Any

import pytest
import websocket
from refservice_wire import nothing_more, recv, request

from ReferenceServiceLibrary.process import ServiceProcess
from refservice.ratelimit import MessageRateLimit, TokenBucket, Verdict

# --- the rule, at explicit times -----------------------------------------------------


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=5, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after(100.0) == pytest.approx(0.2)
    assert not bucket.take(100.19)
    assert bucket.take(100.2)
    assert not bucket.take(100.2)
    # Idle time refills up to the burst, never beyond it.
    assert [bucket.take(200.0) for _ in range(4)] == [True, True, True, False]


def test_a_steady_rate_at_the_limit_is_always_accepted() -> None:
    bucket = TokenBucket(rate=10, burst=1, now=0.0)
    assert all(bucket.take(n / 10) for n in range(100))
    assert not bucket.take(9.9 + 0.05), "one more in between is over the limit"


def test_rate_zero_is_no_limit_and_a_clock_going_back_refills_nothing() -> None:
    unlimited = TokenBucket(rate=0, burst=1, now=0.0)
    assert all(unlimited.take(0.0) for _ in range(10_000))
    assert unlimited.retry_after(0.0) == 0
    bucket = TokenBucket(rate=1, burst=1, now=10.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)
    assert not bucket.take(10.5), "the clock's step back did not move the refill"
    assert bucket.take(11.0)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0, now=0.0)


def test_refusals_beyond_the_allowance_within_the_window_close() -> None:
    limit = MessageRateLimit(rate=1, burst=2, max_refused=3, refused_window=10, now=0.0)
    verdicts = [limit.check(0.0) for _ in range(6)]
    assert verdicts == [Verdict.ACCEPT] * 2 + [Verdict.REFUSE] * 3 + [Verdict.CLOSE]
    assert limit.check(100.0) is Verdict.CLOSE, "once closing, always closing"


def test_refusals_spread_wider_than_the_window_never_close() -> None:
    limit = MessageRateLimit(rate=1, burst=1, max_refused=2, refused_window=10, now=0.0)
    for start in range(0, 100, 10):
        # At each time: one accepted, two refused; the window then forgets the refusals.
        assert [limit.check(start + 0.5) for _ in range(3)] == [
            Verdict.ACCEPT,
            Verdict.REFUSE,
            Verdict.REFUSE,
        ]
    # Three within one window is one too many; accepted messages in between do not help.
    limit = MessageRateLimit(rate=1, burst=1, max_refused=2, refused_window=10, now=0.0)
    assert [limit.check(t) for t in (0.0, 0.1, 0.2)] == [Verdict.ACCEPT] + [Verdict.REFUSE] * 2
    assert limit.check(5.0) is Verdict.ACCEPT
    assert limit.check(5.1) is Verdict.CLOSE
    # The window slides: at 10.15 the refusal of 0.1 has left it, the one of 0.2 has not.
    limit = MessageRateLimit(rate=1, burst=1, max_refused=2, refused_window=10, now=0.0)
    assert [limit.check(t) for t in (0.0, 0.1, 0.2)] == [Verdict.ACCEPT] + [Verdict.REFUSE] * 2
    assert [limit.check(10.15) for _ in range(3)] == [
        Verdict.ACCEPT,
        Verdict.REFUSE,
        Verdict.CLOSE,
    ]


def test_max_refused_zero_only_refuses() -> None:
    limit = MessageRateLimit(rate=1, burst=1, max_refused=0, refused_window=1, now=0.0)
    assert limit.check(0.0) is Verdict.ACCEPT
    assert {limit.check(0.0) for _ in range(1000)} == {Verdict.REFUSE}
    assert limit.retry_after(0.0) == pytest.approx(1.0)
    assert limit.check(1.0) is Verdict.ACCEPT


# --- the service, over real sockets --------------------------------------------------

RATE, BURST, MAX_REFUSED = 5, 5, 10
SMALL_LIMIT = {
    "max_messages_per_second": RATE,
    "max_message_burst": BURST,
    "max_refused_messages": MAX_REFUSED,
    "refused_message_window": 30,
    "heartbeat_interval": 0,
}
# From the first message of a flood to the close frame: the close is decided by the count
# of refusals (not by a timer), so this is processing time only, with room for a busy host.
CLOSE_BUDGET = 2.0


@pytest.fixture
def limited(make_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    return make_service(**SMALL_LIMIT)


def _echo(n: int) -> str:
    return json.dumps({"type": "echo", "id": n, "payload": n})


def _read_to_close(ws: websocket.WebSocket) -> tuple[list[dict[str, Any]], int, str]:
    """Every text message up to the close frame, and the close's code and reason."""
    messages = []
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return messages, struct.unpack("!H", frame.data[:2])[0], frame.data[2:].decode()
        if opcode == websocket.ABNF.OPCODE_TEXT:
            messages.append(json.loads(frame.data))


def test_a_burst_over_the_limit_is_refused_and_not_processed(
    limited: ServiceProcess, client_for: Callable[..., Any]
) -> None:
    client = client_for(limited)
    ws = client.connect()
    # Control frames are answered by the WebSocket stack: they take nothing from the limit.
    for _ in range(3 * BURST):
        ws.ping(b"hb")
    sent = BURST + 3
    for n in range(sent):
        ws.send(_echo(n))
    ws.send_binary(b"\x00over")
    replies = [recv(ws) for _ in range(sent + 1)]
    echoes = [reply for reply in replies if reply["type"] == "echo"]
    refused = [reply for reply in replies if reply["type"] == "error"]
    assert [echo["id"] for echo in echoes] == list(range(BURST)), "only the burst is processed"
    assert [reply["code"] for reply in refused] == ["rate_limited"] * 4
    assert [reply.get("id") for reply in refused] == [BURST, BURST + 1, BURST + 2, None]
    for reply in refused:
        assert 0 < reply["retry_after"] <= 1 / RATE + 0.001, reply
        assert set(reply) <= {"type", "code", "message", "id", "retry_after"}
    assert nothing_more(ws), "a refused message is not answered later either"
    # The limit refills: after retry_after the connection is served again.
    time.sleep(refused[-1]["retry_after"])
    assert request(ws, {"type": "echo", "id": "later"})["type"] == "echo"
    ws.close()


def test_a_connection_that_keeps_on_is_closed_with_1008_and_others_are_served(
    limited: ServiceProcess, client_for: Callable[..., Any]
) -> None:
    client = client_for(limited)
    token = client.token("alice")
    flooder = client.open(token)
    connection_id = recv(flooder)["connection_id"]
    same_user = client.connect(token)
    bystander = client.connect(client.token("bob"))
    started = time.monotonic()
    try:
        for n in range(200):
            flooder.send(_echo(n))
    except (OSError, websocket.WebSocketException):
        pass  # the service may have closed already
    messages, code, reason = _read_to_close(flooder)
    elapsed = time.monotonic() - started
    assert (code, reason) == (1008, "rate limit exceeded")
    assert elapsed < CLOSE_BUDGET, elapsed
    # The burst was echoed, then came exactly the allowance of refusals, then the close.
    assert [m["type"] for m in messages] == ["echo"] * BURST + ["error"] * MAX_REFUSED
    assert {m["code"] for m in messages if m["type"] == "error"} == {"rate_limited"}
    flooder.close()
    # The same user's other connection has its own, full burst; other users are untouched.
    for n in range(BURST):
        same_user.send(_echo(n))
    assert [recv(same_user)["type"] for _ in range(BURST)] == ["echo"] * BURST
    assert request(bystander, {"type": "echo", "id": "b"})["type"] == "echo"
    same_user.close()
    bystander.close()
    limited.stop()  # flushes the log
    log = limited.log_file.read_text(encoding="utf-8")
    assert re.search(
        rf"INFO.*Closing connection {connection_id} for alice with 1008: over 5 messages/s "
        rf"\(burst 5\) after 10 rate_limited replies within 30 s",
        log,
    ), log
    assert token not in log and token.split(".")[2] not in log


def test_a_client_under_the_limit_is_never_refused(
    limited: ServiceProcess, client_for: Callable[..., Any]
) -> None:
    client = client_for(limited)
    ws = client.connect()
    # Empty the bucket with one burst (all of it processed) ...
    for n in range(BURST):
        ws.send(_echo(n))
    assert [recv(ws)["type"] for _ in range(BURST)] == ["echo"] * BURST
    # ... then send at half the rate for a while: every message is processed.
    interval = 2 / RATE
    next_send = time.monotonic()
    for n in range(10):
        next_send += interval
        time.sleep(max(next_send - time.monotonic(), 0))  # pacing the sender, not waiting
        reply = request(ws, {"type": "echo", "id": f"paced-{n}"})
        assert reply["type"] == "echo", reply
    # The limit was on all along: the bucket has refilled to about one burst less the last
    # message (one more token if the host was slow in between), and a burst beyond it is
    # refused.
    for n in range(BURST + 1):
        ws.send(_echo(n))
    types = [recv(ws)["type"] for _ in range(BURST + 1)]
    assert types[: BURST - 1] == ["echo"] * (BURST - 1), types
    assert types[-1] == "error", types
    ws.close()
