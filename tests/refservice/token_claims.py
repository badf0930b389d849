"""Claims of a valid access token for the reference service, for tests that forge tokens."""

from __future__ import annotations

import time
import uuid
from typing import Any

DEFAULT_ISSUER = "refservice"
DEFAULT_AUDIENCE = "refservice-clients"


def access_claims(
    *,
    lifetime: int = 300,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    **overrides: Any,
) -> dict[str, Any]:
    """Valid access-token claims for alice, living ``lifetime`` seconds from now.

    ``overrides`` replace claims; ``name=None`` removes one.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "iss": issuer,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}
