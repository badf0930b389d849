"""The JWS algorithms AuthLibrary knows, grouped by key family."""

from __future__ import annotations

from enum import Enum


class KeyFamily(Enum):
    """The kind of key an algorithm signs with."""

    HMAC = "HMAC secret"
    RSA = "RSA key"
    EC = "EC key"
    OKP = "Ed25519/Ed448 key"
    NONE = "no key"


class Algorithm(Enum):
    """JWS signing algorithm (the ``alg`` header).

    In Robot Framework data the name is matched case-insensitively, so
    ``HS256``, ``hs256``, ``none`` and ``EdDSA`` all work.
    """

    HS256 = "HS256"
    HS384 = "HS384"
    HS512 = "HS512"
    RS256 = "RS256"
    RS384 = "RS384"
    RS512 = "RS512"
    PS256 = "PS256"
    PS384 = "PS384"
    PS512 = "PS512"
    ES256 = "ES256"
    ES384 = "ES384"
    ES512 = "ES512"
    EDDSA = "EdDSA"
    NONE = "none"

    def __str__(self) -> str:
        return self.value

    @property
    def family(self) -> KeyFamily:
        """The key family this algorithm signs with."""
        prefix = self.value[:2]
        if prefix == "HS":
            return KeyFamily.HMAC
        if prefix in ("RS", "PS"):
            return KeyFamily.RSA
        if prefix == "ES":
            return KeyFamily.EC
        if self is Algorithm.EDDSA:
            return KeyFamily.OKP
        return KeyFamily.NONE

    @property
    def is_asymmetric(self) -> bool:
        """True for algorithms signed with a private key and verified with a public one."""
        return self.family in (KeyFamily.RSA, KeyFamily.EC, KeyFamily.OKP)

    @classmethod
    def of_family(cls, family: KeyFamily) -> list[Algorithm]:
        """All algorithms of ``family``, in declaration order."""
        return [algorithm for algorithm in cls if algorithm.family is family]


#: The ``ES*`` algorithm that goes with each elliptic curve name.
EC_CURVE_ALGORITHMS: dict[str, Algorithm] = {
    "secp256r1": Algorithm.ES256,
    "secp384r1": Algorithm.ES384,
    "secp521r1": Algorithm.ES512,
}
