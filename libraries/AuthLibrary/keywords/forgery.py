"""Keywords that create deliberately bad tokens for negative testing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robotlibcore import keyword

from .. import forgery
from ..algorithms import Algorithm
from ..forgery import MalformedKind, SignatureDefect
from ..timeutils import format_duration
from .base import LibraryComponent


class ForgeryKeywords(LibraryComponent):
    """Tokens that a correct service must reject, each broken in exactly one way."""

    @keyword(tags=("tokens", "forgery"))
    def create_expired_token(
        self,
        claims: dict[str, Any] | None = None,
        expired_by: timedelta = timedelta(minutes=1),
        lifetime: timedelta | None = None,
        algorithm: Algorithm | None = None,
        key: str | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates a correctly signed token whose ``exp`` is ``expired_by`` in the past.

        ``iat`` is one ``lifetime`` (default: the default lifetime, or 15
        minutes when that is unset) before ``exp``. Other arguments are as in
        `Create Token`; issuer and audience come from the defaults or ``claims``.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Expired Token` | {"sub": "alice"} |
        | ${token} = | `Create Expired Token` | ${claims} | expired_by=2 h |
        |  | `Token Should Be Expired` | ${token} |
        """
        token = forgery.expired_token(
            claims,
            self.defaults,
            expired_by=expired_by,
            lifetime=lifetime,
            algorithm=algorithm,
            key=key,
            kid=kid,
            headers=headers,
        )
        self.log(f"Created token expired {format_duration(expired_by)} ago: {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_token_with_bad_signature(
        self,
        claims: dict[str, Any] | None = None,
        defect: SignatureDefect = SignatureDefect.ALTERED,
        algorithm: Algorithm | None = None,
        key: str | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates a token with valid claims whose signature does not verify.

        ``defect`` says how the signature is broken:

        | =Defect= | =Token= |
        | ``ALTERED`` | signed with the real key, then one signature character changed |
        | ``WRONG_KEY`` | signed with ``key``, or a fresh secret or key pair if not given |
        | ``STRIPPED`` | header and payload kept, signature segment empty |

        With ``ALTERED`` and ``STRIPPED``, ``key`` is the real key (default:
        the library default).

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token With Bad Signature` | {"sub": "alice"} |
        | ${token} = | `Create Token With Bad Signature` | ${claims} | defect=WRONG_KEY |
        """
        token = forgery.bad_signature_token(
            claims,
            self.defaults,
            defect=defect,
            algorithm=algorithm,
            key=key,
            kid=kid,
            headers=headers,
        )
        self.log(f"Created token with {defect.value} signature: {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_unsigned_token(
        self,
        claims: dict[str, Any] | None = None,
        alg: str = "none",
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates a token with header ``alg`` set to ``none`` and an empty signature.

        ``alg`` may be another spelling, such as ``None`` or ``NONE``, to
        probe verifiers that compare it case-sensitively. Claims are built as
        in `Create Token`, with the defaults.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Unsigned Token` | {"sub": "admin"} |
        | ${token} = | `Create Unsigned Token` | {"sub": "admin"} | alg=NONE |
        """
        token = forgery.unsigned_token(claims, self.defaults, alg=alg, kid=kid, headers=headers)
        self.log(f"Created unsigned token (alg {alg!r}): {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_malformed_token(
        self,
        kind: MalformedKind = MalformedKind.NOT_THREE_SEGMENTS,
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm | None = None,
        key: str | None = None,
    ) -> str:
        """Creates a token whose structure is broken in the way ``kind`` says.

        | =Kind= | =Token= |
        | ``NOT_THREE_SEGMENTS`` | ``header.payload``, the signature segment missing |
        | ``BAD_BASE64`` | characters outside base64url inside the header segment |
        | ``HEADER_NOT_JSON`` | header segment decodes to text that is not JSON |
        | ``PAYLOAD_NOT_JSON`` | correctly signed, but the payload is not JSON |
        | ``PAYLOAD_NOT_OBJECT`` | correctly signed, but the payload is a JSON array |
        | ``EMPTY`` | the empty string |

        The parts not broken are valid, signed with ``key`` or the default key.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Malformed Token` | BAD_BASE64 |
        | ${token} = | `Create Malformed Token` | header not JSON |
        """
        token = forgery.malformed_token(kind, claims, self.defaults, algorithm=algorithm, key=key)
        self.log(f"Created malformed token ({kind.value}): {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_token_without_claim(
        self,
        claim: str,
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm | None = None,
        key: str | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates a correctly signed token like `Create Token` does, but without ``claim``.

        Works for computed claims (``exp``, ``iat``, ``jti``), defaults
        (``iss``, ``aud``) and claims in ``claims`` alike. A token without
        ``exp`` never expires.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token Without Claim` | exp |
        | ${token} = | `Create Token Without Claim` | sub | {"sub": "alice"} |
        """
        token = forgery.token_without_claim(
            claim,
            claims,
            self.defaults,
            algorithm=algorithm,
            key=key,
            kid=kid,
            headers=headers,
        )
        self.log(f"Created token without claim '{claim}': {token}")
        return token
