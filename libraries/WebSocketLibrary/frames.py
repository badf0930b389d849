"""Raw WebSocket frames, built byte by byte, including ones RFC 6455 forbids.

For fault injection: any opcode (reserved ones too), FIN and RSV bits, masked
or not, and a declared payload length that need not match the payload.
"""

from __future__ import annotations

import os
import struct
from enum import IntEnum


class Opcode(IntEnum):
    """Frame opcodes of RFC 6455. Reserved ones (3-7, 11-15) are given as numbers."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


def build_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    masked: bool = True,
    mask_key: bytes | None = None,
    declared_length: int | None = None,
) -> bytes:
    """The bytes of one frame. ``declared_length`` overrides the length field only."""
    if not 0 <= opcode <= 0xF:
        raise ValueError(f"An opcode is 4 bits: 0 to 15, got {opcode}.")
    length = len(payload) if declared_length is None else declared_length
    if not 0 <= length < 2**63:
        raise ValueError(f"A declared length must be 0 to 2**63-1, got {length}.")
    first = (fin << 7) | (rsv1 << 6) | (rsv2 << 5) | (rsv3 << 4) | opcode
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 2**16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + payload
    key = os.urandom(4) if mask_key is None else mask_key
    if len(key) != 4:
        raise ValueError(f"A mask key is 4 bytes, got {len(key)}.")
    return header + key + mask(payload, key)


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the repeating 4-byte ``key`` (masking and unmasking alike)."""
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )
