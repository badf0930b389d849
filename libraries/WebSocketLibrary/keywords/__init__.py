"""Keyword components, one per area, assembled by ``WebSocketLibrary``."""

from .connections import ConnectionKeywords
from .receiving import ReceivingKeywords
from .sending import SendingKeywords

__all__ = ["ConnectionKeywords", "ReceivingKeywords", "SendingKeywords"]
