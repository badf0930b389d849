"""Keywords that generate and convert keys and secrets."""

from __future__ import annotations

from typing import Any

from robot.utils import DotDict
from robotlibcore import keyword

from .. import keys
from ..algorithms import Algorithm
from .base import LibraryComponent


class KeyKeywords(LibraryComponent):
    """Key pairs for RS*, PS*, ES* and EdDSA; secrets for HS*."""

    @keyword(tags=("keys",))
    def generate_key_pair(
        self,
        algorithm: Algorithm = Algorithm.RS256,
        directory: str | None = None,
        name: str | None = None,
        key_size: int = 2048,
    ) -> DotDict:
        """Generates a key pair for ``algorithm`` and returns it as a dictionary.

        The dictionary has ``algorithm``, ``private_key`` and ``public_key``
        (PEM strings), usable as ``${pair.private_key}`` or
        ``${pair}[private_key]``. RSA keys (``RS*``, ``PS*``) have
        ``key_size`` bits; ``ES256``, ``ES384`` and ``ES512`` use curves
        P-256, P-384 and P-521; ``EdDSA`` uses Ed25519.

        When ``directory`` is given, the keys are also written there as
        ``NAME.pem`` (private, mode 600) and ``NAME.pub.pem``, where ``NAME``
        is ``name`` or the algorithm in lower case; ``private_key_file`` and
        ``public_key_file`` then hold the paths (else they are ``None``).

        | =Result= | =Keyword= | =Arguments= |
        | ${pair} = | `Generate Key Pair` | ES256 |
        | ${token} = | `Create Token` | ${claims} | algorithm=ES256 | key=${pair.private_key} |
        | ${pair} = | `Generate Key Pair` | RS256 | directory=${OUTPUT DIR} | name=service |
        """
        pair = keys.generate_key_pair(algorithm, key_size=key_size, directory=directory, name=name)
        where = f" in {pair.private_key_file} and {pair.public_key_file}" if directory else ""
        self.log(
            f"Generated {algorithm} key pair{where}: private key {self.shown(pair.private_key)}"
        )
        return DotDict(pair.as_dict())

    @keyword(tags=("keys",))
    def generate_secret(self, length: int = 32) -> str:
        """Generates a random HMAC secret of ``length`` letters and digits.

        RFC 7518 asks for at least 32 bytes for HS256, 48 for HS384 and 64
        for HS512.

        | =Result= | =Keyword= | =Arguments= |
        | ${secret} = | `Generate Secret` |
        | ${secret} = | `Generate Secret` | length=64 |
        """
        secret = keys.generate_secret(length)
        self.log(f"Generated secret {self.shown(secret)}")
        return secret

    @keyword(tags=("keys",))
    def get_public_key(self, private_key: str) -> str:
        """Returns the PEM public key of ``private_key`` (a PEM string or a PEM file path).

        A public key or certificate gives its public key.

        | =Result= | =Keyword= | =Arguments= |
        | ${public} = | `Get Public Key` | ${CURDIR}/keys/rs256.pem |
        """
        return keys.public_key_of(private_key)

    @keyword(name="Get Public Key As JWK", tags=("keys",))
    def get_public_key_as_jwk(
        self,
        key: str,
        kid: str | None = None,
        algorithm: Algorithm | None = None,
    ) -> dict[str, Any]:
        """Returns the public JWK (RFC 7517) of a PEM key, for serving as a JWKS.

        ``key`` is a PEM public or private key or a PEM file path; a private
        key gives its public part only. ``kid`` and ``alg`` are set when
        given (``alg`` also when the key allows only one algorithm, as EC
        keys do); ``use`` is ``sig``.

        | =Result= | =Keyword= | =Arguments= |
        | ${jwk} = | `Get Public Key As JWK` | ${pair.public_key} | kid=key-1 |
        | ${jwks} = | Create Dictionary | keys=${{[$jwk]}} |
        """
        return keys.public_key_to_jwk(key, kid=kid, algorithm=algorithm)
