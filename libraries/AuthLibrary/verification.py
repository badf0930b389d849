"""Decoding and verifying tokens, with failures explained in plain sentences."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import jwt

from .algorithms import Algorithm
from .errors import Reason, TokenAssertionError, TokenVerificationError
from .masking import mask_token
from .timeutils import format_duration, format_timestamp, now_timestamp, seconds
from .tokens import InsecureKeyLengthWarning

_MISSING = object()


def _segment_count(token: str) -> int:
    return len(token.split(".")) if token else 0


def _malformed(token: str, error: Exception) -> TokenVerificationError:
    detail = str(error)
    if detail == "Not enough segments" or not token:
        count = _segment_count(token)
        detail = (
            "it should have three dot-separated segments (header.payload.signature) "
            f"but has {count}"
        )
    elif "padding" in detail:
        part = detail.split()[1] if len(detail.split()) > 1 else "a"
        detail = f"the {part} segment is not valid base64url"
    elif detail.startswith("Invalid header string"):
        detail = "the header is not a JSON object" + _after_colon(detail)
    elif detail.startswith("Invalid payload string"):
        detail = "the payload is not a JSON object" + _after_colon(detail)
    return TokenVerificationError(f"Token is malformed: {detail}.", Reason.MALFORMED)


def _after_colon(detail: str) -> str:
    _, _, rest = detail.partition(": ")
    return f" ({rest})" if rest and "must be a json object" not in rest else ""


def get_header(token: str) -> dict[str, Any]:
    """The token's JOSE header, without verifying anything."""
    try:
        return jwt.get_unverified_header(token)
    # Not only DecodeError: a kid that is not a string or a bad crit raises InvalidTokenError.
    except jwt.exceptions.InvalidTokenError as error:
        raise _malformed(token, error) from None


