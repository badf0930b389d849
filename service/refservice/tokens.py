"""Issue and verify JWTs, mapping every failure to a stable reason code.

The reason codes are part of the public protocol (see ``docs/protocol.md``): clients and
tests match on them, so they never change meaning.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from refservice.config import HMAC_ALGORITHMS, MIN_RSA_KEY_BITS, ConfigError, Settings

TokenType = Literal["access", "refresh"]

# iat, nbf and jti are checked when present but not required: other issuers often omit them.
REQUIRED_CLAIMS = ("sub", "exp", "iss", "aud", "typ")

# Reason code -> what it means. Kept in one place so docs and tests can enumerate them.
REASONS: Mapping[str, str] = {
    "missing_token": "No token was supplied.",
    "malformed_token": "The token is not a well-formed JWT.",
    "token_expired": "The token has expired.",
    "token_not_yet_valid": "The token is not valid yet (nbf or iat is in the future).",
    "invalid_signature": "The token signature does not verify.",
    "invalid_audience": "The token was issued for another audience.",
    "invalid_issuer": "The token was issued by another issuer.",
    "algorithm_not_allowed": "The token is signed with an algorithm the service does not accept.",
    "missing_claim": "The token lacks a required claim.",
    "wrong_token_type": "The token has the wrong type for this use.",
    "unknown_user": "The token's subject is not a known user.",
}


class TokenError(Exception):
    """A token was refused. ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"Unknown token reason code {reason!r}.")
        self.reason = reason
        self.message = message or REASONS[reason]
        super().__init__(f"{reason}: {self.message}")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: float


def _load_keys(settings: Settings) -> tuple[Any, Any]:
    """Return ``(signing_key, verification_key)`` for the configured algorithm."""
    if settings.jwt_algorithm in HMAC_ALGORITHMS:
        secret = settings.jwt_secret.encode()
        return secret, secret
    assert settings.jwt_private_key is not None  # enforced by Settings
    private_pem = settings.jwt_private_key.read_bytes()
    private_key = serialization.load_pem_private_key(private_pem, password=None)
    if settings.jwt_public_key is not None:
        public_key = serialization.load_pem_public_key(settings.jwt_public_key.read_bytes())
    else:
        public_key = private_key.public_key()
    for key in (private_key, public_key):
        if (
            isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)
            and key.key_size < MIN_RSA_KEY_BITS
        ):
            raise ConfigError(
                f"The RSA key has {key.key_size} bits; {MIN_RSA_KEY_BITS} at least "
                "(RFC 7518 section 3.3)."
            )
    return private_key, public_key


class TokenService:
    """Issues and verifies the service's access and refresh tokens."""

    def __init__(self, settings: Settings) -> None:
        """Load the keys; raises ``ConfigError`` for a key too weak to use."""
        self._settings = settings
        self._algorithm = settings.jwt_algorithm
        self._signing_key, self._verification_key = _load_keys(settings)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def issue(
        self,
        subject: str,
        token_type: TokenType,
        *,
        now: float | None = None,
        roles: Sequence[str] = (),
    ) -> str:
        """Return a signed token of ``token_type`` for ``subject``.

        Access tokens carry the user's ``roles`` (a list, empty for most users).
        """
        now = time.time() if now is None else now
        issued_at = int(now)
        ttl = (
            self._settings.access_token_ttl
            if token_type == "access"
            else self._settings.refresh_token_ttl
        )
        # Whole-second TTLs give whole-second claims; a fractional TTL (tests use 0.2 s)
        # gives a fractional exp counted from the exact issue time, checked exactly.
        expires = issued_at + int(ttl) if float(ttl).is_integer() else round(now + ttl, 3)
        claims: dict[str, Any] = {
            "sub": subject,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires,
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "jti": uuid.uuid4().hex,
            "typ": token_type,
        }
        if token_type == "access":
            claims["roles"] = list(roles)
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm)

    def issue_pair(self, subject: str, roles: Sequence[str] = ()) -> TokenPair:
        now = time.time()
        return TokenPair(
            access_token=self.issue(subject, "access", now=now, roles=roles),
            refresh_token=self.issue(subject, "refresh", now=now),
            expires_in=self._settings.access_token_ttl,
        )

    def verify(self, token: str | None, expected_type: TokenType) -> dict[str, Any]:
        """Return the claims of a valid token of ``expected_type``.

        Raises :class:`TokenError` with a stable reason code otherwise. Whether the
        subject exists is the caller's business (reason ``unknown_user``).
        """
        if not token:
            raise TokenError("missing_token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:  # also crit and kid of the wrong type or value
            raise TokenError(
                "malformed_token", f"The token is not a well-formed JWT: {error}."
            ) from None
        algorithm = header.get("alg")
        if algorithm != self._algorithm:
            raise TokenError(
                "algorithm_not_allowed",
                f"The token is signed with {algorithm!r}; only {self._algorithm} is accepted.",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._verification_key,
                algorithms=[self._algorithm],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway,
                # PyJWT truncates exp to whole seconds; exp is checked exactly below.
                options={"require": list(REQUIRED_CLAIMS), "verify_exp": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token_not_yet_valid") from None
        except jwt.InvalidAudienceError:
            raise TokenError("invalid_audience") from None
        except jwt.InvalidIssuerError:
            raise TokenError("invalid_issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(
                "missing_claim", f"The token lacks the required {error.claim!r} claim."
            ) from None
        except jwt.InvalidAlgorithmError:
            raise TokenError("algorithm_not_allowed") from None
        # InvalidSignatureError subclasses DecodeError: it must be caught first.
        except jwt.InvalidSignatureError:
            raise TokenError("invalid_signature") from None
        except jwt.PyJWTError as error:
            raise TokenError(
                "malformed_token", f"The token is not a well-formed JWT: {error}."
            ) from None
        expires = claims["exp"]
        if not isinstance(expires, (int, float)) or isinstance(expires, bool):
            raise TokenError("malformed_token", "The token's exp claim is not a number.")
        if expires <= time.time() - self._settings.leeway:
            raise TokenError("token_expired")
        token_type = claims.get("typ")
        if token_type != expected_type:
            raise TokenError(
                "wrong_token_type",
                f"The token has type {token_type!r}; this needs a {expected_type!r} token.",
            )
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenError("malformed_token", "The token's sub claim is not a user name.")
        return claims
