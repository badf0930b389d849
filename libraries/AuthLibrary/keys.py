"""Key material: generating, loading and classifying keys and secrets.

Keys travel as text: an HMAC secret is a plain string, an asymmetric key is a
PEM string. Wherever a PEM key is accepted, a path to a PEM file is accepted
too. A secret is always taken literally.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509 import load_pem_x509_certificate
from jwt.algorithms import get_default_algorithms

from .algorithms import EC_CURVE_ALGORITHMS, Algorithm, KeyFamily
from .errors import KeyMaterialError

_SECRET_ALPHABET = string.ascii_letters + string.digits
_EC_CURVES: dict[Algorithm, ec.EllipticCurve] = {
    Algorithm.ES256: ec.SECP256R1(),
    Algorithm.ES384: ec.SECP384R1(),
    Algorithm.ES512: ec.SECP521R1(),
}


@dataclass(frozen=True)
class KeyPair:
    """A private key and its public key, both as PEM text."""

    algorithm: Algorithm
    private_key: str
    public_key: str
    private_key_file: Path | None = None
    public_key_file: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """The pair as a plain dictionary (paths as strings)."""
        return {
            "algorithm": self.algorithm.value,
            "private_key": self.private_key,
            "public_key": self.public_key,
            "private_key_file": str(self.private_key_file) if self.private_key_file else None,
            "public_key_file": str(self.public_key_file) if self.public_key_file else None,
        }


def is_pem(text: str) -> bool:
    """True if ``text`` looks like a PEM block."""
    return text.lstrip().startswith("-----BEGIN")


def resolve_key(key: str | os.PathLike[str]) -> str:
    """Return PEM text for a PEM string or a path to a PEM file; anything else unchanged.

    A string that names an existing file whose content is PEM is replaced by
    that content. Any other string is returned as is (it is a secret).
    """
    if isinstance(key, os.PathLike):
        return _read_pem_file(Path(key))
    if is_pem(key) or "\n" in key or len(key) > 4096:
        return key
    path = Path(key)
    try:
        is_file = path.is_file()
    except OSError:
        is_file = False
    if is_file:
        content = path.read_text(encoding="utf-8", errors="replace")
        if is_pem(content):
            return content
    return key


def _read_pem_file(path: Path) -> str:
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as error:
        raise KeyMaterialError(f"Cannot read key file '{path}': {error.strerror}.") from None
    if not is_pem(content):
        raise KeyMaterialError(
            f"Key file '{path}' should contain a PEM key starting with '-----BEGIN' "
            "but it does not."
        )
    return content


@functools.lru_cache(maxsize=64)
def _load_pem(pem: str) -> tuple[Any, bool]:
    """Load PEM text as a cryptography key object; return ``(key, is_private)``.

    Cached: loading an RSA private key validates it, which takes tens of
    milliseconds, and one keyword may look at a key several times.
    """
    data = pem.strip().encode("utf-8")
    if b"PRIVATE KEY" in data.split(b"\n", 1)[0]:
        try:
            return serialization.load_pem_private_key(data, password=None), True
        except (ValueError, TypeError) as error:
            raise KeyMaterialError(f"The PEM private key cannot be loaded: {error}") from None
    if b"CERTIFICATE" in data.split(b"\n", 1)[0]:
        try:
            return load_pem_x509_certificate(data).public_key(), False
        except ValueError as error:
            raise KeyMaterialError(f"The PEM certificate cannot be loaded: {error}") from None
    try:
        return serialization.load_pem_public_key(data), False
    except (ValueError, TypeError) as error:
        raise KeyMaterialError(f"The PEM public key cannot be loaded: {error}") from None


def key_family(key: str) -> KeyFamily:
    """The key family of a resolved key: HMAC for a secret, else from the PEM content."""
    if not is_pem(key):
        return KeyFamily.HMAC
    loaded, _ = _load_pem(key)
    return _family_of(loaded)


def _family_of(loaded: Any) -> KeyFamily:
    if isinstance(loaded, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return KeyFamily.RSA
    if isinstance(loaded, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return KeyFamily.EC
    if isinstance(
        loaded,
        (
            ed25519.Ed25519PrivateKey,
            ed25519.Ed25519PublicKey,
            ed448.Ed448PrivateKey,
            ed448.Ed448PublicKey,
        ),
    ):
        return KeyFamily.OKP
    raise KeyMaterialError(
        f"The PEM key is a {type(loaded).__name__}, which no JWS algorithm uses; "
        "expected an RSA, EC or Ed25519/Ed448 key."
    )


def algorithms_for_key(key: str) -> list[Algorithm]:
    """The algorithms a resolved key can verify: all HS* for a secret, RS*/PS* for RSA,
    the one ES* matching an EC key's curve, EdDSA for Ed25519/Ed448."""
    if not is_pem(key):
        return Algorithm.of_family(KeyFamily.HMAC)
    loaded, _ = _load_pem(key)
    family = _family_of(loaded)
    if family is KeyFamily.EC:
        curve_algorithm = EC_CURVE_ALGORITHMS.get(loaded.curve.name)
        return [curve_algorithm] if curve_algorithm else []
    return Algorithm.of_family(family)


