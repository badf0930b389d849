"""AuthLibrary: a Robot Framework library for creating, forging and verifying JWTs."""

from __future__ import annotations

from datetime import timedelta

from robotlibcore import DynamicCore

from .algorithms import Algorithm
from .errors import (
    AuthLibraryError,
    KeyMaterialError,
    Reason,
    TokenAssertionError,
    TokenCreationError,
    TokenVerificationError,
)
from .forgery import MalformedKind, SignatureDefect
from .keywords import ForgeryKeywords, KeyKeywords, TokenKeywords, VerificationKeywords
from .listener import MaskingListener
from .tokens import TokenDefaults

__version__ = "0.1.0"

__all__ = [
    "Algorithm",
    "AuthLibrary",
    "AuthLibraryError",
    "KeyMaterialError",
    "MalformedKind",
    "Reason",
    "SignatureDefect",
    "TokenAssertionError",
    "TokenCreationError",
    "TokenDefaults",
    "TokenVerificationError",
]


class AuthLibrary(DynamicCore):
    """AuthLibrary creates, forges, inspects and verifies JSON Web Tokens (JWTs).

    It wraps [https://pyjwt.readthedocs.io|PyJWT] for testing services that
    authenticate with JWTs, such as WebSocket services that take a token in
    the handshake.

    = Token defaults =

    Keywords that create or verify tokens take their algorithm, keys,
    issuer, audience, lifetime and leeway from the token defaults unless the
    call gives them. The defaults are set when `importing` the library and
    changed with `Set Token Defaults`:

    | =Setting= | =Value= | =Arguments= |
    | Library | AuthLibrary | secret=${SECRET} | issuer=auth.example.com | lifetime=15 min |

    = Keys =

    ``HS*`` algorithms sign and verify with a secret string, taken
    literally. The other algorithms sign with a PEM private key and verify
    with a PEM public key (a private key or certificate works too); wherever
    a PEM key is accepted, the path of a PEM file is accepted as well. See
    `Generate Key Pair` and `Generate Secret`.

    = Durations =

    Durations such as ``lifetime``, ``not_before``, ``expired_by`` and
    ``leeway`` use Robot Framework time format: ``5 min``, ``1 hour 30
    minutes``, ``90 s``, ``-10 s``.

    = Negative testing =

    `Create Expired Token`, `Create Token With Bad Signature`, `Create
    Unsigned Token`, `Create Malformed Token` and `Create Token Without
    Claim` create tokens broken in exactly one way. `Token Should Be
    Invalid` checks that a token is rejected, optionally for a given
    reason.

    Known attacks have their own keywords: `Create Key Confusion Token`
    (``HS256`` keyed with the service's public key PEM), `Create Token
    With Tampered Payload` (claims changed after signing), `Create
    Psychic Signature Token` (``ES256`` with ``r = s = 0``,
    CVE-2022-21449), `Create Token With Empty Key` and `Create Token With
    Headers` (any JSON value for ``kid``, ``crit`` or any other header).

    = Logging and secrets =

    Tokens and secrets are logged masked, such as
    ``eyJhbGciOi…(masked, 213 chars)``, unless the log level is ``DEBUG``
    or ``TRACE`` (for example ``robot --loglevel DEBUG``). Failure messages
    never contain whole tokens. While the library is imported with
    ``mask_log=True`` (the default), a listener also masks JWTs in every
    other log message, including the ``${token} = ...`` lines Robot
    Framework writes itself.
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(
        self,
        secret: str | None = None,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        algorithm: Algorithm = Algorithm.HS256,
        lifetime: timedelta | None = timedelta(minutes=15),
        private_key: str | None = None,
        public_key: str | None = None,
        leeway: timedelta = timedelta(0),
        mask_log: bool = True,
    ) -> None:
        """Sets the token defaults.

        - ``secret``: HMAC secret for ``HS*`` algorithms.
        - ``issuer``: ``iss`` of created tokens and expected issuer when verifying.
        - ``audience``: ``aud`` of created tokens (a string or a list) and
          expected audience when verifying.
        - ``algorithm``: signing algorithm, ``HS256`` by default.
        - ``lifetime``: time from ``iat`` to ``exp``, ``15 min`` by default;
          ``None`` creates tokens without ``exp``.
        - ``private_key``: PEM private key, or path of a PEM file, to sign
          ``RS*``, ``PS*``, ``ES*`` and ``EdDSA`` tokens.
        - ``public_key``: PEM public key, or path, to verify them. Defaults
          to the public part of ``private_key``.
        - ``leeway``: clock skew tolerated when verifying, ``0 s`` by default.
        - ``mask_log``: when true (default), every JWT in every log message is
          masked below DEBUG, including Robot Framework's own ``${token} =
          ...`` lines and other libraries' messages. See `Logging and secrets`.

        | =Setting= | =Value= | =Arguments= |
        | Library | AuthLibrary | secret=${SECRET} | issuer=auth.example.com | lifetime=15 min |
        | Library | AuthLibrary | algorithm=RS256 | private_key=${CURDIR}/keys/rs256.pem |
        """
        self.import_defaults = TokenDefaults(
            algorithm=algorithm,
            secret=secret,
            private_key=private_key,
            public_key=public_key,
            issuer=issuer,
            audience=audience,
            lifetime=lifetime,
            leeway=leeway,
        )
        self.token_defaults = self.import_defaults
        self.ROBOT_LIBRARY_LISTENER = [MaskingListener()] if mask_log else []
        super().__init__(
            [
                TokenKeywords(self),
                ForgeryKeywords(self),
                KeyKeywords(self),
                VerificationKeywords(self),
            ]
        )
