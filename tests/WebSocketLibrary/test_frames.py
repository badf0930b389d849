import pytest

from WebSocketLibrary.frames import Opcode, build_frame, mask


def test_small_masked_text_frame():
    frame = build_frame(Opcode.TEXT, b"hi", mask_key=b"\x01\x02\x03\x04")
    assert frame == bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])


def test_header_bits_and_unmasked():
    frame = build_frame(3, b"", fin=False, rsv1=True, rsv3=True, masked=False)
    assert frame == bytes([0b0101_0011, 0])


@pytest.mark.parametrize(("size", "header"), [(125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_length_encodings(size, header):
    frame = build_frame(Opcode.BINARY, b"x" * size, masked=False)
    assert len(frame) == header + size


def test_declared_length_can_lie():
    frame = build_frame(Opcode.BINARY, b"abc", masked=False, declared_length=1000)
    assert frame[:4] == bytes([0x82, 126, 0x03, 0xE8]) and frame[4:] == b"abc"


def test_mask_is_its_own_inverse():
    key = b"\xaa\xbb\xcc\xdd"
    assert mask(mask(b"hello world", key), key) == b"hello world"
    assert mask(b"", key) == b""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"opcode": 16}, "0 to 15"),
        ({"opcode": 1, "declared_length": -1}, "0 to 2\\*\\*63-1"),
        ({"opcode": 1, "mask_key": b"\x00"}, "4 bytes"),
    ],
)
def test_impossible_frames_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_frame(**arguments)
