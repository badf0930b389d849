"""Issue and verify JWTs, mapping every failure to a stable reason code.

The reason codes are part of the public protocol (see ``docs/protocol.md``): clients and
tests match on them, so they never change meaning.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

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
    "token_lifetime_too_long": "The token lives longer (exp - iat) than the service allows.",
    "unknown_key": "The token names a key (kid) the service does not have.",
    "token_reused": "The refresh token was already used; its whole family is revoked now.",
    "token_revoked": "The refresh token was revoked, or the service has no record of it.",
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
    refresh_id: str = ""
    """The refresh token's ``jti``: its row in the store's rotation table."""
    refresh_expires: float = 0.0


# The curve each ES* algorithm needs (RFC 7518 section 3.4).
EC_CURVES: Mapping[str, str] = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_ALGORITHM_OF_CURVE = {curve: algorithm for algorithm, curve in EC_CURVES.items()}
_RSA_KEY = (rsa.RSAPrivateKey, rsa.RSAPublicKey)
_EC_KEY = (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)


@dataclass(frozen=True)
class VerificationKey:
    """One key the service verifies with; ``kid`` is ``None`` for the HMAC secret."""

    kid: str | None
    algorithm: str
    key: Any

    def public_jwk(self) -> dict[str, Any]:
        """The JWK of this public key, as published in the JWKS document."""
        return {**public_jwk(self.key), "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def public_jwk(public_key: Any) -> dict[str, Any]:
    """The public members of an RSA or EC key as a JWK (``kty`` and ``n``/``e`` or ``x``/``y``)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        jwk = dict(RSAAlgorithm.to_jwk(public_key, as_dict=True))
    else:
        jwk = dict(ECAlgorithm.to_jwk(public_key, as_dict=True))
    jwk.pop("key_ops", None)  # RFC 7517 section 4.3: not together with "use"
    return jwk


