"""Fixtures for AuthLibrary tests: keys are generated once per session to keep tests fast."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _path in (_HERE.parents[1] / "libraries", _HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from auth_testdata import AUDIENCE, ISSUER, SECRET  # noqa: E402

from AuthLibrary import AuthLibrary  # noqa: E402
from AuthLibrary.algorithms import Algorithm  # noqa: E402
from AuthLibrary.keys import KeyPair, generate_key_pair  # noqa: E402
from AuthLibrary.tokens import TokenDefaults  # noqa: E402


@pytest.fixture(scope="session")
def rsa_pair() -> KeyPair:
    return generate_key_pair(Algorithm.RS256)


@pytest.fixture(scope="session")
def ec_pair() -> KeyPair:
    return generate_key_pair(Algorithm.ES256)


@pytest.fixture(scope="session")
def ed_pair() -> KeyPair:
    return generate_key_pair(Algorithm.EDDSA)


@pytest.fixture
def defaults() -> TokenDefaults:
    return TokenDefaults(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def library() -> AuthLibrary:
    return AuthLibrary(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
