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
        | ``TRUNCATED`` | signed with the real key, then half the signature bytes cut off |

        With ``ALTERED``, ``STRIPPED`` and ``TRUNCATED``, ``key`` is the real
        key (default: the library default).

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token With Bad Signature` | {"sub": "alice"} |
        | ${token} = | `Create Token With Bad Signature` | ${claims} | defect=WRONG_KEY |
        | ${token} = | `Create Token With Bad Signature` | ${claims} | defect=TRUNCATED |
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
        signature: str = "",
    ) -> str:
        """Creates a token with header ``alg`` set to ``none`` and an empty signature.

        ``alg`` may be another spelling, such as ``None`` or ``NONE``, to
        probe verifiers that compare it case-sensitively. ``signature``, when
        given, goes into the signature segment as it is (base64url text), to
        probe verifiers that refuse ``alg: none`` only when the signature is
        empty. Claims are built as in `Create Token`, with the defaults.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Unsigned Token` | {"sub": "admin"} |
        | ${token} = | `Create Unsigned Token` | {"sub": "admin"} | alg=NONE |
        | ${signature} = | Evaluate | $issued.rsplit(".", 1)[1] |
        | ${token} = | `Create Unsigned Token` | {"sub": "admin"} | signature=${signature} |
        """
        token = forgery.unsigned_token(
            claims, self.defaults, alg=alg, kid=kid, headers=headers, signature=signature
        )
        attached = " with a signature" if signature else ""
        self.log(f"Created unsigned token (alg {alg!r}){attached}: {token}")
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

    @keyword(tags=("tokens", "forgery"))
    def create_key_confusion_token(
        self,
        claims: dict[str, Any] | None = None,
        public_key: str | None = None,
        algorithm: Algorithm = Algorithm.HS256,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates an ``HS256`` token whose HMAC secret is the text of a PEM public key.

        This is the algorithm confusion attack on services that sign with
        ``RS*`` or ``ES*``: a verifier that takes the algorithm from the
        token and uses its public key as the HMAC secret accepts the token.

        ``public_key`` is a PEM public key or the path of a PEM file; its
        text is the secret byte for byte. A private key or certificate
        stands for its public key, written as a standard ``PUBLIC KEY``
        PEM. By default, the default public key is used, else the public
        part of the default private key, else (for an ``HS*`` service,
        which has no public key) a fresh RSA public key. ``algorithm`` may
        be ``HS384`` or ``HS512`` instead. Claims are built as in
        `Create Token`.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Key Confusion Token` | {"sub": "alice"} |
        | ${token} = | `Create Key Confusion Token` | ${claims} | public_key=${CURDIR}/rs.pub.pem |
        """
        token = forgery.key_confusion_token(
            claims,
            self.defaults,
            public_key=public_key,
            algorithm=algorithm,
            kid=kid,
            headers=headers,
        )
        self.log(f"Created {algorithm} token keyed with a public key PEM: {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_token_with_tampered_payload(
        self,
        changes: dict[str, Any],
        token: str | None = None,
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm | None = None,
        key: str | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Applies ``changes`` to the claims of a correctly signed token and keeps its signature.

        ``token`` is the signed token to tamper with, such as one the
        service issued; by default a new one is created from ``claims``
        and the other arguments as in `Create Token`. A change to ``None``
        removes that claim. The header and signature stay exactly as they
        were; changes that leave the payload as it was are an error.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token With Tampered Payload` | {"sub": "admin"} | claims=${claims} |
        | ${token} = | `Create Token With Tampered Payload` | {"roles": ["admin"]} | ${issued} |
        | ${token} = | `Create Token With Tampered Payload` | {"exp": null} | token=${issued} |
        """
        tampered = forgery.tampered_payload_token(
            changes,
            claims,
            self.defaults,
            token=token,
            algorithm=algorithm,
            key=key,
            kid=kid,
            headers=headers,
        )
        names = ", ".join(sorted(changes))
        self.log(f"Created token with claims {names} changed after signing: {tampered}")
        return tampered

    @keyword(tags=("tokens", "forgery"))
    def create_psychic_signature_token(
        self,
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm = Algorithm.ES256,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates an ``ES256`` token whose signature is ``r = s = 0``, all zero bytes.

        This is the "psychic signature" of CVE-2022-21449: a verifier that
        does not check that ``r`` and ``s`` lie between 1 and the curve order
        accepts it for any key. ``algorithm`` may be ``ES384`` or ``ES512``
        instead (96 and 132 zero bytes). Claims are built as in `Create Token`;
        no key is needed.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Psychic Signature Token` | {"sub": "admin"} |
        | ${token} = | `Create Psychic Signature Token` | ${claims} | kid=${service_kid} |
        """
        token = forgery.psychic_signature_token(
            claims, self.defaults, algorithm=algorithm, kid=kid, headers=headers
        )
        self.log(f"Created {algorithm} token with an all-zero signature: {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_token_with_empty_key(
        self,
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm = Algorithm.HS256,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Creates an ``HS256`` token correctly signed with an empty HMAC secret.

        A service whose secret is unset and falls back to the empty string
        accepts it. ``algorithm`` may be ``HS384`` or ``HS512`` instead.
        Claims are built as in `Create Token`.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token With Empty Key` | {"sub": "admin"} |
        | ${token} = | `Create Token With Empty Key` | ${claims} | algorithm=HS512 |
        """
        token = forgery.empty_key_token(
            claims, self.defaults, algorithm=algorithm, kid=kid, headers=headers
        )
        self.log(f"Created {algorithm} token signed with an empty secret: {token}")
        return token

    @keyword(tags=("tokens", "forgery"))
    def create_token_with_headers(
        self,
        headers: dict[str, Any],
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm | None = None,
        key: str | None = None,
    ) -> str:
        """Creates a correctly signed token with ``headers`` in its header, of any JSON type.

        Any header name may have any JSON value: a ``kid`` that is a
        number, ``null`` or an object (the ``headers`` argument of
        `Create Token` refuses a ``kid`` that is not a string, though it
        passes any ``crit`` through), a ``crit`` naming unknown extensions
        or not being a list, even another ``alg`` or ``typ`` than the token
        is signed with. The token is signed with ``algorithm`` and ``key``
        as in `Create Token`.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token With Headers` | {"crit": ["exp"]} | claims=${claims} |
        | ${token} = | `Create Token With Headers` | {"kid": 7} |
        | ${token} = | `Create Token With Headers` | {"kid": {"url": "https://evil.example"}} |
        """
        token = forgery.token_with_headers(
            headers, claims, self.defaults, algorithm=algorithm, key=key
        )
        names = ", ".join(sorted(headers))
        self.log(f"Created token with header fields {names} as given: {token}")
        return token
