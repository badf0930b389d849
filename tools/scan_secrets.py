"""Scan a Robot Framework run's output for credentials: the way a reviewer would find them.

Reads every output.xml, log.html, report.html and other ``*.xml``/``*.html``/``*.log``/
``*.txt`` file under the results directories, decodes the strings log.html keeps
compressed (``window.output["strings"]``: base64 of zlib, or ``*`` and the plain text),
and looks for

- every secret of the manifest (HS secrets, user passwords, private key PEMs), and
- every JWT (three base64url segments) whose signature verifies with a manifest key:
  a token the service issued, or one forged with the service's real key. JWTs that do
  not verify (deliberately bad tokens) are counted, not reported.

The manifest is JSON lines, one per service, as ReferenceServiceLibrary writes them when
``WSQA_SECRETS_MANIFEST`` names a file: ``{"jwt_secret": ..., "passwords": [...],
"key_files": [...]}``; ``--secret`` and ``--password`` add more. Exit code 1 when
anything is found (each hit named by file and place, the secret itself redacted), else 0.

    python tools/scan_secrets.py --manifest /tmp/secrets.jsonl results
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization

from AuthLibrary.masking import JWT_PATTERN

SCANNED_SUFFIXES = {".xml", ".html", ".log", ".txt", ".json"}
LOG_STRINGS = 'window.output["strings"] = window.output["strings"].concat('
SPLIT_LOG_STRINGS = re.compile(r"window\.strings\d+ = ")
# Robot writes "</" as "\x3c/", which JSON does not know; an escaped backslash before it
# ("\\x3c") is text, so only an odd number of backslashes counts.
JS_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x3c")
# A shorter signature (none, for alg none) verifies with no key: no credential.
MIN_SIGNATURE_LENGTH = 16
# Short values (a password like "pw") would match by chance in any text.
MIN_SECRET_LENGTH = 6
HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"]
ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"]


@dataclass
class Manifest:
    """What must not appear: plain secrets, and the keys issued tokens verify with."""

    secrets: dict[str, str] = field(default_factory=dict)  # value -> what it is
    hmac_keys: list[str] = field(default_factory=list)
    public_keys: list[object] = field(default_factory=list)

    def add_secret(self, value: str, what: str) -> None:
        if len(value) >= MIN_SECRET_LENGTH:
            self.secrets.setdefault(value, what)

    @classmethod
    def read(cls, paths: Iterable[Path], secrets: Iterable[str], passwords: Iterable[str]):
        manifest = cls()
        for path in paths:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    manifest.add_service(json.loads(line))
        for secret in secrets:
            manifest.add_secret(secret, "secret")
            manifest.hmac_keys.append(secret)
        for password in passwords:
            manifest.add_secret(password, "password")
        return manifest

    def add_service(self, entry: dict) -> None:
        secret = entry.get("jwt_secret")
        if secret and secret not in self.hmac_keys:
            self.hmac_keys.append(secret)
            self.add_secret(secret, "JWT secret")
        for password in entry.get("passwords", ()):
            self.add_secret(password, "password")
        for key_file in entry.get("key_files", ()):
            self.add_key_file(Path(key_file))

    def add_key_file(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            return
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            self.public_keys.append(serialization.load_pem_public_key(data))
            return
        self.public_keys.append(private.public_key())
        # The base64 body of the PEM, without its armour lines, is what would leak.
        body = "".join(data.decode().strip().splitlines()[1:-1])
        self.add_secret(body[:64], f"private key {path.name}")


@dataclass
class Text:
    """One scanned piece of text and where it came from."""

    file: Path
    place: str
    text: str


@dataclass
class Hit:
    file: Path
    place: str
    what: str
    context: str


@dataclass
class Report:
    files: int = 0
    strings_decoded: int = 0
    tokens_seen: int = 0
    hits: list[Hit] = field(default_factory=list)


def log_strings(html: str) -> Iterator[tuple[int, str]]:
    """The strings of a Robot log.html (or split log), decoded, with their index."""
    decoder = json.JSONDecoder()
    html = JS_ESCAPE.sub(r"\1\\u003c", html)
    starts = [m.end() for m in re.finditer(re.escape(LOG_STRINGS), html)]
    starts += [m.end() for m in SPLIT_LOG_STRINGS.finditer(html)]
    index = 0
    for start in sorted(starts):
        strings, _ = decoder.raw_decode(html, start)
        for encoded in strings:
            yield index, decode_log_string(encoded)
            index += 1


def decode_log_string(encoded: str) -> str:
    """Robot's string cache: ``*`` and the text, or base64 of the zlib-compressed text."""
    if not encoded or encoded.startswith("*"):
        return encoded[1:]
    try:
        return zlib.decompress(base64.b64decode(encoded)).decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError):
        return encoded


