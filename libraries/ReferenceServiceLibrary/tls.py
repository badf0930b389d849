"""A throwaway certificate authority, so tests can serve and verify https:// and wss://.

The CA's private key lives only in memory: once the process that made it is gone, no
one can issue another certificate that its clients would trust. Keys are EC P-256,
which takes milliseconds to generate. Plain Python, no Robot imports.

Example::

    files = make_server_certificate(directory)
    ServiceProcess(tls_certfile=files.certfile, tls_keyfile=files.keyfile)
    requests.get(url, verify=str(files.ca_file))
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
"""What a server certificate is valid for by default: the addresses the service binds."""

# Long enough for any test run, short enough that a leaked file soon means nothing.
# Valid from a few minutes back, for clocks a little behind.
LIFETIME = datetime.timedelta(days=2)
BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class ServerCertificate:
    """The files of a server certificate and of the CA that clients must trust for it."""

    ca_file: Path
    certfile: Path
    keyfile: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class ThrowawayCA:
    """A CA whose certificate is written to ``directory/ca.pem`` and whose key is never saved.

    `issue` writes certificates it signed, with their keys, into the same directory.
    """

    def __init__(self, directory: str | os.PathLike[str], name: str = "wsqa throwaway CA") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = _name(name)
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            self._builder(self.name, self._key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = self.directory / "ca.pem"
        self.ca_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def _builder(
        self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime.datetime
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + LIFETIME)
        )

    def issue(
        self, file_name: str, hosts: Sequence[str] = LOOPBACK_NAMES, *, client: bool = False
    ) -> tuple[Path, Path]:
        """Write a certificate and its key as ``file_name.pem`` and ``file_name.key``.

        A server certificate (the default) is valid for ``hosts``: IP addresses and DNS
        names, as subject alternative names. With ``client=True`` it is a client
        certificate (for mutual TLS) named ``file_name``. Returns the two paths.
        """
        if not client and not hosts:
            raise ValueError("A server certificate needs at least one host name or address.")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            self._builder(_name(file_name if client else hosts[0]), key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if hosts:
            names = [_subject_alternative_name(host) for host in hosts]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        certfile, keyfile = self.directory / f"{file_name}.pem", self.directory / f"{file_name}.key"
        certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        # The key file is created readable by its owner only, before any byte is in it.
        descriptor = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return certfile, keyfile


def make_server_certificate(
    directory: str | os.PathLike[str], hosts: Sequence[str] = LOOPBACK_NAMES
) -> ServerCertificate:
    """Make a throwaway CA and a server certificate for ``hosts`` in ``directory``."""
    authority = ThrowawayCA(directory)
    certfile, keyfile = authority.issue("server", hosts)
    return ServerCertificate(authority.ca_file, certfile, keyfile)


__all__ = ["LOOPBACK_NAMES", "ServerCertificate", "ThrowawayCA", "make_server_certificate"]