def is_private_key(key: str) -> bool:
    """True if ``key`` (resolved) is a PEM private key."""
    return is_pem(key) and _load_pem(key)[1]


def public_key_of(key: str | os.PathLike[str]) -> str:
    """The public key PEM of a private key PEM (a public key or certificate gives its
    public key)."""
    resolved = resolve_key(key)
    if not is_pem(resolved):
        raise KeyMaterialError(
            f"Expected a PEM key or a path to a PEM file but got a {len(resolved)}-character "
            "string that is neither."
        )
    loaded, is_private = _load_pem(resolved)
    public = loaded.public_key() if is_private else loaded
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def check_key_fits(key: str, algorithm: Algorithm) -> None:
    """Raise :class:`KeyMaterialError` if a resolved ``key`` cannot sign with ``algorithm``."""
    if algorithm is Algorithm.NONE:
        return
    family = key_family(key)
    if algorithm.family is KeyFamily.HMAC:
        if family is not KeyFamily.HMAC:
            raise KeyMaterialError(
                f"Algorithm {algorithm} needs a secret string but got a PEM {family.value}."
            )
        if not key:
            raise KeyMaterialError(f"Algorithm {algorithm} needs a secret but it is empty.")
        return
    if family is KeyFamily.HMAC:
        raise KeyMaterialError(
            f"Algorithm {algorithm} needs a PEM private {algorithm.family.value} or a path to "
            f"a PEM file but got a {len(key)}-character string that is neither."
        )
    if family is not algorithm.family:
        raise KeyMaterialError(
            f"Algorithm {algorithm} needs a {algorithm.family.value} but got a {family.value}."
        )
    if algorithm.family is KeyFamily.EC and algorithm not in algorithms_for_key(key):
        curve = _load_pem(key)[0].curve.name
        raise KeyMaterialError(
            f"Algorithm {algorithm} needs an EC key on curve "
            f"{_EC_CURVES[algorithm].name} but the key is on curve {curve}."
        )


def generate_secret(length: int = 32) -> str:
    """A random secret of ``length`` letters and digits (so ``length`` bytes for HMAC).

    RFC 7518 asks for at least 32 bytes for HS256, 48 for HS384 and 64 for HS512.
    """
    if length < 1:
        raise KeyMaterialError(f"Secret length should be at least 1 but was {length}.")
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))


def generate_key_pair(
    algorithm: Algorithm = Algorithm.RS256,
    key_size: int = 2048,
    directory: str | os.PathLike[str] | None = None,
    name: str | None = None,
) -> KeyPair:
    """Generate a key pair for ``algorithm``; write ``NAME.pem`` and ``NAME.pub.pem``
    into ``directory`` when it is given (``NAME`` defaults to the algorithm in lower case).
    """
    private: Any
    if algorithm.family is KeyFamily.RSA:
        if key_size < 1024:
            raise KeyMaterialError(f"RSA key size should be at least 1024 bits but was {key_size}.")
        private = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    elif algorithm.family is KeyFamily.EC:
        private = ec.generate_private_key(_EC_CURVES[algorithm])
    elif algorithm is Algorithm.EDDSA:
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyMaterialError(
            f"Key pairs exist for RS*, PS*, ES* and EdDSA algorithms, not {algorithm}; "
            "use Generate Secret for HS* algorithms."
        )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    if directory is None:
        return KeyPair(algorithm, private_pem, public_pem)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    base = name or algorithm.value.lower()
    private_file = folder / f"{base}.pem"
    public_file = folder / f"{base}.pub.pem"
    private_file.write_text(private_pem, encoding="ascii")
    private_file.chmod(0o600)
    public_file.write_text(public_pem, encoding="ascii")
    return KeyPair(algorithm, private_pem, public_pem, private_file, public_file)


def public_key_to_jwk(
    key: str | os.PathLike[str],
    kid: str | None = None,
    algorithm: Algorithm | None = None,
) -> dict[str, Any]:
    """The public JWK (RFC 7517) of a PEM key; a private key gives its public part.

    ``alg`` is set when ``algorithm`` is given or the key allows only one
    (EC keys); ``use`` is always ``sig``.
    """
    public_pem = public_key_of(key)
    family = key_family(public_pem)
    candidates = algorithms_for_key(public_pem)
    if algorithm is not None and algorithm not in candidates:
        raise KeyMaterialError(
            f"Algorithm {algorithm} cannot use this {family.value}; "
            f"it fits {', '.join(str(a) for a in candidates)}."
        )
    jwk_algorithm = get_default_algorithms()[(algorithm or candidates[0]).value]
    loaded, _ = _load_pem(public_pem)
    jwk: dict[str, Any] = json.loads(jwk_algorithm.to_jwk(loaded))
    jwk["use"] = "sig"
    if algorithm is not None:
        jwk["alg"] = algorithm.value
    elif len(candidates) == 1:
        jwk["alg"] = candidates[0].value
    if kid is not None:
        jwk["kid"] = kid
    return jwk