def texts_of(root: Path) -> Iterator[Text]:
    files = [root] if root.is_file() else sorted(root.rglob("*"))
    for path in files:
        if not path.is_file() or path.suffix not in SCANNED_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        yield Text(path, "raw text", text)
        if path.suffix == ".html":
            for index, string in log_strings(text):
                yield Text(path, f"string #{index}", string)


def redacted(text: str, start: int, length: int) -> str:
    before = text[max(start - 60, 0) : start].replace("\n", " ")
    after = text[start + length : start + length + 40].replace("\n", " ")
    return f"...{before}[{length} chars]{after}..."


def verifies(token: str, manifest: Manifest) -> bool:
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False,
               "verify_aud": False, "verify_iss": False}  # fmt: skip
    for key in manifest.hmac_keys:
        try:
            jwt.decode(token, key, algorithms=HMAC_ALGORITHMS, options=options)
            return True
        except jwt.InvalidTokenError:
            pass
    for public in manifest.public_keys:
        try:
            jwt.decode(token, public, algorithms=ASYMMETRIC_ALGORITHMS, options=options)
            return True
        except (jwt.InvalidTokenError, ValueError, TypeError):
            pass
    return False


def scan(roots: Iterable[Path], manifest: Manifest) -> Report:
    report = Report()
    seen_files: set[Path] = set()
    verdicts: dict[str, bool] = {}
    for root in roots:
        for piece in texts_of(root):
            seen_files.add(piece.file)
            if piece.place != "raw text":
                report.strings_decoded += 1
            for secret, what in manifest.secrets.items():
                start = piece.text.find(secret)
                if start != -1:
                    context = redacted(piece.text, start, len(secret))
                    report.hits.append(Hit(piece.file, piece.place, what, context))
            for match in JWT_PATTERN.finditer(piece.text):
                token = match.group()
                if len(token.rpartition(".")[2]) < MIN_SIGNATURE_LENGTH:
                    continue
                if token not in verdicts:
                    verdicts[token] = verifies(token, manifest)
                if verdicts[token]:
                    context = redacted(piece.text, match.start(), len(token))
                    report.hits.append(Hit(piece.file, piece.place, "valid token", context))
    report.files = len(seen_files)
    report.tokens_seen = len(verdicts)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results directories or files")
    parser.add_argument("--manifest", action="append", type=Path, default=[],
                        help="JSON lines of secrets (WSQA_SECRETS_MANIFEST); repeat")  # fmt: skip
    parser.add_argument("--secret", action="append", default=[], help="an HS secret; repeat")
    parser.add_argument("--password", action="append", default=[], help="a password; repeat")
    args = parser.parse_args(argv)
    manifest = Manifest.read(
        [path for path in args.manifest if path.exists()], args.secret, args.password
    )
    if not manifest.secrets and not manifest.public_keys:
        # A run against another service than the embedded one records nothing.
        print("scan_secrets: no secret recorded or given; nothing to look for.")
        return 0
    report = scan(args.results, manifest)
    for hit in report.hits:
        print(f"{hit.file}: {hit.place}: {hit.what}: {hit.context}")
    print(
        f"scan_secrets: {report.files} files, {report.strings_decoded} log strings decoded, "
        f"{len(manifest.secrets)} secrets and {len(manifest.hmac_keys) + len(manifest.public_keys)}"
        f" keys looked for, {report.tokens_seen} JWTs seen, {len(report.hits)} hits."
    )
    return 1 if report.hits else 0


if __name__ == "__main__":
    sys.exit(main())
