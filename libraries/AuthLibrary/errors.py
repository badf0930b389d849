"""Exceptions raised by AuthLibrary.

Every exception has ``ROBOT_SUPPRESS_NAME = True`` so that Robot Framework
shows only the message, which is written as a plain sentence saying what was
expected and what was found.
"""

from __future__ import annotations

from enum import Enum


class AuthLibraryError(Exception):
    """Base class of all AuthLibrary errors."""

    ROBOT_SUPPRESS_NAME = True


class KeyMaterialError(AuthLibraryError):
    """A key or secret is missing, unreadable or unusable for an algorithm."""


class TokenCreationError(AuthLibraryError):
    """A token could not be created from the given claims and options."""


class Reason(Enum):
    """Why a token was rejected."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad signature"
    ALGORITHM_NOT_ALLOWED = "algorithm not allowed"
    KEY_NOT_USABLE = "key not usable"
    EXPIRED = "expired"
    NOT_YET_VALID = "not yet valid"
    WRONG_AUDIENCE = "wrong audience"
    WRONG_ISSUER = "wrong issuer"
    WRONG_SUBJECT = "wrong subject"
    MISSING_CLAIM = "missing claim"
    INVALID_CLAIM = "invalid claim"


class TokenVerificationError(AuthLibraryError):
    """A token failed verification; :attr:`reason` says which check failed."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


class TokenAssertionError(AuthLibraryError, AssertionError):
    """A ``Token ... Should ...`` assertion did not hold."""
