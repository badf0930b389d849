"""Keywords that decode, inspect and verify tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from robotlibcore import keyword

from .. import verification
from ..algorithms import Algorithm
from ..errors import KeyMaterialError, Reason, TokenAssertionError, TokenVerificationError
from ..keys import algorithms_for_key
from .base import LibraryComponent

LogLevel = Literal["TRACE", "DEBUG", "INFO", "WARN"]


class VerificationKeywords(LibraryComponent):
    """Decoding without verification, verification, and assertions on tokens."""

    @keyword(tags=("verification",))
    def decode_token_without_verification(self, token: str) -> dict[str, Any]:
        """Returns the claims of ``token`` without checking its signature or any claim.

        Fails only if the token is malformed. Use `Verify Token` to trust them.

        | =Result= | =Keyword= | =Arguments= |
        | ${claims} = | `Decode Token Without Verification` | ${token} |
        |  | Should Be Equal | ${claims}[sub] | alice |
        """
        return verification.decode_unverified(token)

    @keyword(tags=("verification",))
    def get_token_header(self, token: str) -> dict[str, Any]:
        """Returns the JOSE header of ``token`` (``alg``, ``typ``, ``kid``...), unverified.

        | =Result= | =Keyword= | =Arguments= |
        | ${header} = | `Get Token Header` | ${token} |
        |  | Should Be Equal | ${header}[alg] | RS256 |
        """
        return verification.get_header(token)

    @keyword(tags=("verification",))
    def get_token_claim(self, token: str, claim: str) -> Any:
        """Returns one claim of ``token``, unverified; fails if the token has no such claim.

        | =Result= | =Keyword= | =Arguments= |
        | ${sub} = | `Get Token Claim` | ${token} | sub |
        """
        claims = verification.decode_unverified(token)
        if claim not in claims:
            raise TokenAssertionError(
                f"Token should have claim '{claim}' but it has only "
                f"{', '.join(sorted(claims)) or 'no claims'}."
            )
        return claims[claim]

    @keyword(tags=("verification",))
    def verify_token(
        self,
        token: str,
        key: str | None = None,
        algorithms: Algorithm | list[Algorithm] | None = None,
        audience: str | list[str] | None = None,
        issuer: str | list[str] | None = None,
        subject: str | None = None,
        leeway: timedelta | None = None,
        required_claims: list[str] | None = None,
    ) -> dict[str, Any]:
        """Verifies the signature and claims of ``token`` and returns its claims.

        Fails with the reason, e.g. ``Token is expired: exp
        2026-11-24T03:00:00Z is 42 s in the past (leeway 0 s).``

        - ``key``: the secret for ``HS*``; a PEM public key, certificate or
          private key (its public part is used), or the path of a PEM file,
          for the others. Default: the library's default secret or public key.
        - ``algorithms``: the allowed algorithms, one or a list. Default: the
          algorithms the key fits (``HS*`` for a secret, ``RS*``/``PS*`` for
          an RSA key...), never ``none``.
        - ``audience``, ``issuer``: expected ``aud`` (one of a list) and
          ``iss`` (one of a list). Default: the library defaults; ``${EMPTY}``
          expects none. A token with an ``aud`` claim fails when no audience
          is expected.
        - ``subject``: expected ``sub``.
        - ``leeway``: tolerance for ``exp``, ``nbf`` and ``iat``, e.g. ``30 s``.
        - ``required_claims``: claims that must be present, e.g. ``["exp", "sub"]``.

        | =Result= | =Keyword= | =Arguments= |
        | ${claims} = | `Verify Token` | ${token} |
        | ${claims} = | `Verify Token` | ${token} | key=${pair.public_key} | audience=chat-api |
        | ${claims} = | `Verify Token` | ${token} | algorithms=["RS256"] | leeway=10 s |
        | ${claims} = | `Verify Token` | ${token} | required_claims=["exp", "sub"] |
        """
        claims = self._verify(
            token, key, algorithms, audience, issuer, subject, leeway, required_claims
        )
        self.log(f"Token {token} is valid")
        return claims

    @keyword(tags=("verification",))
    def token_should_be_valid(
        self,
        token: str,
        key: str | None = None,
        algorithms: Algorithm | list[Algorithm] | None = None,
        audience: str | list[str] | None = None,
        issuer: str | list[str] | None = None,
        subject: str | None = None,
        leeway: timedelta | None = None,
        required_claims: list[str] | None = None,
    ) -> None:
        """Fails unless ``token`` verifies; arguments as in `Verify Token`.

        | =Keyword= | =Arguments= |
        | `Token Should Be Valid` | ${token} |
        | `Token Should Be Valid` | ${token} | key=${pair.public_key} |
        """
        self.verify_token(
            token, key, algorithms, audience, issuer, subject, leeway, required_claims
        )

    @keyword(tags=("verification",))
    def token_should_be_invalid(
        self,
        token: str,
        reason: Reason | None = None,
        key: str | None = None,
        algorithms: Algorithm | list[Algorithm] | None = None,
        audience: str | list[str] | None = None,
        issuer: str | list[str] | None = None,
        subject: str | None = None,
        leeway: timedelta | None = None,
        required_claims: list[str] | None = None,
    ) -> str:
        """Fails if ``token`` verifies; returns the reason it does not.

        With ``reason``, also fails if the token is rejected for another
        reason. Reasons: ``malformed``, ``bad signature``, ``algorithm not
        allowed``, ``key not usable``, ``expired``, ``not yet valid``,
        ``wrong audience``, ``wrong issuer``, ``wrong subject``,
        ``missing claim``, ``invalid claim``. Other arguments are as in
        `Verify Token`.

        | =Result= | =Keyword= | =Arguments= |
        | ${message} = | `Token Should Be Invalid` | ${token} |
        |  | `Token Should Be Invalid` | ${token} | reason=expired |
        |  | `Token Should Be Invalid` | ${token} | reason=missing claim | required_claims=["exp"] |
        """
        try:
            self._verify(token, key, algorithms, audience, issuer, subject, leeway, required_claims)
        except TokenVerificationError as error:
            if reason is not None and error.reason is not reason:
                raise TokenAssertionError(
                    f"Token should be invalid because of {reason.value} but it is rejected "
                    f"because of {error.reason.value}: {error}"
                ) from None
            self.log(f"Token {token} is invalid as expected: {error}")
            return str(error)
        expected = f" because of {reason.value}" if reason else ""
        raise TokenAssertionError(f"Token should be invalid{expected} but it verified.")

    @keyword(tags=("verification",))
    def token_should_be_expired(self, token: str, leeway: timedelta = timedelta(0)) -> None:
        """Fails unless the ``exp`` claim of ``token`` is more than ``leeway`` in the past.

        The signature is not checked. A token without ``exp`` fails.

        | =Keyword= | =Arguments= |
        | `Token Should Be Expired` | ${token} |
        | `Token Should Be Expired` | ${token} | leeway=30 s |
        """
        verification.check_expired(verification.decode_unverified(token), leeway)

    @keyword(tags=("verification",))
    def token_should_not_be_expired(self, token: str, leeway: timedelta = timedelta(0)) -> None:
        """Fails if the ``exp`` claim of ``token`` is more than ``leeway`` in the past.

        The signature is not checked. A token without ``exp`` passes.

        | =Keyword= | =Arguments= |
        | `Token Should Not Be Expired` | ${token} |
        """
        verification.check_not_expired(verification.decode_unverified(token), leeway)

    @keyword(tags=("verification",))
    def token_claim_should_be(self, token: str, claim: str, expected: Any) -> None:
        """Fails unless claim ``claim`` of ``token`` equals ``expected``; unverified.

        A string ``expected`` also matches a number, boolean, list or object
        claim whose JSON text it is, so ``42``, ``true`` and ``["a", "b"]``
        work as written. ``${42}`` and other typed values work too.

        | =Keyword= | =Arguments= |
        | `Token Claim Should Be` | ${token} | sub | alice |
        | `Token Claim Should Be` | ${token} | level | 3 |
        | `Token Claim Should Be` | ${token} | roles | ["admin"] |
        """
        verification.check_claim(verification.decode_unverified(token), claim, expected)

    @keyword(tags=("verification",))
    def token_should_have_claim(self, token: str, claim: str) -> None:
        """Fails unless ``token`` has claim ``claim`` (any value); unverified.

        | =Keyword= | =Arguments= |
        | `Token Should Have Claim` | ${token} | jti |
        """
        self.get_token_claim(token, claim)

    @keyword(tags=("verification",))
    def token_should_not_have_claim(self, token: str, claim: str) -> None:
        """Fails if ``token`` has claim ``claim``; unverified.

        | =Keyword= | =Arguments= |
        | `Token Should Not Have Claim` | ${token} | exp |
        """
        claims = verification.decode_unverified(token)
        if claim in claims:
            raise TokenAssertionError(
                f"Token should not have claim '{claim}' but it has it: {claims[claim]!r}."
            )

    @keyword(tags=("verification",))
    def log_token(self, token: str, level: LogLevel = "INFO") -> None:
        """Logs the header, claims and times of ``token``, unverified.

        The token itself is masked unless the log level is DEBUG or TRACE.

        | =Keyword= | =Arguments= |
        | `Log Token` | ${token} |
        | `Log Token` | ${token} | level=DEBUG |
        """
        self.log(verification.describe_token(token), level)

    def _verify(
        self,
        token: str,
        key: str | None,
        algorithms: Algorithm | list[Algorithm] | None,
        audience: str | list[str] | None,
        issuer: str | list[str] | None,
        subject: str | None,
        leeway: timedelta | None,
        required_claims: list[str] | None,
    ) -> dict[str, Any]:
        defaults = self.defaults
        allowed = [algorithms] if isinstance(algorithms, Algorithm) else algorithms
        if key is None and not allowed and defaults.algorithm is Algorithm.NONE:
            raise KeyMaterialError(
                "The default algorithm is none, so there is no default key to verify with; "
                "pass key=... and algorithms=...."
            )
        first = allowed[0] if allowed else None
        verification_key = defaults.verification_key(key, first)
        if not allowed:
            allowed = algorithms_for_key(verification_key)
        expected_audience = defaults.audience if audience is None else audience
        expected_issuer = defaults.issuer if issuer is None else issuer
        return verification.verify_token(
            token,
            verification_key,
            allowed,
            audience=expected_audience or None,
            issuer=expected_issuer or None,
            subject=subject,
            leeway=defaults.leeway if leeway is None else leeway,
            required_claims=required_claims or (),
        )
