"""Masking of JWTs and secrets in log text.

Plain functions with no Robot Framework imports, so other libraries of the
toolkit (and pytest) can use them directly::

    from AuthLibrary.masking import mask_tokens

    logger.info(mask_tokens(f"Sent frame {frame}"))
"""

from __future__ import annotations

import re

__all__ = [
    "CREDENTIAL_FIELD_PATTERN",
    "CREDENTIAL_HEADER_PATTERN",
    "CREDENTIAL_QUERY_PATTERN",
    "JWT_PATTERN",
    "PRIVATE_KEY_PATTERN",
    "REVEALING_LOG_LEVELS",
    "mask_credentials",
    "mask_secret",
    "mask_token",
    "mask_tokens",
    "reveals_secrets",
]

#: A JWT-looking substring: three base64url segments, the first starting with
#: ``eyJ`` (base64url of ``{"``). The signature may be empty (``alg: none``).
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

#: ``name=value`` in a URL query whose name says it carries a credential.
CREDENTIAL_QUERY_PATTERN = re.compile(
    r"(?i)([?&][\w.-]*(?:token|secret|password|passwd|api[_-]?key|apikey|auth|signature|sig)"
    r"[\w.-]*=)([^&#\s'\"|)<(][^&#\s'\"|)<]*)"
)

#: ``Name: value`` of a header that carries a credential. ``Authorization`` keeps its scheme.
CREDENTIAL_HEADER_PATTERN = re.compile(
    r"(?i)\b((?:proxy-)?authorization:\s*(?:(?:bearer|basic|digest|token)\s+)?"
    r"|(?:set-)?cookie:\s*"
    r"|[\w-]*(?:token|secret|password|api-?key)[\w-]*:\s*)([^|\r\n'\"<]*[^|\s'\"<])"
)

#: The value of a field, key or variable whose name says it is a password or a secret, as
#: Robot and Python write them: ``password=pw`` (a logged dictionary), ``"password": "pw"``
#: (JSON, a request body), ``'jwt_secret': 's'`` (a Python dict), ``${JWT_SECRET} = s``
#: (a variable assignment).
CREDENTIAL_FIELD_PATTERN = re.compile(
    r"(?i)([\w-]*(?:password|passwd|secret)[\w-]*['\"]?}?\s*[=:]\s*['\"]?)"
    r"([^'\"\s|,}\]&<>(][^'\"\s|,}\]&<>]*)"
)

#: A PEM private key, whole or cut short (Robot Framework shortens logged values).
PRIVATE_KEY_PATTERN = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)[A-Za-z0-9+/=\s\\]+(?:-----END [A-Z ]*PRIVATE KEY-----)?"
)

#: Log levels at which secrets are shown in full.
REVEALING_LOG_LEVELS = frozenset({"TRACE", "DEBUG"})

_TOKEN_PREFIX_LENGTH = 10


def mask_token(token: str) -> str:
    """Return ``token`` shortened to its first characters and its length.

    >>> mask_token("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln")
    'eyJhbGciOi…(masked, 41 chars)'

    The first ten characters of a JWT are the start of its header, which is
    not secret.
    """
    return f"{token[:_TOKEN_PREFIX_LENGTH]}…(masked, {len(token)} chars)"


def mask_tokens(text: str) -> str:
    """Mask every JWT-looking substring of ``text`` with :func:`mask_token`."""
    return JWT_PATTERN.sub(lambda match: mask_token(match.group(0)), text)


def mask_credentials(text: str) -> str:
    """Mask private keys, credential query parameters, header and field values, and JWTs.

    >>> mask_credentials("GET /ws?access_token=abc123&room=1 | X-Api-Key: k3y")
    'GET /ws?access_token=(masked)&room=1 | X-Api-Key: (masked)'
    """
    # Named credentials first, whole; then JWTs wherever else they appear.
    text = PRIVATE_KEY_PATTERN.sub(r"\1(masked)", text)
    text = CREDENTIAL_QUERY_PATTERN.sub(r"\1(masked)", text)
    text = CREDENTIAL_HEADER_PATTERN.sub(r"\1(masked)", text)
    text = CREDENTIAL_FIELD_PATTERN.sub(r"\1(masked)", text)
    return mask_tokens(text)


def mask_secret(secret: str) -> str:
    """Mask a secret or a key, keeping only what is not secret.

    A PEM key keeps its ``-----BEGIN ...-----`` line; a JWT keeps its first
    characters; any other secret shows only its length.
    """
    stripped = secret.strip()
    if stripped.startswith("-----BEGIN"):
        first_line = stripped.splitlines()[0]
        return f"{first_line}…(masked, {len(secret)} chars)"
    if JWT_PATTERN.fullmatch(stripped):
        return mask_token(secret)
    return f"…(masked, {len(secret)} chars)"


def reveals_secrets(log_level: str | None) -> bool:
    """Tell whether secrets may be logged in full at ``log_level``.

    Only ``DEBUG`` and ``TRACE`` reveal. ``None`` (not running inside Robot
    Framework, or the level is unknown) never reveals.
    """
    if not log_level:
        return False
    return log_level.strip().upper() in REVEALING_LOG_LEVELS
