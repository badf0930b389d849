"""Keyword components, one per area, assembled by ``WebSocketLibrary``."""

from .connections import ConnectionKeywords
from .frames import FrameKeywords
from .groups import GroupKeywords
from .handshakes import HandshakeKeywords
from .heartbeat import HeartbeatKeywords
from .receiving import ReceivingKeywords
from .resources import ResourceKeywords
from .sending import SendingKeywords
from .sequences import SequenceKeywords

__all__ = [
    "ConnectionKeywords",
    "FrameKeywords",
    "GroupKeywords",
    "HandshakeKeywords",
    "HeartbeatKeywords",
    "ReceivingKeywords",
    "ResourceKeywords",
    "SendingKeywords",
    "SequenceKeywords",
]
