"""Deliberately broken tokens for negative testing.

Each function returns a token that a correct verifier must reject, and the
broken part is the only thing wrong with it: an expired token has a valid
signature, a token with a bad signature has valid claims, and so on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import timedelta
from enum import Enum
from typing import Any

from jwt.algorithms import get_default_algorithms

from .algorithms import Algorithm, KeyFamily
from .errors import KeyMaterialError, TokenCreationError
from .keys import (
    generate_key_pair,
    generate_secret,
    is_pem,
    key_family,
    public_key_of,
    resolve_key,
)
from .timeutils import seconds
from .tokens import TokenDefaults, build_claims, build_headers, create_token, encode

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
    #: Sign correctly, then keep only the first half of the signature bytes.
    TRUNCATED = "truncated"


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


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``; :class:`TokenCreationError` if it is not."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenCreationError(f"'{text[:20]}' is not base64url text.") from None


def _json_segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


#: HMAC digest of each ``HS*`` algorithm.
_HMAC_DIGESTS = {
    Algorithm.HS256: hashlib.sha256,
    Algorithm.HS384: hashlib.sha384,
    Algorithm.HS512: hashlib.sha512,
}

#: Bytes of the ``r`` and ``s`` halves of an ``ES*`` signature (RFC 7518 section 3.4).
_EC_COORDINATE_BYTES = {Algorithm.ES256: 32, Algorithm.ES384: 48, Algorithm.ES512: 66}


def _header(algorithm: Algorithm | str, extra: dict[str, Any]) -> dict[str, Any]:
    """The JOSE header PyJWT would write (``alg`` and ``typ``), then ``extra`` over it."""
    return {"alg": str(algorithm), "typ": "JWT", **extra}


def hmac_signed_token(
    header: dict[str, Any], payload: dict[str, Any], algorithm: Algorithm, secret: bytes
) -> str:
    """``header.payload.signature`` with an HMAC over the first two segments keyed by ``secret``.

    Done here rather than by PyJWT, which refuses a PEM key or an empty secret as HMAC key.
    """
    digest = _HMAC_DIGESTS.get(algorithm)
    if digest is None:
        raise TokenCreationError(f"Algorithm {algorithm} is not an HS* algorithm.")
    signing_input = f"{_json_segment(header)}.{_json_segment(payload)}"
    signature = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


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


def truncate_signature(token: str) -> str:
    """``token`` with only the first half of its signature bytes (rounded down) kept."""
    head, _, signature = token.rpartition(".")
    raw = b64url_decode(signature)
    if not head or len(raw) < 2:
        raise TokenCreationError("Cannot truncate the signature of a token that has none.")
    return f"{head}.{b64url(raw[: len(raw) // 2])}"


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
    if defect is SignatureDefect.TRUNCATED:
        return truncate_signature(token)
    return alter_signature(token)


def unsigned_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    alg: str = "none",
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
    signature: str = "",
) -> str:
    """A token with ``alg`` set to ``alg`` (``none`` by default) and an empty signature.

    ``alg`` may be a variant such as ``None`` or ``NONE`` to probe verifiers
    that compare case-sensitively. ``signature``, when given, is put into the
    signature segment as it is (base64url text, e.g. a real token's), for
    verifiers that skip the signature check when ``alg`` is ``none`` but
    refuse an empty one.
    """
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    header.update(build_headers(kid, headers))
    payload = build_claims(claims, defaults)
    return f"{_json_segment(header)}.{_json_segment(payload)}.{signature}"


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


def _confusion_key(public_key: str | os.PathLike[str] | None, defaults: TokenDefaults) -> str:
    """The PEM text the key-confusion token is keyed with: the public key a verifier holds."""
    given = public_key
    if given is None:
        given = defaults.public_key or defaults.private_key
    if given is None:
        return generate_key_pair(Algorithm.RS256).public_key
    resolved = resolve_key(given)
    if not is_pem(resolved):
        raise KeyMaterialError(
            "A key-confusion token is keyed with a PEM public key but got a "
            f"{len(resolved)}-character string that is not PEM."
        )
    # The bytes are the HMAC key: a public key PEM is kept byte for byte (after checking it
    # loads); a private key or certificate stands for its public key PEM.
    if "PUBLIC KEY" in resolved.lstrip().split("\n", 1)[0]:
        key_family(resolved)
        return resolved
    return public_key_of(resolved)


def key_confusion_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    public_key: str | os.PathLike[str] | None = None,
    algorithm: Algorithm = Algorithm.HS256,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """An ``HS*`` token whose HMAC key is the text of an RSA or EC public key PEM.

    This is the algorithm confusion attack: a verifier that takes ``alg`` from the
    token and its public key as the HMAC secret accepts it. ``public_key`` is the
    PEM text or file (a private key stands for its public key, PEM-encoded as
    SubjectPublicKeyInfo); by default the default public key, else the public part
    of the default private key, else a fresh RSA public key.
    """
    secret = _confusion_key(public_key, defaults).encode("utf-8")
    header = _header(algorithm, build_headers(kid, headers))
    return hmac_signed_token(header, build_claims(claims, defaults), algorithm, secret)


def empty_key_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    algorithm: Algorithm = Algorithm.HS256,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """An ``HS*`` token correctly signed with the empty HMAC key ``b""``.

    A verifier that falls back to an empty secret (an unset setting) accepts it.
    """
    header = _header(algorithm, build_headers(kid, headers))
    return hmac_signed_token(header, build_claims(claims, defaults), algorithm, b"")


def psychic_signature_token(
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    algorithm: Algorithm = Algorithm.ES256,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """An ``ES*`` token whose signature is ``r = s = 0``: all zero bytes (CVE-2022-21449).

    A verifier that does not check ``0 < r, s < n`` accepts it for any key and payload.
    """
    size = _EC_COORDINATE_BYTES.get(algorithm)
    if size is None:
        raise TokenCreationError(f"Algorithm {algorithm} is not an ES* algorithm.")
    header = _header(algorithm, build_headers(kid, headers))
    payload = build_claims(claims, defaults)
    return f"{_json_segment(header)}.{_json_segment(payload)}.{b64url(bytes(2 * size))}"


def tamper_payload(token: str, changes: dict[str, Any]) -> str:
    """``token`` with ``changes`` applied to its claims and its header and signature kept.

    A change to ``None`` removes that claim. The changed payload is written as PyJWT
    writes one (compact JSON, claim order kept). Refused when the changes leave the
    payload as it was: the token would still verify.
    """
    parts = token.split(".")
    if len(parts) != 3 or not parts[2]:
        raise TokenCreationError(
            "Only a signed token (header.payload.signature) can be tampered with."
        )
    header, payload_segment, signature = parts
    try:
        payload = json.loads(b64url_decode(payload_segment))
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise TokenCreationError("The token's payload is not a JSON object.")
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    tampered = _json_segment(payload)
    if tampered == payload_segment:
        raise TokenCreationError("The changes leave the payload as it was; nothing to tamper.")
    return f"{header}.{tampered}.{signature}"


def tampered_payload_token(
    changes: dict[str, Any],
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    token: str | None = None,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """``token`` (default: a new correctly signed one from ``claims``) with its payload changed.

    See :func:`tamper_payload`.
    """
    if token is None:
        token = create_token(
            claims, defaults, algorithm=algorithm, key=key, kid=kid, headers=headers
        )
    return tamper_payload(token, changes)


def token_with_headers(
    headers: dict[str, Any],
    claims: dict[str, Any] | None,
    defaults: TokenDefaults,
    *,
    algorithm: Algorithm | None = None,
    key: str | os.PathLike[str] | None = None,
) -> str:
    """A correctly signed token whose header has ``headers`` as given, of any JSON type.

    PyJWT refuses to write a ``kid`` that is not a string (it checks ``crit`` only when
    decoding), so the header is written here and signed with PyJWT's algorithm. ``headers`` may
    override ``typ`` and even ``alg``; the token is signed with ``algorithm`` anyway.
    """
    algorithm = algorithm or defaults.algorithm
    header = _header(algorithm, headers)
    payload = build_claims(claims, defaults)
    signing_input = f"{_json_segment(header)}.{_json_segment(payload)}"
    if algorithm is Algorithm.NONE:
        return f"{signing_input}."
    signer = get_default_algorithms()[algorithm.value]
    prepared = signer.prepare_key(defaults.signing_key(algorithm, key))
    return f"{signing_input}.{b64url(signer.sign(signing_input.encode('ascii'), prepared))}"
