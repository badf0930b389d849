import threading
import time

from WebSocketLibrary.inbox import CloseInfo, CountCollector, Inbox


def is_text(message):
    return not message.is_binary


def test_take_returns_messages_in_arrival_order():
    inbox = Inbox()
    inbox.put("one")
    inbox.put("two")
    assert inbox.take(lambda m: True, 0).data == "one"
    assert inbox.take(lambda m: True, 0).data == "two"
    assert inbox.take(lambda m: True, 0) is None


def test_non_matching_messages_stay_in_order():
    inbox = Inbox()
    for data in ("a", b"b", "c"):
        inbox.put(data)
    assert inbox.take(lambda m: m.is_binary, 0).data == b"b"
    assert [m.data for m in inbox.snapshot()] == ["a", "c"]


def test_take_waits_for_a_message_put_by_another_thread():
    inbox = Inbox()
    threading.Timer(0.05, inbox.put, args=("late",)).start()
    started = time.monotonic()
    message = inbox.take(is_text, 2)
    assert message is not None and message.data == "late"
    assert time.monotonic() - started < 1


def test_take_gives_up_after_timeout():
    inbox = Inbox()
    started = time.monotonic()
    assert inbox.take(is_text, 0.1) is None
    assert 0.09 <= time.monotonic() - started < 1


def test_close_ends_a_wait_at_once():
    inbox = Inbox()
    threading.Timer(0.05, inbox.close, args=(CloseInfo(1000, "", "server", 0),)).start()
    started = time.monotonic()
    assert inbox.take(is_text, 5) is None
    assert time.monotonic() - started < 1
    assert inbox.closed.code == 1000


def test_messages_queued_before_close_can_still_be_taken():
    inbox = Inbox()
    inbox.put("last words")
    inbox.close(CloseInfo(1001, "", "server", 0))
    assert inbox.take(is_text, 0).data == "last words"


def test_take_many_is_all_or_nothing():
    inbox = Inbox()
    inbox.put("x")
    assert [m.data for m in inbox.take_many(is_text, 2, 0.05)] == ["x"]
    assert len(inbox) == 1
    inbox.put("y")
    assert [m.data for m in inbox.take_many(is_text, 2, 0)] == ["x", "y"]
    assert len(inbox) == 0


def test_peek_does_not_remove():
    inbox = Inbox()
    inbox.put("x")
    assert inbox.peek(is_text, 0).data == "x"
    assert len(inbox) == 1


def test_sequence_counts_every_arrival():
    inbox = Inbox()
    inbox.put("a")
    inbox.clear()
    assert inbox.put("b").sequence == 2
    assert inbox.received_count == 2


def test_message_views():
    inbox = Inbox()
    obj = inbox.put('{"type": "echo"}')
    number = inbox.put("42")
    binary = inbox.put(b"\xff")
    assert obj.is_json and obj.json == {"type": "echo"} and obj.structured == {"type": "echo"}
    assert number.json == 42 and number.structured == "42"
    assert not binary.is_json and binary.structured == b"\xff" and binary.size == 1
    assert inbox.put("é").size == 2


def test_collect_removes_only_what_a_satisfied_collector_gathered():
    inbox = Inbox()
    for data in ("a", b"b", "c"):
        inbox.put(data)
    gathered = inbox.collect(CountCollector(is_text, 2), 0)
    assert [m.data for m in gathered] == ["a", "c"]
    assert [m.data for m in inbox.snapshot()] == [b"b"]
    assert inbox.collect(CountCollector(is_text, 1), 0) == []


def test_collect_without_remove_leaves_the_inbox_as_it_is():
    inbox = Inbox()
    inbox.put("a")
    assert [m.data for m in inbox.collect(CountCollector(is_text, 1), 0, remove=False)] == ["a"]
    assert len(inbox) == 1


def test_a_wait_rescans_when_older_messages_are_carried_in_front():
    inbox = Inbox()
    inbox.put("new")
    earlier = Inbox()
    kept = earlier.put("kept")
    threading.Timer(0.05, inbox.carry_over, args=([kept],)).start()
    gathered = inbox.take_many(is_text, 2, 2)
    assert [m.data for m in gathered] == ["kept", "new"]


def test_a_waiter_looks_again_from_the_start_when_a_message_it_counted_is_taken():
    inbox = Inbox()
    counted = threading.Event()

    def first_seen(message):
        if message.data == "first":
            counted.set()
        return not message.is_binary

    inbox.put("first")
    result = []
    waiter = threading.Thread(target=lambda: result.append(inbox.take_many(first_seen, 2, 5)))
    waiter.start()
    assert counted.wait(5), "the waiter never looked at the first message"
    assert inbox.take(is_text, 0).data == "first"  # another keyword takes it meanwhile
    inbox.put("second")
    inbox.put("third")
    waiter.join(5)
    assert [m.data for m in result[0]] == ["second", "third"]
    assert len(inbox) == 0


def test_a_clear_after_an_earlier_take_also_makes_waiters_look_again():
    inbox = Inbox()
    inbox.put("old")
    inbox.take(is_text, 0)  # the count of removals has moved once already
    counted = threading.Event()

    def counting(message):
        counted.set()
        return True

    inbox.put("a")
    result = []
    waiter = threading.Thread(target=lambda: result.append(inbox.take_many(counting, 2, 5)))
    waiter.start()
    assert counted.wait(5), "the waiter never looked at the first message"
    inbox.clear()
    inbox.put("b")
    inbox.put("c")
    waiter.join(5)
    assert [m.data for m in result[0]] == ["b", "c"]


def test_peek_returns_at_once_when_a_match_is_queued():
    inbox = Inbox()
    inbox.put("here")
    started = time.monotonic()
    assert inbox.peek(is_text, 5).data == "here"
    assert time.monotonic() - started < 1


def test_waits_end_at_their_timeout_not_later():
    inbox = Inbox()
    started = time.monotonic()
    assert inbox.take_many(is_text, 1, 0.2) == []
    assert inbox.wait_for_close(0.2) is None
    assert time.monotonic() - started < 2


def test_wait_for_close_returns_as_soon_as_the_connection_closes():
    inbox = Inbox()
    threading.Timer(0.05, inbox.close, args=(CloseInfo(1000, "", "server", 0),)).start()
    started = time.monotonic()
    assert inbox.wait_for_close(5).code == 1000
    assert time.monotonic() - started < 1


def test_a_message_records_its_wall_clock_and_monotonic_arrival():
    inbox = Inbox()
    before_wall, before_mono = time.time(), time.monotonic()
    message = inbox.put("x")
    assert before_wall <= message.received_at <= time.time()
    assert before_mono <= message.monotonic <= time.monotonic()
