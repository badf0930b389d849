"""Keywords that create valid tokens and manage the token defaults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from robotlibcore import keyword

from .. import tokens
from ..algorithms import Algorithm
from .base import LibraryComponent

#: Type of a Set Token Defaults argument that ``${EMPTY}`` clears.
Clearable = Literal[""]


class TokenKeywords(LibraryComponent):
    """Create Token and the token defaults."""

    @keyword(tags=("tokens",))
    def create_token(
        self,
        claims: dict[str, Any] | None = None,
        algorithm: Algorithm | None = None,
        key: str | None = None,
        lifetime: timedelta | None = None,
        not_before: timedelta | None = None,
        issued_at: timedelta | None = None,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        subject: str | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        jti: str | None = None,
    ) -> str:
        """Creates a signed JWT and returns it as a string.

        ``claims`` is a dictionary of claims (a ``&{dict}``, ``${dict}`` or
        JSON text). The other arguments are options; those not given come
        from the library defaults (see `Importing` and `Set Token Defaults`):

        - ``algorithm``: signing algorithm, e.g. ``HS256``, ``RS256``,
          ``ES256``, ``EdDSA`` or ``none``.
        - ``key``: a secret string for ``HS*``; a PEM private key, or the
          path of a PEM file, for the other algorithms.
        - ``lifetime``: sets ``exp`` to ``iat`` plus this duration, e.g.
          ``5 min``. Use `Create Token Without Claim` for a token without ``exp``.
        - ``not_before``: sets ``nbf`` to now plus this offset; may be
          negative, e.g. ``-10 s``.
        - ``issued_at``: offset of ``iat`` from now (default ``0 s``);
          ``exp`` follows it.
        - ``issuer``, ``audience`` (a string or a list), ``subject``: set
          ``iss``, ``aud`` and ``sub``. ``${EMPTY}`` leaves the claim out
          even if a default is set.
        - ``kid`` and ``headers``: extra header fields.
        - ``jti``: token id; a random one is generated unless given.

        Claims in ``claims`` override the computed and default ones; the
        explicit ``issuer``, ``audience``, ``subject`` and ``jti`` override
        ``claims``.

        The token is logged masked unless the log level is DEBUG or TRACE.

        | =Result= | =Keyword= | =Arguments= |
        | ${token} = | `Create Token` | {"sub": "alice", "role": "admin"} |
        | ${token} = | `Create Token` | ${claims} | lifetime=5 min | audience=chat-api |
        | ${token} = | `Create Token` | ${claims} | algorithm=RS256 | key=${CURDIR}/rs256.pem |
        | ${token} = | `Create Token` | subject=bob | not_before=-10 s | kid=key-1 |
        """
        algorithm = algorithm or self.defaults.algorithm
        token = tokens.create_token(
            claims,
            self.defaults,
            algorithm=algorithm,
            key=key,
            kid=kid,
            headers=headers,
            lifetime=lifetime,
            not_before=not_before,
            issued_at=issued_at,
            issuer=issuer,
            audience=audience,
            subject=subject,
            jti=jti,
        )
        self.log(f"Created {algorithm} token {token}")
        return token

    @keyword(tags=("tokens",))
    def set_token_defaults(
        self,
        algorithm: Algorithm | None = None,
        secret: str | None = None,
        private_key: str | None = None,
        public_key: str | None = None,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        lifetime: timedelta | Clearable | None = None,
        leeway: timedelta | Clearable | None = None,
    ) -> dict[str, Any]:
        """Changes the defaults used to create and verify tokens; returns the previous ones.

        Arguments not given keep their value. ``${EMPTY}`` clears one:
        tokens then get no ``iss``, no ``aud``, or (for ``lifetime``) no
        ``exp``; a cleared ``leeway`` is ``0 s``. The arguments mean the same
        as in `Importing`.

        The returned dictionary has every default, cleared ones as empty
        strings, so passing it back restores them exactly:

        | =Result= | =Keyword= | =Arguments= |
        | ${previous} = | `Set Token Defaults` | issuer=other-issuer | lifetime=1 min |
        | ${token} = | `Create Token` | {"sub": "alice"} |
        |  | `Set Token Defaults` | &{previous} |
        """
        previous = self.get_token_defaults()
        changes: dict[str, Any] = {}
        given = {
            "algorithm": algorithm,
            "secret": secret,
            "private_key": private_key,
            "public_key": public_key,
            "issuer": issuer,
            "audience": audience,
            "lifetime": lifetime,
        }
        for name, value in given.items():
            if value is not None:
                changes[name] = None if value == "" else value
        if leeway is not None:
            changes["leeway"] = timedelta(0) if leeway == "" else leeway
        self.defaults = self.defaults.updated(**changes)
        self.log(f"Token defaults: {self._describe_defaults()}")
        return previous

    @keyword(tags=("tokens",))
    def get_token_defaults(self) -> dict[str, Any]:
        """Returns the current token defaults as a dictionary.

        Keys are the arguments of `Set Token Defaults`; unset values are
        empty strings.

        | =Result= | =Keyword= | =Arguments= |
        | ${defaults} = | `Get Token Defaults` |
        |  | Should Be Equal | ${defaults}[issuer] | auth.example.com |
        """
        return {
            name: "" if value is None else value for name, value in self.defaults.as_dict().items()
        }

    @keyword(tags=("tokens",))
    def reset_token_defaults(self) -> dict[str, Any]:
        """Restores the defaults given when the library was imported; returns the previous ones.

        | =Result= | =Keyword= |
        | ${previous} = | `Reset Token Defaults` |
        """
        previous = self.get_token_defaults()
        self.defaults = self.library.import_defaults
        self.log(f"Token defaults: {self._describe_defaults()}")
        return previous

    def _describe_defaults(self) -> str:
        parts = []
        for name, value in self.defaults.as_dict().items():
            if name in ("secret", "private_key", "public_key") and value is not None:
                parts.append(f"{name}={self.shown(value)}")
            elif isinstance(value, timedelta):
                parts.append(f"{name}={value.total_seconds():g} s")
            else:
                parts.append(f"{name}={value}")
        return ", ".join(parts)
