"""Creating signed JWTs from claims, options and library-wide defaults."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

import jwt

from .algorithms import Algorithm, KeyFamily
from .errors import KeyMaterialError, TokenCreationError
from .keys import check_key_fits, is_private_key, public_key_of, resolve_key
from .timeutils import now_timestamp, seconds

try:  # PyJWT >= 2.10 warns about short HMAC secrets and small RSA keys.
    from jwt.warnings import InsecureKeyLengthWarning
except ImportError:  # pragma: no cover - older PyJWT

    class InsecureKeyLengthWarning(UserWarning):  # type: ignore[no-redef]
        """Stand-in so the warning filter below works with any PyJWT version."""


Audience = str | Sequence[str]

#: Claims whose values :func:`build_claims` computes.
TIME_CLAIMS = ("iat", "nbf", "exp")


@dataclass(frozen=True)
class TokenDefaults:
    """Library-wide defaults for creating and verifying tokens.

    ``None`` means "not set"; a ``lifetime`` of ``None`` means tokens get no
    ``exp`` claim.
    """

    algorithm: Algorithm = Algorithm.HS256
    secret: str | None = None
    private_key: str | None = None
    public_key: str | None = None
    issuer: str | None = None
    audience: str | list[str] | None = None
    lifetime: timedelta | None = field(default_factory=lambda: timedelta(minutes=15))
    leeway: timedelta = field(default_factory=timedelta)

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all fields, in declaration order."""
        return [f.name for f in fields(cls)]

    def updated(self, **changes: Any) -> TokenDefaults:
        """A copy with ``changes`` applied; unknown names are an error."""
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise TokenCreationError(
                f"Unknown token default(s) {', '.join(unknown)}; "
                f"expected any of {', '.join(self.field_names())}."
            )
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """All fields as a dictionary."""
        return {name: getattr(self, name) for name in self.field_names()}

    def signing_key(self, algorithm: Algorithm, key: str | os.PathLike[str] | None = None) -> Any:
        """The key to sign with: ``key`` if given, else the default for ``algorithm``'s family.

        Returns ``None`` for ``alg: none``. Raises :class:`KeyMaterialError`
        when no usable key is available.
        """
        if algorithm is Algorithm.NONE:
            return None
        if key is not None:
            resolved = resolve_key(key)
        elif algorithm.family is KeyFamily.HMAC:
            if self.secret is None:
                raise KeyMaterialError(
                    f"No key given for {algorithm} and no default secret is set; pass key=... "
                    "or import AuthLibrary with secret=...."
                )
            resolved = self.secret
        else:
            if self.private_key is None:
                raise KeyMaterialError(
                    f"No key given for {algorithm} and no default private key is set; pass "
                    "key=... or import AuthLibrary with private_key=...."
                )
            resolved = resolve_key(self.private_key)
        check_key_fits(resolved, algorithm)
        if algorithm.is_asymmetric and not is_private_key(resolved):
            raise KeyMaterialError(
                f"Algorithm {algorithm} signs with a private key but the key given is a public key."
            )
        return resolved

    def verification_key(
        self, key: str | os.PathLike[str] | None = None, algorithm: Algorithm | None = None
    ) -> str:
        """The key to verify with: ``key`` if given, else the default for ``algorithm``.

        A private key is replaced by its public key. ``algorithm`` defaults to
        the default algorithm.
        """
        if key is not None:
            resolved = resolve_key(key)
        else:
            algorithm = algorithm or self.algorithm
            if algorithm.family is KeyFamily.HMAC:
                if self.secret is None:
                    raise KeyMaterialError(
                        f"No key given to verify {algorithm} tokens and no default secret is "
                        "set; pass key=... or import AuthLibrary with secret=...."
                    )
                return self.secret
            default = self.public_key or self.private_key
            if default is None:
                raise KeyMaterialError(
                    f"No key given to verify {algorithm} tokens and no default public or private "
                    "key is set; pass key=... or import AuthLibrary with public_key=...."
                )
            resolved = resolve_key(default)
        if is_private_key(resolved):
            return public_key_of(resolved)
        return resolved


def _audience_value(audience: Audience) -> str | list[str]:
    return audience if isinstance(audience, str) else list(audience)


def build_claims(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    lifetime: timedelta | None = None,
    not_before: timedelta | None = None,
    issued_at: timedelta | None = None,
    issuer: str | None = None,
    audience: Audience | None = None,
    subject: str | None = None,
    jti: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The payload for a new token.

    Precedence, lowest first: defaults and computed claims (``iat``, ``exp``
    from ``lifetime``, ``nbf`` from ``not_before``, a random ``jti``), then the
    ``claims`` dictionary, then the explicit ``issuer``, ``audience``,
    ``subject`` and ``jti``. An explicit empty string (or empty audience list)
    leaves that claim out. ``lifetime`` ``None`` uses the default lifetime.
    """
    now = now_timestamp() if now is None else now
    iat = now + seconds(issued_at)
    payload: dict[str, Any] = {"iat": iat}
    effective_lifetime = lifetime if lifetime is not None else defaults.lifetime
    if effective_lifetime is not None:
        payload["exp"] = iat + seconds(effective_lifetime)
    if not_before is not None:
        payload["nbf"] = now + seconds(not_before)
    payload["jti"] = uuid.uuid4().hex
    if defaults.issuer:
        payload["iss"] = defaults.issuer
    if defaults.audience:
        payload["aud"] = _audience_value(defaults.audience)
    payload.update(claims or {})
    for name, value in (("iss", issuer), ("sub", subject), ("jti", jti)):
        if value is None:
            continue
        if value == "":
            payload.pop(name, None)
        else:
            payload[name] = value
    if audience is not None:
        if len(audience) == 0:
            payload.pop("aud", None)
        else:
            payload["aud"] = _audience_value(audience)
    return payload


def build_headers(kid: str | None = None, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Extra JOSE header fields: ``kid`` when given, then ``headers``."""
    result: dict[str, Any] = {}
    if kid:
        result["kid"] = kid
    result.update(headers or {})
    return result


def encode(
    payload: dict[str, Any] | bytes,
    algorithm: Algorithm,
    key: Any,
    headers: dict[str, Any] | None = None,
) -> str:
    """Sign ``payload`` (claims, or raw bytes for deliberately odd payloads) with PyJWT.

    ``key`` must already be resolved (see :meth:`TokenDefaults.signing_key`).
    Warnings about short keys are silenced: test tokens may use weak keys on
    purpose.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            if isinstance(payload, bytes):
                return jwt.api_jws.encode(
                    payload, key, algorithm=algorithm.value, headers=headers or None
                )
            return jwt.encode(payload, key, algorithm=algorithm.value, headers=headers or None)
    except (jwt.exceptions.PyJWTError, TypeError, ValueError) as error:
        raise TokenCreationError(f"Cannot create a {algorithm} token: {error}") from None


def create_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
    **claim_options: Any,
) -> str:
    """Build the payload with :func:`build_claims` and sign it.

    ``claim_options`` are passed to :func:`build_claims`.
    """
    algorithm = algorithm or defaults.algorithm
    signing_key = defaults.signing_key(algorithm, key)
    payload = build_claims(claims, defaults, **claim_options)
    return encode(payload, algorithm, signing_key, build_headers(kid, headers))
