from __future__ import annotations

import jwt
import pytest

from AuthLibrary import masking
from AuthLibrary.masking import mask_secret, mask_token, mask_tokens, reveals_secrets

TOKEN = jwt.encode({"sub": "alice"}, "k" * 32, algorithm="HS256")


def test_mask_token_keeps_prefix_and_length() -> None:
    assert mask_token(TOKEN) == f"{TOKEN[:10]}…(masked, {len(TOKEN)} chars)"
    assert mask_token(TOKEN).startswith("eyJhbGciOi")


def test_mask_tokens_masks_every_jwt_in_text() -> None:
    text = f"Authorization: Bearer {TOKEN}, refresh={TOKEN}."
    masked = mask_tokens(text)
    assert TOKEN not in masked
    assert masked == (f"Authorization: Bearer {mask_token(TOKEN)}, refresh={mask_token(TOKEN)}.")


def test_mask_tokens_masks_unsigned_token() -> None:
    unsigned = jwt.encode({"sub": "alice"}, None, algorithm="none")
    assert unsigned.endswith(".")
    assert mask_tokens(f"[{unsigned}]") == f"[{mask_token(unsigned)}]"


@pytest.mark.parametrize(
    "text",
    ["no tokens here", "eyJ alone", "a.b.c", "version 1.2.3", "eyJhbGciOi"],
)
def test_mask_tokens_leaves_other_text_alone(text: str) -> None:
    assert mask_tokens(text) == text


def test_mask_secret_shows_pem_header_only() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n"
    masked = mask_secret(pem)
    assert masked == f"-----BEGIN PRIVATE KEY-----…(masked, {len(pem)} chars)"
    assert "MIIEvQ" not in masked


def test_mask_secret_hides_plain_secret_entirely() -> None:
    assert mask_secret("hunter2hunter2") == "…(masked, 14 chars)"


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("TRACE", True),
        ("DEBUG", True),
        ("debug", True),
        ("INFO", False),
        ("WARN", False),
        (None, False),
        ("", False),
    ],
)
def test_reveals_secrets_only_at_debug_and_trace(level: str | None, expected: bool) -> None:
    assert reveals_secrets(level) is expected


TOKEN_FOR_CREDENTIALS = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            f"ws://h/ws?access_token={TOKEN_FOR_CREDENTIALS}&room=1) x",
            "ws://h/ws?access_token=(masked)&room=1) x",
        ),
        ("GET /ws?api_key=k&password=p#frag", "GET /ws?api_key=(masked)&password=(masked)#frag"),
        (
            f"GET x | Authorization: Bearer {TOKEN_FOR_CREDENTIALS} | X-Api-Key: k",
            "GET x | Authorization: Bearer (masked) | X-Api-Key: (masked)",
        ),
        ("Authorization: Basic dXNlcjpwdw==", "Authorization: Basic (masked)"),
        ("Cookie: sid=1; theme=dark", "Cookie: (masked)"),
        ("Content-Type: application/json", "Content-Type: application/json"),
        ("?room=7&user=alice", "?room=7&user=alice"),
        (
            "{'private_key': '-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49",
            "{'private_key': '-----BEGIN PRIVATE KEY-----(masked)",
        ),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc+/=\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----(masked)\n",
        ),
        # Values of password and secret fields, as Robot logs dictionaries and variables
        # and RequestsLibrary logs JSON bodies.
        (
            "&{credentials} = { username=alice | password=alice-password }",
            "&{credentials} = { username=alice | password=(masked) }",
        ),
        (
            """body=b'{"username": "alice", "password": "pw:with=marks"}'""",
            """body=b'{"username": "alice", "password": "(masked)"}'""",
        ),
        (
            "${service} = {'http_url': 'x', 'jwt_secret': 'Zk-9_a', 'issuer': 'r'}",
            "${service} = {'http_url': 'x', 'jwt_secret': '(masked)', 'issuer': 'r'}",
        ),
        ("${JWT_SECRET} = Zk-9_a", "${JWT_SECRET} = (masked)"),
        ("${OTHER_USER_PASSWORD} = bob-password", "${OTHER_USER_PASSWORD} = (masked)"),
        ("A wrong password is refused", "A wrong password is refused"),
    ],
)
def test_mask_credentials(text: str, masked: str) -> None:
    assert masking.mask_credentials(text) == masked
    assert masking.mask_credentials(masked) == masked, "masking twice changes nothing"
