"""Keyword components, one per area, assembled by ``WebSocketLibrary``."""

from .connections import ConnectionKeywords
from .exchange import ExchangeKeywords, Pacing
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
    "ExchangeKeywords",
    "FrameKeywords",
    "GroupKeywords",
    "HandshakeKeywords",
    "HeartbeatKeywords",
    "Pacing",
    "ReceivingKeywords",
    "ResourceKeywords",
    "SendingKeywords",
    "SequenceKeywords",
]