def decode_unverified(token: str) -> dict[str, Any]:
    """The token's claims, without verifying the signature or any claim."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.exceptions.InvalidTokenError as error:
        raise _malformed(token, error) from None


def _claims_or_empty(token: str) -> dict[str, Any]:
    try:
        return decode_unverified(token)
    except TokenVerificationError:
        return {}


def _describe(
    error: Exception,
    token: str,
    *,
    algorithms: Sequence[Algorithm],
    audience: str | Sequence[str] | None,
    issuer: str | Sequence[str] | None,
    subject: str | None,
    leeway: timedelta,
) -> TokenVerificationError:
    """Turn a PyJWT exception into a plain sentence with what was expected and found."""
    exc = jwt.exceptions
    claims = _claims_or_empty(token)
    leeway_text = f"leeway {format_duration(leeway)}"
    now = now_timestamp()
    if isinstance(error, exc.InvalidSignatureError):
        alg = get_header(token).get("alg")
        return TokenVerificationError(
            f"Token signature is invalid: the {alg} signature does not verify with the key used.",
            Reason.BAD_SIGNATURE,
        )
    if isinstance(error, exc.InvalidAlgorithmError):
        alg = get_header(token).get("alg")
        allowed = ", ".join(str(a) for a in algorithms)
        allowed = f"one of {allowed}" if len(algorithms) > 1 else allowed
        found = "the header has no 'alg'" if alg is None else f"it is {alg!r}"
        return TokenVerificationError(
            f"Token algorithm is not allowed: expected {allowed} but {found}.",
            Reason.ALGORITHM_NOT_ALLOWED,
        )
    if isinstance(error, exc.InvalidKeyError):
        alg = get_header(token).get("alg")
        return TokenVerificationError(
            f"The key given cannot verify a {alg} token: {error}", Reason.KEY_NOT_USABLE
        )
    if isinstance(error, exc.ExpiredSignatureError):
        exp = claims.get("exp", 0)
        return TokenVerificationError(
            f"Token is expired: exp {format_timestamp(exp)} is "
            f"{format_duration(now - exp)} in the past ({leeway_text}).",
            Reason.EXPIRED,
        )
    if isinstance(error, exc.ImmatureSignatureError):
        name = "iat" if "(iat)" in str(error) else "nbf"
        value = claims.get(name, 0)
        return TokenVerificationError(
            f"Token is not yet valid: {name} {format_timestamp(value)} is "
            f"{format_duration(value - now)} in the future ({leeway_text}).",
            Reason.NOT_YET_VALID,
        )
    if isinstance(error, exc.MissingRequiredClaimError):
        if error.claim == "aud" and audience is not None:
            return TokenVerificationError(
                f"Token has no 'aud' claim but audience {_show(audience)} was expected.",
                Reason.WRONG_AUDIENCE,
            )
        if error.claim == "iss" and issuer is not None:
            return TokenVerificationError(
                f"Token has no 'iss' claim but issuer {_show(issuer)} was expected.",
                Reason.WRONG_ISSUER,
            )
        return TokenVerificationError(
            f"Token is missing the required claim '{error.claim}'.", Reason.MISSING_CLAIM
        )
    if isinstance(error, exc.InvalidAudienceError):
        found = claims.get("aud")
        if audience is None:
            return TokenVerificationError(
                f"Token has audience {_show(found)} but no audience was expected; "
                "pass audience=... or set a default audience.",
                Reason.WRONG_AUDIENCE,
            )
        return TokenVerificationError(
            f"Token audience should be {_show(audience)} but it is {_show(found)}.",
            Reason.WRONG_AUDIENCE,
        )
    if isinstance(error, exc.InvalidIssuerError):
        return TokenVerificationError(
            f"Token issuer should be {_show(issuer)} but it is {_show(claims.get('iss'))}.",
            Reason.WRONG_ISSUER,
        )
    if isinstance(error, exc.InvalidSubjectError):
        return TokenVerificationError(
            f"Token subject should be {_show(subject)} but it is {_show(claims.get('sub'))}.",
            Reason.WRONG_SUBJECT,
        )
    if isinstance(error, exc.DecodeError) and not claims and _segment_count(token) != 3:
        return _malformed(token, error)
    if isinstance(error, exc.DecodeError) and str(error).startswith("Invalid"):
        return _malformed(token, error)
    try:  # PyJWT refuses a bad kid or crit header with a plain InvalidTokenError.
        get_header(token)
    except TokenVerificationError as malformed:
        return malformed
    return TokenVerificationError(f"Token has an invalid claim: {error}", Reason.INVALID_CLAIM)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(repr(item) for item in value) + "]"
    return repr(value)


def verify_token(
    token: str,
    key: str | None,
    algorithms: Sequence[Algorithm],
    *,
    audience: str | Sequence[str] | None = None,
    issuer: str | Sequence[str] | None = None,
    subject: str | None = None,
    leeway: timedelta = timedelta(0),
    required_claims: Sequence[str] = (),
) -> dict[str, Any]:
    """Verify signature and claims with PyJWT; return the claims.

    ``exp``, ``nbf`` and ``iat`` are checked when present; ``audience``,
    ``issuer`` and ``subject`` when given (a token with an ``aud`` claim
    fails when no audience is given). ``required_claims`` must be present.
    Raises :class:`TokenVerificationError` with a :class:`Reason`.
    """
    if not isinstance(token, str):
        raise TokenVerificationError(
            f"Token should be a string but it is {type(token).__name__}.", Reason.MALFORMED
        )
    if not algorithms:
        raise TokenVerificationError(
            "No algorithms are allowed, so no token can verify; pass algorithms=....",
            Reason.ALGORITHM_NOT_ALLOWED,
        )
    audience_arg: str | list[str] | None = (
        audience if audience is None or isinstance(audience, str) else list(audience)
    )
    issuer_arg: str | list[str] | None = (
        issuer if issuer is None or isinstance(issuer, str) else list(issuer)
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm.value for algorithm in algorithms],
                audience=audience_arg,
                issuer=issuer_arg,
                subject=subject,
                leeway=leeway,
                options={"require": list(required_claims)},
            )
    except (ValueError, TypeError) as error:
        # PyJWT hands key loading to cryptography, whose errors are not PyJWTErrors.
        names = ", ".join(algorithm.value for algorithm in algorithms)
        raise TokenVerificationError(
            f"The key given cannot verify a token with {names}: {error}", Reason.KEY_NOT_USABLE
        ) from None
    except jwt.exceptions.PyJWTError as error:
        raise _describe(
            error,
            token,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            subject=subject,
            leeway=leeway,
        ) from None


def check_expired(
    claims: dict[str, Any], leeway: timedelta = timedelta(0), now: int | None = None
) -> None:
    """Raise :class:`TokenAssertionError` unless ``exp`` is more than ``leeway`` in the past."""
    now = now_timestamp() if now is None else now
    exp = _numeric_exp(claims, "be expired")
    leeway_text = f"leeway {format_duration(leeway)}"
    if exp > now - seconds(leeway):
        when = "in the future" if exp > now else "in the past, within the leeway"
        raise TokenAssertionError(
            f"Token should be expired but exp {format_timestamp(exp)} is "
            f"{format_duration(exp - now)} {when} ({leeway_text})."
        )


def check_not_expired(
    claims: dict[str, Any], leeway: timedelta = timedelta(0), now: int | None = None
) -> None:
    """Raise :class:`TokenAssertionError` if ``exp`` is more than ``leeway`` in the past.

    A token without ``exp`` never expires, so it passes.
    """
    now = now_timestamp() if now is None else now
    if "exp" not in claims:
        return
    exp = _numeric_exp(claims, "not be expired")
    if exp <= now - seconds(leeway):
        raise TokenAssertionError(
            f"Token should not be expired but exp {format_timestamp(exp)} is "
            f"{format_duration(now - exp)} in the past (leeway {format_duration(leeway)})."
        )


def _numeric_exp(claims: dict[str, Any], expectation: str) -> int:
    value = claims.get("exp", _MISSING)
    if value is _MISSING:
        raise TokenAssertionError(f"Token should {expectation} but it has no 'exp' claim.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenAssertionError(
            f"Token should {expectation} but its 'exp' claim is {value!r}, not a number."
        )
    return int(value)


def claim_matches(actual: Any, expected: Any) -> bool:
    """True if ``actual`` equals ``expected``.

    A string ``expected`` also matches a non-string ``actual`` when it is the
    JSON text of that value, so ``42``, ``true`` and ``["a", "b"]`` written in
    Robot data match the number, boolean and list claims.
    """
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected and not isinstance(actual, bool) ^ isinstance(expected, bool)
    if isinstance(expected, str) and not isinstance(actual, str):
        try:
            parsed = json.loads(expected)
        except ValueError:
            return False
        return parsed == actual and type(parsed) is type(actual)
    return actual == expected


def check_claim(claims: dict[str, Any], claim: str, expected: Any) -> None:
    """Raise :class:`TokenAssertionError` unless ``claims[claim]`` matches ``expected``."""
    if claim not in claims:
        raise TokenAssertionError(
            f"Token claim '{claim}' should be {expected!r} but the token has no such claim; "
            f"it has {', '.join(sorted(claims)) or 'no claims'}."
        )
    actual = claims[claim]
    if not claim_matches(actual, expected):
        detail = f"{actual!r}"
        if repr(actual) == repr(expected) or str(actual) == str(expected):
            detail += f" ({type(actual).__name__}, expected {type(expected).__name__})"
        raise TokenAssertionError(
            f"Token claim '{claim}' should be {expected!r} but it is {detail}."
        )


def describe_token(token: str) -> str:
    """A masked, readable summary of a token: header, claims and times."""
    header = get_header(token)
    claims = decode_unverified(token)
    lines = [
        f"Token {mask_token(token)}",
        f"Header: {json.dumps(header, sort_keys=True)}",
        f"Claims: {json.dumps(claims, sort_keys=True, default=str)}",
    ]
    now = now_timestamp()
    for name in ("iat", "nbf", "exp"):
        value = claims.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            relation = "in the future" if value > now else "ago"
            lines.append(
                f"{name}: {format_timestamp(value)} ({format_duration(value - now)} {relation})"
            )
    return "\n".join(lines)
