"""Keyword components of AuthLibrary, one class per area."""

from .base import LibraryComponent
from .forgery import ForgeryKeywords
from .keys import KeyKeywords
from .tokens import TokenKeywords
from .verification import VerificationKeywords

__all__ = [
    "ForgeryKeywords",
    "KeyKeywords",
    "LibraryComponent",
    "TokenKeywords",
    "VerificationKeywords",
]
