"""Deliberately broken tokens for negative testing.

Each function returns a token that a correct verifier must reject, and the
broken part is the only thing wrong with it: an expired token has a valid
signature, a token with a bad signature has valid claims, and so on.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from enum import Enum
from typing import Any

from .algorithms import Algorithm, KeyFamily
from .errors import TokenCreationError
from .keys import generate_key_pair, generate_secret
from .timeutils import seconds
from .tokens import TokenDefaults, build_claims, build_headers, encode

#: Lifetime of an expired token when neither the call nor the defaults give one.
FALLBACK_LIFETIME = timedelta(minutes=15)


class SignatureDefect(Enum):
    """How :func:`bad_signature_token` breaks the signature."""

    #: Sign correctly, then change one character of the signature.
    ALTERED = "altered"
    #: Sign with a freshly generated key of the same kind instead of the real one.
    WRONG_KEY = "wrong key"
    #: Keep the ``alg`` header but leave the signature segment empty.
    STRIPPED = "stripped"


class MalformedKind(Enum):
    """The ways :func:`malformed_token` breaks a token's structure."""

    #: Only ``header.payload``: a segment is missing.
    NOT_THREE_SEGMENTS = "not three segments"
    #: The header segment contains characters that are not base64url.
    BAD_BASE64 = "bad base64"
    #: The header decodes, but to text that is not JSON.
    HEADER_NOT_JSON = "header not JSON"
    #: Correctly signed, but the payload is not JSON.
    PAYLOAD_NOT_JSON = "payload not JSON"
    #: Correctly signed, but the payload is a JSON array instead of an object.
    PAYLOAD_NOT_OBJECT = "payload not object"
    #: The empty string.
    EMPTY = "empty"


def b64url(data: bytes) -> str:
    """Unpadded base64url text of ``data``, as used in JWTs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def expired_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    expired_by: timedelta = timedelta(minutes=1),
    lifetime: timedelta | None = None,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """A correctly signed token whose ``exp`` is ``expired_by`` in the past.

    ``iat`` is one ``lifetime`` before ``exp``.
    """
    if seconds(expired_by) <= 0:
        raise TokenCreationError(
            f"expired_by should be a positive duration but was {expired_by.total_seconds():g} s."
        )
    effective = lifetime or defaults.lifetime or FALLBACK_LIFETIME
    algorithm = algorithm or defaults.algorithm
    signing_key = defaults.signing_key(algorithm, key)
    payload = build_claims(
        claims, defaults, lifetime=effective, issued_at=-(expired_by + effective)
    )
    return encode(payload, algorithm, signing_key, build_headers(kid, headers))


def alter_signature(token: str) -> str:
    """``token`` with the first signature character changed.

    The first character is used because all six of its bits are part of the
    signature; the last one may carry only padding bits.
    """
    head, _, signature = token.rpartition(".")
    if not head or not signature:
        raise TokenCreationError("Cannot alter the signature of a token that has none.")
    replacement = "A" if signature[0] != "A" else "B"
    return f"{head}.{replacement}{signature[1:]}"


def bad_signature_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    defect: SignatureDefect = SignatureDefect.ALTERED,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """A token with valid claims whose signature does not verify.

    With :attr:`SignatureDefect.WRONG_KEY`, ``key`` is the wrong key to sign
    with; when it is not given a fresh secret or key pair is generated.
    Otherwise ``key`` is the real key (default: the library default).
    """
    algorithm = algorithm or defaults.algorithm
    if algorithm is Algorithm.NONE:
        raise TokenCreationError(
            "A token with algorithm none has no signature to break; use Create Unsigned Token."
        )
    payload = build_claims(claims, defaults)
    extra_headers = build_headers(kid, headers)
    if defect is SignatureDefect.WRONG_KEY:
        if key is not None:
            wrong_key: Any = defaults.signing_key(algorithm, key)
        elif algorithm.family is KeyFamily.HMAC:
            wrong_key = generate_secret(64)
        else:
            wrong_key = generate_key_pair(algorithm).private_key
        return encode(payload, algorithm, wrong_key, extra_headers)
    token = encode(payload, algorithm, defaults.signing_key(algorithm, key), extra_headers)
    if defect is SignatureDefect.STRIPPED:
        return token.rpartition(".")[0] + "."
    return alter_signature(token)


def unsigned_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    alg: str = "none",
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """A token with ``alg`` set to ``alg`` (``none`` by default) and an empty signature.

    ``alg`` may be a variant such as ``None`` or ``NONE`` to probe verifiers
    that compare case-sensitively.
    """
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    header.update(build_headers(kid, headers))
    payload = build_claims(claims, defaults)
    return f"{_json_segment(header)}.{_json_segment(payload)}."


def malformed_token(
    kind: MalformedKind,
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
) -> str:
    """A token broken in the way ``kind`` says; the other parts are valid."""
    if kind is MalformedKind.EMPTY:
        return ""
    algorithm = algorithm or defaults.algorithm
    signing_key = defaults.signing_key(algorithm, key)
    if kind is MalformedKind.PAYLOAD_NOT_JSON:
        return encode(b"this is not JSON", algorithm, signing_key)
    if kind is MalformedKind.PAYLOAD_NOT_OBJECT:
        return encode(b'["not", "an", "object"]', algorithm, signing_key)
    token = encode(build_claims(claims, defaults), algorithm, signing_key)
    header, payload, signature = token.split(".")
    if kind is MalformedKind.NOT_THREE_SEGMENTS:
        return f"{header}.{payload}"
    if kind is MalformedKind.BAD_BASE64:
        return f"{header[:8]}*!{header[8:]}.{payload}.{signature}"
    if kind is MalformedKind.HEADER_NOT_JSON:
        return f"{b64url(b'this is not JSON')}.{payload}.{signature}"
    raise TokenCreationError(f"Unknown kind of malformed token: {kind}.")  # pragma: no cover


def token_without_claim(
    claim: str,
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """A correctly signed token like :func:`tokens.create_token` makes, minus ``claim``."""
    algorithm = algorithm or defaults.algorithm
    signing_key = defaults.signing_key(algorithm, key)
    payload = build_claims(claims, defaults)
    payload.pop(claim, None)
    return encode(payload, algorithm, signing_key, build_headers(kid, headers))