def key_id(public_key: Any) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url): the same key always has the same id."""
    jwk = public_jwk(public_key)
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _read_pem(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"Cannot read the {what} {str(path)!r}: {error.strerror}.") from None


def _load_private_key(path: Path) -> Any:
    try:
        return serialization.load_pem_private_key(_read_pem(path, "private key"), password=None)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{str(path)!r} is not an unencrypted PEM private key: {error}") from None


def _load_public_key(path: Path) -> Any:
    try:
        return serialization.load_pem_public_key(_read_pem(path, "public key"))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{str(path)!r} is not a PEM public key: {error}") from None


def algorithm_for_key(key: Any, configured: str) -> str:
    """The algorithm a verify-only key is used with: ``configured`` if it fits the key type.

    Otherwise RS256 for an RSA key, and the ES* algorithm of an EC key's curve.
    """
    if isinstance(key, _RSA_KEY):
        return configured if configured.startswith("RS") else "RS256"
    if isinstance(key, _EC_KEY):
        return _ALGORITHM_OF_CURVE.get(key.curve.name, configured)
    return configured


def check_key(key: Any, algorithm: str, path: Path) -> None:
    """Raise ``ConfigError`` unless ``key`` is strong enough for, and fits, ``algorithm``."""
    if isinstance(key, _RSA_KEY):
        if not algorithm.startswith("RS"):
            raise ConfigError(f"{str(path)!r} is an RSA key; {algorithm} needs another key type.")
        if key.key_size < MIN_RSA_KEY_BITS:
            raise ConfigError(
                f"The RSA key has {key.key_size} bits; {MIN_RSA_KEY_BITS} at least "
                "(RFC 7518 section 3.3)."
            )
    elif isinstance(key, _EC_KEY):
        wanted = EC_CURVES.get(algorithm)
        if wanted is None:
            raise ConfigError(f"{str(path)!r} is an EC key; {algorithm} needs another key type.")
        if key.curve.name != wanted:
            raise ConfigError(
                f"The EC key {str(path)!r} is on curve {key.curve.name}; {algorithm} needs "
                f"{wanted} (RFC 7518 section 3.4)."
            )
    else:
        raise ConfigError(f"{str(path)!r} holds a {type(key).__name__}; use an RSA or EC key.")


def _same_public_key(first: Any, second: Any) -> bool:
    def der(key: Any) -> bytes:
        return bytes(
            key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    return der(first) == der(second)


def _load_keys(settings: Settings) -> tuple[Any, VerificationKey, dict[str, VerificationKey]]:
    """``(signing_key, current_key, keys_by_kid)`` for the configured algorithm.

    HMAC: the secret, and no key ids. RS*/ES*: the private key signs; its public key and
    every ``--jwt-previous-public-key`` verify, each under its RFC 7638 thumbprint.
    """
    algorithm = settings.jwt_algorithm
    if algorithm in HMAC_ALGORITHMS:
        secret = settings.jwt_secret.encode()
        return secret, VerificationKey(None, algorithm, secret), {}
    assert settings.jwt_private_key is not None  # enforced by Settings
    private_key = _load_private_key(settings.jwt_private_key)
    check_key(private_key, algorithm, settings.jwt_private_key)
    public_key = private_key.public_key()
    if settings.jwt_public_key is not None:
        given = _load_public_key(settings.jwt_public_key)
        check_key(given, algorithm, settings.jwt_public_key)
        if not _same_public_key(given, public_key):
            raise ConfigError(
                f"The public key {str(settings.jwt_public_key)!r} does not belong to the "
                "private key: the service could not verify its own tokens."
            )
    current = VerificationKey(key_id(public_key), algorithm, public_key)
    keys = {current.kid: current}
    for path in settings.jwt_previous_public_keys:
        previous = _load_public_key(path)
        previous_algorithm = algorithm_for_key(previous, algorithm)
        check_key(previous, previous_algorithm, path)
        kid = key_id(previous)
        keys.setdefault(kid, VerificationKey(kid, previous_algorithm, previous))
    return private_key, current, keys  # type: ignore[return-value]


class TokenService:
    """Issues and verifies the service's access and refresh tokens."""

    def __init__(self, settings: Settings) -> None:
        """Load the keys; raises ``ConfigError`` for a key too weak to use."""
        self._settings = settings
        self._algorithm = settings.jwt_algorithm
        self._signing_key, self._current_key, self._keys = _load_keys(settings)
        self._accepted_algorithms = sorted(
            {self._algorithm, *(key.algorithm for key in self._keys.values())}
        )

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def key_id(self) -> str | None:
        """The ``kid`` of issued tokens (``None`` for HMAC: the secret is never published)."""
        return self._current_key.kid

    def jwks(self) -> dict[str, Any]:
        """The JWKS document: the public keys, the signing key first (none for HMAC)."""
        return {"keys": [key.public_jwk() for key in self._keys.values()]}

    def issue(
        self,
        subject: str,
        token_type: TokenType,
        *,
        now: float | None = None,
        roles: Sequence[str] = (),
        token_id: str | None = None,
    ) -> str:
        """Return a signed token of ``token_type`` for ``subject``.

        Access tokens carry the user's ``roles`` (a list, empty for most users);
        ``token_id`` is the ``jti`` (random when not given).
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
            "jti": token_id or uuid.uuid4().hex,
            "typ": token_type,
        }
        if token_type == "access":
            claims["roles"] = list(roles)
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm, headers=headers)

    def issue_pair(self, subject: str, roles: Sequence[str] = ()) -> TokenPair:
        now = time.time()
        refresh_id = uuid.uuid4().hex
        return TokenPair(
            access_token=self.issue(subject, "access", now=now, roles=roles),
            refresh_token=self.issue(subject, "refresh", now=now, token_id=refresh_id),
            expires_in=self._settings.access_token_ttl,
            refresh_id=refresh_id,
            refresh_expires=now + self._settings.refresh_token_ttl,
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
        key = self._verification_key(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
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
        self._check_lifetime(claims, expected_type)
        return claims

    def _verification_key(self, header: Mapping[str, Any]) -> VerificationKey:
        """The key a token's header asks for; a header without ``kid`` gets the current key.

        HMAC services have no key ids and ignore ``kid``.
        """
        algorithm = header.get("alg")
        if algorithm not in self._accepted_algorithms:
            raise TokenError(
                "algorithm_not_allowed",
                f"The token is signed with {algorithm!r}; only "
                f"{' or '.join(self._accepted_algorithms)} is accepted.",
            )
        kid = header.get("kid")
        key = self._current_key if kid is None or not self._keys else self._keys.get(kid)
        if key is None:
            raise TokenError(
                "unknown_key",
                f"The token names key {kid!r}; the service's keys are listed at "
                "/.well-known/jwks.json.",
            )
        if algorithm != key.algorithm:
            raise TokenError(
                "algorithm_not_allowed",
                f"The token is signed with {algorithm!r}; key {key.kid!r} is for {key.algorithm}.",
            )
        return key

    def _check_lifetime(self, claims: Mapping[str, Any], token_type: TokenType) -> None:
        """Refuse a token that was issued to live longer than the service allows.

        The lifetime is ``exp - iat``, or ``exp - now`` (plus leeway) without ``iat``.
        Issued tokens have a whole-second ``iat``, so a fractional ``exp`` may be up to one
        second over.
        """
        limit = (
            self._settings.max_token_lifetime
            if token_type == "access"
            else self._settings.refresh_token_ttl
        )
        if not limit:
            return
        expires, issued = claims["exp"], claims.get("iat")
        if isinstance(issued, (int, float)) and not isinstance(issued, bool):
            lifetime = expires - issued
            allowed = limit + (0.0 if float(expires).is_integer() else 1.0)
        else:
            lifetime = expires - time.time()
            allowed = limit + self._settings.leeway
        if lifetime > allowed:
            raise TokenError(
                "token_lifetime_too_long",
                f"The {token_type} token lives {lifetime:.0f} s; the service allows "
                f"{limit:g} s at most.",
            )
