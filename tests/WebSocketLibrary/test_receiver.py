"""The receiver on raw bytes: every RFC 6455 rule a client checks of a server's frames."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from WebSocketLibrary.frames import Opcode, build_frame
from WebSocketLibrary.receiver import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Close,
    Message,
    Ping,
    Pong,
    ProtocolViolation,
    Receiver,
)


def server_frame(opcode: int, payload: bytes = b"", **options) -> bytes:
    """A frame as a server sends it: unmasked."""
    return build_frame(opcode, payload, masked=False, **options)


def text(payload: str, fin: bool = True) -> bytes:
    return server_frame(Opcode.TEXT, payload.encode(), fin=fin)


def fed(data: bytes, receiver: Receiver | None = None) -> list:
    return (receiver or Receiver()).feed(data)


def violation(data: bytes, receiver: Receiver | None = None) -> ProtocolViolation:
    events = fed(data, receiver)
    assert isinstance(events[-1], ProtocolViolation), events
    return events[-1]


# Messages.


def test_text_and_binary_messages():
    data = text("héllo") + server_frame(Opcode.BINARY, b"\x00\xff")
    assert fed(data) == [Message("héllo"), Message(b"\x00\xff")]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_every_length_encoding(size):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert fed(server_frame(Opcode.BINARY, payload)) == [Message(payload)]


def test_fragments_are_joined_into_one_message():
    data = (
        text("one ", fin=False)
        + server_frame(Opcode.CONTINUATION, b"two ", fin=False)
        + server_frame(Opcode.CONTINUATION, b"three")
    )
    assert fed(data) == [Message("one two three")]


def test_control_frames_may_come_between_fragments():
    data = (
        server_frame(Opcode.BINARY, b"a", fin=False)
        + server_frame(Opcode.PING, b"p")
        + server_frame(Opcode.PONG, b"q")
        + server_frame(Opcode.CONTINUATION, b"b")
    )
    assert fed(data) == [Ping(b"p"), Pong(b"q"), Message(b"ab")]


def test_nothing_is_returned_until_a_frame_is_whole():
    data = text("x" * 300)
    receiver = Receiver()
    assert receiver.feed(data[:1]) == []
    assert receiver.feed(data[1:3]) == []
    assert receiver.feed(data[3:-1]) == []
    assert receiver.buffered == len(data) - 1
    assert receiver.feed(data[-1:]) == [Message("x" * 300)]
    assert receiver.buffered == 0


frames_strategy = st.lists(
    st.one_of(
        st.text(max_size=200).map(text),
        st.binary(max_size=300).map(lambda b: server_frame(Opcode.BINARY, b)),
        st.binary(max_size=125).map(lambda b: server_frame(Opcode.PING, b)),
        st.binary(max_size=125).map(lambda b: server_frame(Opcode.PONG, b)),
    ),
    max_size=12,
)


@given(frames=frames_strategy, cuts=st.lists(st.integers(min_value=0), max_size=20))
def test_how_the_bytes_are_split_changes_nothing(frames, cuts):
    stream = b"".join(frames)
    whole = Receiver().feed(stream)
    points = sorted({cut % (len(stream) + 1) for cut in cuts})
    receiver, pieces = Receiver(), []
    for start, end in zip([0, *points], [*points, len(stream)], strict=True):
        pieces += receiver.feed(stream[start:end])
    assert pieces == whole
    assert len(whole) == len(frames)


# Control frames and close.


def test_close_with_code_and_reason():
    payload = struct.pack("!H", 4001) + "bye ü".encode()
    assert fed(server_frame(Opcode.CLOSE, payload)) == [Close(4001, "bye ü", payload)]


def test_close_without_a_body_is_1005():
    assert fed(server_frame(Opcode.CLOSE)) == [Close(1005, "", b"")]


def test_nothing_after_the_close_is_parsed():
    receiver = Receiver()
    data = server_frame(Opcode.CLOSE) + text("late") + b"\xff\xff garbage"
    assert receiver.feed(data) == [Close(1005, "", b"")]
    assert receiver.finished
    assert receiver.feed(text("later")) == []
    assert receiver.buffered == 0


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4999])
def test_sendable_close_codes_are_accepted(code):
    (close,) = fed(server_frame(Opcode.CLOSE, struct.pack("!H", code)))
    assert close.code == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_close_codes_that_may_not_be_sent_are_1002(code):
    found = violation(server_frame(Opcode.CLOSE, struct.pack("!H", code)))
    assert found == ProtocolViolation(1002, f"close code {code} may not be sent")


def test_close_with_a_one_byte_body_is_1002():
    found = violation(server_frame(Opcode.CLOSE, b"\x03"))
    assert found == ProtocolViolation(1002, "close frame with a 1-byte body")


def test_close_reason_that_is_not_utf8_is_1007():
    found = violation(server_frame(Opcode.CLOSE, struct.pack("!H", 1000) + b"\xc3("))
    assert found == ProtocolViolation(1007, "close reason is not valid UTF-8")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (server_frame(Opcode.PING, b"p" * 126), "ping frame longer than 125 bytes"),
        (server_frame(Opcode.CLOSE, b"\x03\xe8" + b"r" * 124), "close frame longer than 125"),
        (server_frame(Opcode.PONG, b"q", fin=False), "fragmented pong frame"),
        (server_frame(Opcode.PING, b"", fin=False), "fragmented ping frame"),
    ],
)
def test_control_frames_must_be_whole_and_short(data, reason):
    found = violation(data)
    assert found.code == 1002 and reason in found.reason


def test_a_control_frame_of_125_bytes_is_fine():
    assert fed(server_frame(Opcode.PING, b"p" * 125)) == [Ping(b"p" * 125)]


# Framing rules.


@pytest.mark.parametrize(
    ("options", "bits"), [({"rsv1": True}, "100"), ({"rsv2": True}, "010"), ({"rsv3": True}, "001")]
)
def test_reserved_bits_are_1002(options, bits):
    found = violation(server_frame(Opcode.TEXT, b"x", **options))
    assert found == ProtocolViolation(
        1002, f"reserved bits set ({bits}) with no extension negotiated"
    )


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcodes_are_1002(opcode):
    assert violation(server_frame(opcode)) == ProtocolViolation(1002, f"reserved opcode {opcode}")


def test_a_masked_frame_from_the_server_is_1002():
    found = violation(build_frame(Opcode.TEXT, b"hi", masked=True))
    assert found == ProtocolViolation(1002, "the server masked a frame")


def test_a_continuation_without_a_message_is_1002():
    found = violation(server_frame(Opcode.CONTINUATION, b"orphan"))
    assert found == ProtocolViolation(1002, "continuation frame with no message to continue")


def test_a_new_message_inside_a_fragmented_one_is_1002():
    found = violation(text("a", fin=False) + server_frame(Opcode.BINARY, b"b"))
    assert found == ProtocolViolation(1002, "new data frame before the fragmented message ended")


def test_a_length_with_the_top_bit_set_is_1002():
    header = bytes([0x82, 127]) + struct.pack("!Q", 2**63)
    assert violation(header) == ProtocolViolation(1002, "payload length with the top bit set")


def test_events_before_a_violation_are_kept():
    events = fed(text("first") + server_frame(5))
    assert events == [Message("first"), ProtocolViolation(1002, "reserved opcode 5")]


# UTF-8.


def test_invalid_utf8_in_a_whole_message_is_1007():
    found = violation(server_frame(Opcode.TEXT, b"ok \xff"))
    assert found == ProtocolViolation(1007, "text message is not valid UTF-8")


def test_invalid_utf8_fails_at_its_fragment_before_the_message_ends():
    receiver = Receiver()
    assert receiver.feed(text("fine", fin=False)) == []
    # Above U+10FFFF from the second byte (\xf4\x90), whatever follows: fail at once.
    found = violation(server_frame(Opcode.CONTINUATION, b"\xce\xba \xf4\x90", fin=False), receiver)
    assert found == ProtocolViolation(1007, "text message is not valid UTF-8")


def test_a_code_point_split_across_fragments_is_fine():
    snowman = "☃".encode()
    data = (
        server_frame(Opcode.TEXT, snowman[:1], fin=False)
        + server_frame(Opcode.CONTINUATION, snowman[1:2], fin=False)
        + server_frame(Opcode.CONTINUATION, snowman[2:])
    )
    assert fed(data) == [Message("☃")]


def test_a_code_point_left_unfinished_at_the_end_of_the_message_is_1007():
    data = text("x", fin=False) + server_frame(Opcode.CONTINUATION, "☃".encode()[:2])
    assert violation(data).code == 1007


def test_binary_messages_are_not_checked_for_utf8():
    assert fed(server_frame(Opcode.BINARY, b"\xff\xfe")) == [Message(b"\xff\xfe")]


# Maximum message size.


def test_the_default_limit_is_16_mib():
    assert Receiver().max_message_size == DEFAULT_MAX_MESSAGE_SIZE == 16 * 2**20


def test_a_message_of_exactly_the_limit_is_delivered():
    assert fed(server_frame(Opcode.BINARY, b"x" * 100), Receiver(100)) == [Message(b"x" * 100)]


def test_a_frame_over_the_limit_is_refused_from_its_header_alone():
    receiver = Receiver(max_message_size=1000)
    header = bytes([0x82, 127]) + struct.pack("!Q", 2**40)  # 1 TiB announced, nothing sent
    assert receiver.feed(header) == [
        ProtocolViolation(1009, f"message of {2**40} bytes is over the limit of 1000 bytes")
    ]
    assert receiver.buffered == 0


def test_fragments_count_together_against_the_limit():
    receiver = Receiver(max_message_size=10)
    assert receiver.feed(server_frame(Opcode.BINARY, b"123456", fin=False)) == []
    found = violation(server_frame(Opcode.CONTINUATION, b"12345"), receiver)
    assert found == ProtocolViolation(
        1009, "fragmented message reaching 11 bytes is over the limit of 10 bytes"
    )


def test_control_frames_do_not_count_against_the_limit():
    assert fed(server_frame(Opcode.PING, b"p" * 20), Receiver(5)) == [Ping(b"p" * 20)]


def test_no_limit():
    payload = b"x" * (DEFAULT_MAX_MESSAGE_SIZE + 1)
    assert fed(server_frame(Opcode.BINARY, payload), Receiver(None)) == [Message(payload)]


def test_a_negative_limit_is_refused():
    with pytest.raises(ValueError, match="A maximum message size is 0 or more, got -1"):
        Receiver(-1)


def test_invalid_utf8_fails_before_its_frame_is_complete():
    """Fail fast within one frame too: the bad bytes are enough, the rest need not come."""
    data = text("κόσμε \U0001f600 valid so far, then " + "x" * 100)[:-100]
    receiver = Receiver()
    assert receiver.feed(data) == []  # valid so far: nothing to say yet
    assert receiver.feed(b"\xf4\x90\x80") == [
        ProtocolViolation(1007, "text message is not valid UTF-8")
    ]


@given(payload=st.text(max_size=100), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_a_text_frame_read_in_pieces_checks_every_byte_once(payload, cuts):
    """Checking a frame as it arrives agrees with checking it whole, however it is cut."""
    stream = text(payload, fin=False) + server_frame(Opcode.CONTINUATION, b"!")
    points = sorted({cut % (len(stream) + 1) for cut in cuts})
    receiver, events = Receiver(), []
    for start, end in zip([0, *points], [*points, len(stream)], strict=True):
        events += receiver.feed(stream[start:end])
    assert events == [Message(payload + "!")]
