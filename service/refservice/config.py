"""Service settings: one frozen dataclass built from command-line flags and env vars.

Every setting is both a flag (``--access-token-ttl``) and an environment variable
(``REFSERVICE_ACCESS_TOKEN_TTL``). A flag wins over the environment variable, which wins
over the default. This module only uses the standard library so that process controllers
can import the option table without pulling in the web stack.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "REFSERVICE_"

UserSpec = tuple[str, str, tuple[str, ...]]
"""A seeded user: ``(name, password, roles)``."""

PUBLISHER_ROLE = "publisher"
# Reads GET /metrics, which names every connected user and every user with queued events.
METRICS_ROLE = "metrics"

DEFAULT_USERS: tuple[UserSpec, ...] = (
    ("alice", "alice-password", ()),
    ("bob", "bob-password", ()),
    ("carol", "carol-password", ()),
    ("publisher", "publisher-password", (PUBLISHER_ROLE,)),
    ("operator", "operator-password", (METRICS_ROLE,)),
)

SEED_INDEX = "{i}"
"""Replaced by 1, 2 ... N in :attr:`Settings.seed_user_pattern`."""
DEFAULT_SEED_USER_PATTERN = "user-{i}:user-{i}-password"
MAX_SEED_USERS = 100_000
# Far more tabs than a person opens, few enough that one account cannot take the service's
# sockets; load tests of one account raise it (0 = unlimited).
DEFAULT_MAX_CONNECTIONS_PER_USER = 100
# Per-connection message rate limit. Far above what a person's client sends, and above
# every suite and benchmark (their fastest loops send a few hundred messages back to
# back on one connection, which the burst covers); 0 turns it off.
DEFAULT_MAX_MESSAGES_PER_SECOND = 200.0
DEFAULT_MAX_MESSAGE_BURST = 400
# Refused (rate_limited) messages allowed within the window; one more closes with 1008.
DEFAULT_MAX_REFUSED_MESSAGES = 100
DEFAULT_REFUSED_MESSAGE_WINDOW = 10.0

# How long a publish's idempotency key is remembered: longer than any sane retry loop.
DEFAULT_IDEMPOTENCY_KEY_TTL = 24 * 3600.0

# Longest access token lifetime (exp - iat) the service accepts; its own are 15 min.
DEFAULT_MAX_TOKEN_LIFETIME = 3600.0

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
# RFC 7518 section 3.2: an HMAC key at least as long as the hash output.
MIN_HMAC_SECRET_BYTES: Mapping[str, int] = {"HS256": 32, "HS384": 48, "HS512": 64}
MIN_RSA_KEY_BITS = 2048
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
SUPPORTED_ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
WS_IMPLEMENTATIONS = ("websockets-sansio", "websockets", "wsproto")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class ConfigError(ValueError):
    """A setting has an invalid value."""


def _random_secret() -> str:
    return secrets.token_urlsafe(48)  # 64 characters: long enough for HS512


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know to run. Durations are in seconds."""

    host: str = "127.0.0.1"
    port: int = 8765
    url_file: Path | None = None
    jwt_algorithm: str = "HS256"
    jwt_secret: str = field(default_factory=_random_secret, repr=False)
    jwt_private_key: Path | None = None
    jwt_public_key: Path | None = None
    jwt_previous_public_keys: tuple[Path, ...] = ()
    issuer: str = "refservice"
    audience: str = "refservice-clients"
    access_token_ttl: float = 15 * 60.0
    refresh_token_ttl: float = 24 * 3600.0
    max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME
    leeway: float = 0.0
    max_message_size: int = 64 * 1024
    heartbeat_interval: float = 20.0
    heartbeat_timeout: float = 20.0
    idle_timeout: float = 0.0
    expiry_warning: float = 30.0
    request_timeout: float = 10.0
    max_login_failures: int = 5
    login_failure_window: float = 60.0
    allowed_origins: tuple[str, ...] = ()
    max_connections_per_user: int = DEFAULT_MAX_CONNECTIONS_PER_USER
    max_messages_per_second: float = DEFAULT_MAX_MESSAGES_PER_SECOND
    max_message_burst: int = DEFAULT_MAX_MESSAGE_BURST
    max_refused_messages: int = DEFAULT_MAX_REFUSED_MESSAGES
    refused_message_window: float = DEFAULT_REFUSED_MESSAGE_WINDOW
    database: str = "refservice.db"
    ws_implementation: str = "websockets-sansio"
    permessage_deflate: bool = False
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    users: tuple[UserSpec, ...] = DEFAULT_USERS
    seed_users: int = 0
    seed_user_pattern: str = DEFAULT_SEED_USER_PATTERN
    max_queue_length: int = 10000
    idempotency_key_ttl: float = DEFAULT_IDEMPOTENCY_KEY_TTL
    state_history: int = 100
    max_outbox_messages: int = 1000
    max_outbox_bytes: int = 16 * 1024 * 1024
    bind_timeout: float = 0.0
    log_level: str = "info"
    parent_pid: int | None = None
    conformance_echo: bool = False
    public_metrics: bool = False

    def __post_init__(self) -> None:
        if self.jwt_algorithm not in SUPPORTED_ALGORITHMS:
            raise ConfigError(
                f"JWT algorithm {self.jwt_algorithm!r} is not supported; "
                f"use one of {', '.join(sorted(SUPPORTED_ALGORITHMS))}."
            )
        if self.jwt_algorithm in ASYMMETRIC_ALGORITHMS and self.jwt_private_key is None:
            raise ConfigError(
                f"JWT algorithm {self.jwt_algorithm} needs --jwt-private-key "
                "(and optionally --jwt-public-key)."
            )
        if self.jwt_algorithm in HMAC_ALGORITHMS:
            wanted = MIN_HMAC_SECRET_BYTES[self.jwt_algorithm]
            if len(self.jwt_secret.encode()) < wanted:
                raise ConfigError(
                    f"The {self.jwt_algorithm} secret must be at least {wanted} bytes (RFC 7518 "
                    f"section 3.2: as long as the hash); this one has "
                    f"{len(self.jwt_secret.encode())}."
                )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"Port {self.port} is out of range 0-65535.")
        for name in ("access_token_ttl", "refresh_token_ttl"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be greater than zero.")
        self._check_token_lifetime_settings()
        if self.leeway < 0:
            raise ConfigError("leeway must not be negative.")
        if self.max_message_size <= 0:
            raise ConfigError("max_message_size must be greater than zero.")
        if self.heartbeat_interval < 0:
            raise ConfigError("heartbeat_interval must not be negative (0 disables it).")
        if self.heartbeat_timeout <= 0:
            raise ConfigError("heartbeat_timeout must be greater than zero.")
        if self.request_timeout < 0:
            raise ConfigError("request_timeout must not be negative (0 disables it).")
        if self.login_failure_window <= 0:
            raise ConfigError("login_failure_window must be greater than zero.")
        if self.expiry_warning < 0:
            raise ConfigError("expiry_warning must not be negative.")
        if self.idle_timeout < 0:
            raise ConfigError("idle_timeout must not be negative (0 disables it).")
        if self.max_connections_per_user < 0:
            raise ConfigError("max_connections_per_user must not be negative (0 is unlimited).")
        self._check_rate_limit_settings()
        if self.ws_implementation not in WS_IMPLEMENTATIONS:
            raise ConfigError(
                f"WebSocket implementation {self.ws_implementation!r} is not supported; "
                f"use one of {', '.join(WS_IMPLEMENTATIONS)}."
            )
        if self.tls_keyfile is not None and self.tls_certfile is None:
            raise ConfigError("--tls-keyfile needs --tls-certfile (the certificate it belongs to).")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"Log level {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}."
            )
        if not self.users:
            raise ConfigError("At least one user must be configured.")
        if not 0 <= self.seed_users <= MAX_SEED_USERS:
            raise ConfigError(f"seed_users must be from 0 to {MAX_SEED_USERS}.")
        name, _, _ = self.seed_user_pattern.partition(":")
        if SEED_INDEX not in name:
            raise ConfigError(
                f"The seed user pattern {self.seed_user_pattern!r} must have {SEED_INDEX} in the "
                "user name (NAME:PASSWORD[:ROLES]), or every seeded user would be the same one."
            )
        parse_user(self.seed_user_pattern.replace(SEED_INDEX, "1"))
        if self.max_queue_length < 1:
            raise ConfigError("max_queue_length must be at least 1.")
        if self.idempotency_key_ttl <= 0:
            raise ConfigError("idempotency_key_ttl must be greater than zero.")
        if self.max_outbox_messages < 1:
            raise ConfigError("max_outbox_messages must be at least 1.")
        if self.max_outbox_bytes < 1:
            raise ConfigError("max_outbox_bytes must be at least 1.")
        if self.state_history < 0:
            raise ConfigError("state_history must not be negative.")
        if self.bind_timeout < 0:
            raise ConfigError("bind_timeout must not be negative.")

    def _check_token_lifetime_settings(self) -> None:
        if self.max_token_lifetime < 0:
            raise ConfigError("max_token_lifetime must not be negative (0 is unlimited).")
        if self.max_token_lifetime and self.access_token_ttl > self.max_token_lifetime:
            raise ConfigError(
                f"access_token_ttl ({self.access_token_ttl:g} s) exceeds max_token_lifetime "
                f"({self.max_token_lifetime:g} s): the service would refuse its own tokens."
            )
        if self.jwt_previous_public_keys and self.jwt_algorithm in HMAC_ALGORITHMS:
            raise ConfigError(
                "--jwt-previous-public-key needs an RS*/ES* --jwt-algorithm; "
                f"{self.jwt_algorithm} has no public keys."
            )

    def _check_rate_limit_settings(self) -> None:
        if not 0 <= self.max_messages_per_second < float("inf"):
            raise ConfigError("max_messages_per_second must be a number from 0 (no limit) up.")
        if self.max_message_burst < 1:
            raise ConfigError("max_message_burst must be at least 1.")
        if self.max_refused_messages < 0:
            raise ConfigError("max_refused_messages must not be negative (0 never closes).")
        if self.refused_message_window <= 0:
            raise ConfigError("refused_message_window must be greater than zero.")

    def seeded_users(self) -> tuple[UserSpec, ...]:
        """The users made from :attr:`seed_user_pattern`, ``{i}`` from 1 to :attr:`seed_users`."""
        return tuple(
            parse_user(self.seed_user_pattern.replace(SEED_INDEX, str(index)))
            for index in range(1, self.seed_users + 1)
        )


# --- value parsers -------------------------------------------------------------------

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_UNITS = {"": 1, "b": 1, "kib": 1024, "kb": 1000, "mib": 1024**2, "mb": 1000**2}


def parse_duration(text: str) -> float:
    """Parse ``"0.2"`` (seconds) or a number with a unit: ``500ms``, ``30s``, ``15m``, ``24h``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h|d)?\s*", text)
    if not match:
        raise ConfigError(f"{text!r} is not a duration; use seconds like '0.2' or '15m'.")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]


def parse_size(text: str) -> int:
    """Parse a byte count: ``65536``, ``64KiB``, ``1MiB``."""
    match = re.fullmatch(r"\s*([0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise ConfigError(f"{text!r} is not a size; use bytes like '65536' or '64KiB'.")
    return int(match.group(1)) * _SIZE_UNITS[unit]


def parse_port(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a port number.") from None


def parse_rate(text: str) -> float:
    """Parse a rate per second that is zero or more: ``200``, ``0.5``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*", text)
    if not match:
        raise ConfigError(f"{text!r} is not a rate; use a number per second like '200' or '0.5'.")
    return float(match.group(1))


def parse_count(text: str) -> int:
    """Parse a whole number that is zero or more (``0`` usually means "no limit")."""
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a whole number.") from None
    if value < 0:
        raise ConfigError(f"{text!r} must not be negative.")
    return value


_ROLE = re.compile(r"[A-Za-z0-9_.-]+")


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(text: str) -> bool:
    """Parse ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{text!r} is not a boolean; use true or false.")


def parse_user(text: str) -> UserSpec:
    """Parse ``NAME:PASSWORD`` or ``NAME:PASSWORD:ROLE,ROLE``.

    With two or more colons the text after the last one is the role list, so a password
    that contains a colon needs a trailing colon (no roles): ``erin:p:w:``.
    """
    name, sep, rest = text.partition(":")
    if not sep or not name.strip() or not rest:
        raise ConfigError(f"User {text!r} must look like NAME:PASSWORD[:ROLE,ROLE].")
    password, roles_text = rest, ""
    if ":" in rest:
        password, _, roles_text = rest.rpartition(":")
    if not password:
        raise ConfigError(f"User {text!r} has an empty password.")
    roles = tuple(role.strip() for role in roles_text.split(",") if role.strip())
    for role in roles:
        if not _ROLE.fullmatch(role):
            raise ConfigError(f"Role {role!r} of user {name.strip()!r} is not a valid name.")
    return name.strip(), password, roles


def split_user_list(text: str) -> list[str]:
    """Split ``"a:pw:r1,r2, b:pw"`` into user items: ``["a:pw:r1,r2", "b:pw"]``.

    Commas separate users, and also the roles of one user: an item without a colon is
    one more role of the user before it.
    """
    items: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if ":" not in item and items:
            items[-1] = f"{items[-1]},{item}"
        else:
            items.append(item)
    return items


def parse_users(text: str) -> tuple[UserSpec, ...]:
    """Parse ``"a:pw,b:pw:publisher"`` as used by ``REFSERVICE_USERS``."""
    return tuple(parse_user(item) for item in split_user_list(text))


def parse_origins(text: str) -> tuple[str, ...]:
    """Parse ``"https://a.example, http://localhost:3000"``: scheme://host[:port] each."""
    origins = tuple(item.strip().rstrip("/") for item in text.split(",") if item.strip())
    for origin in origins:
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s]+", origin, re.IGNORECASE):
            raise ConfigError(f"Origin {origin!r} must look like scheme://host[:port].")
    return origins


def _path(text: str) -> Path:
    return Path(text)


def _paths(text: str) -> tuple[Path, ...]:
    return tuple(Path(item) for item in text.split(os.pathsep) if item.strip())


def _lower(text: str) -> str:
    return text.strip().lower()


def _upper(text: str) -> str:
    return text.strip().upper()


@dataclass(frozen=True)
class Option:
    """One setting: its dataclass field, flag, env var and how to parse text into it."""

    name: str
    flag: str
    env: str
    parse: Callable[[str], Any]
    help: str
    metavar: str = "VALUE"
    repeat: bool = False
    # For a switch: the text the flag stands for when given without a value.
    const: str | None = None
    # For a repeated flag: how one flag value is parsed (``parse`` reads the env var).
    parse_each: Callable[[str], Any] = parse_user


OPTIONS: tuple[Option, ...] = (
    Option("host", "--host", "REFSERVICE_HOST", str, "Interface to listen on (loopback).", "HOST"),
    Option("port", "--port", "REFSERVICE_PORT", parse_port, "Port; 0 picks a free one.", "PORT"),
    Option(
        "url_file",
        "--url-file",
        "REFSERVICE_URL_FILE",
        _path,
        "Write the listening URLs here as JSON once ready.",
        "PATH",
    ),
    Option(
        "jwt_algorithm",
        "--jwt-algorithm",
        "REFSERVICE_JWT_ALGORITHM",
        _upper,
        "JWT signing algorithm (HS256, RS256, ES256, ...).",
        "ALG",
    ),
    Option(
        "jwt_secret",
        "--jwt-secret",
        "REFSERVICE_JWT_SECRET",
        str,
        "HMAC secret for HS* algorithms; random when not given.",
        "SECRET",
    ),
    Option(
        "jwt_private_key",
        "--jwt-private-key",
        "REFSERVICE_JWT_PRIVATE_KEY",
        _path,
        "PEM private key file for RS*/ES* algorithms.",
        "PATH",
    ),
    Option(
        "jwt_public_key",
        "--jwt-public-key",
        "REFSERVICE_JWT_PUBLIC_KEY",
        _path,
        "PEM public key file; derived from the private key when not given.",
        "PATH",
    ),
    Option(
        "jwt_previous_public_keys",
        "--jwt-previous-public-key",
        "REFSERVICE_JWT_PREVIOUS_PUBLIC_KEYS",
        _paths,
        "PEM public key of a retired signing key: its tokens stay valid until they expire, and "
        f"it is published in the JWKS; repeat the flag. Env var: paths separated by "
        f"'{os.pathsep}'.",
        "PATH",
        repeat=True,
        parse_each=_path,
    ),
    Option("issuer", "--issuer", "REFSERVICE_ISSUER", str, "Token issuer (iss claim).", "ISS"),
    Option(
        "audience", "--audience", "REFSERVICE_AUDIENCE", str, "Token audience (aud claim).", "AUD"
    ),
    Option(
        "access_token_ttl",
        "--access-token-ttl",
        "REFSERVICE_ACCESS_TOKEN_TTL",
        parse_duration,
        "Access token lifetime (seconds, or 15m).",
        "DURATION",
    ),
    Option(
        "refresh_token_ttl",
        "--refresh-token-ttl",
        "REFSERVICE_REFRESH_TOKEN_TTL",
        parse_duration,
        "Refresh token lifetime (seconds, or 24h).",
        "DURATION",
    ),
    Option(
        "max_token_lifetime",
        "--max-token-lifetime",
        "REFSERVICE_MAX_TOKEN_LIFETIME",
        parse_duration,
        "Refuse access tokens whose lifetime (exp - iat) is longer; 0 = no limit. Refresh "
        "tokens may live --refresh-token-ttl at most.",
        "DURATION",
    ),
    Option(
        "leeway",
        "--leeway",
        "REFSERVICE_LEEWAY",
        parse_duration,
        "Clock skew allowed when checking exp/nbf/iat.",
        "DURATION",
    ),
    Option(
        "max_message_size",
        "--max-message-size",
        "REFSERVICE_MAX_MESSAGE_SIZE",
        parse_size,
        "Largest WebSocket message accepted; bigger ones close with 1009.",
        "BYTES",
    ),
    Option(
        "heartbeat_interval",
        "--heartbeat-interval",
        "REFSERVICE_HEARTBEAT_INTERVAL",
        parse_duration,
        "Send a WebSocket ping this often (seconds); 0 disables heartbeats.",
        "DURATION",
    ),
    Option(
        "heartbeat_timeout",
        "--heartbeat-timeout",
        "REFSERVICE_HEARTBEAT_TIMEOUT",
        parse_duration,
        "Close (1011) a connection whose pong does not arrive within this time.",
        "DURATION",
    ),
    Option(
        "idle_timeout",
        "--idle-timeout",
        "REFSERVICE_IDLE_TIMEOUT",
        parse_duration,
        "Close (4000) a connection that sends no data message for this long; 0 = never.",
        "DURATION",
    ),
    Option(
        "request_timeout",
        "--request-timeout",
        "REFSERVICE_REQUEST_TIMEOUT",
        parse_duration,
        "Close (408) a connection whose request head (or WebSocket handshake) is not complete "
        "within this time; 0 = never.",
        "DURATION",
    ),
    Option(
        "max_login_failures",
        "--max-login-failures",
        "REFSERVICE_MAX_LOGIN_FAILURES",
        parse_count,
        "Failed logins per user name within the window before logins get 429; 0 = no limit.",
        "COUNT",
    ),
    Option(
        "login_failure_window",
        "--login-failure-window",
        "REFSERVICE_LOGIN_FAILURE_WINDOW",
        parse_duration,
        "The window of --max-login-failures (seconds, or 1m).",
        "DURATION",
    ),
    Option(
        "expiry_warning",
        "--expiry-warning",
        "REFSERVICE_EXPIRY_WARNING",
        parse_duration,
        "Send auth.expiring this long before a connection's token expires (it closes with 4001).",
        "DURATION",
    ),
    Option(
        "allowed_origins",
        "--allowed-origins",
        "REFSERVICE_ALLOWED_ORIGINS",
        parse_origins,
        "Comma-separated Origins a WebSocket handshake may come from (403 otherwise); empty = any.",
        "ORIGINS",
    ),
    Option(
        "max_connections_per_user",
        "--max-connections-per-user",
        "REFSERVICE_MAX_CONNECTIONS_PER_USER",
        parse_count,
        "Close (4008) a user's connection beyond this many open ones; 0 = unlimited.",
        "COUNT",
    ),
    Option(
        "max_messages_per_second",
        "--max-messages-per-second",
        "REFSERVICE_MAX_MESSAGES_PER_SECOND",
        parse_rate,
        "Data messages per second one connection may send (on average); more are not "
        "processed and get rate_limited errors; 0 = no limit.",
        "RATE",
    ),
    Option(
        "max_message_burst",
        "--max-message-burst",
        "REFSERVICE_MAX_MESSAGE_BURST",
        parse_count,
        "Data messages one connection may send back to back above --max-messages-per-second.",
        "COUNT",
    ),
    Option(
        "max_refused_messages",
        "--max-refused-messages",
        "REFSERVICE_MAX_REFUSED_MESSAGES",
        parse_count,
        "rate_limited messages one connection may get within --refused-message-window; the "
        "next message over the limit closes it with 1008; 0 = never closed for it.",
        "COUNT",
    ),
    Option(
        "refused_message_window",
        "--refused-message-window",
        "REFSERVICE_REFUSED_MESSAGE_WINDOW",
        parse_duration,
        "The window of --max-refused-messages (seconds, or 1m).",
        "DURATION",
    ),
    Option(
        "database",
        "--database",
        "REFSERVICE_DATABASE",
        str,
        "SQLite database file (':memory:' for a throwaway one).",
        "PATH",
    ),
    Option(
        "ws_implementation",
        "--ws-implementation",
        "REFSERVICE_WS_IMPLEMENTATION",
        _lower,
        f"uvicorn WebSocket implementation: {', '.join(WS_IMPLEMENTATIONS)}.",
        "IMPL",
    ),
    Option(
        "permessage_deflate",
        "--permessage-deflate",
        "REFSERVICE_PERMESSAGE_DEFLATE",
        parse_bool,
        "Negotiate permessage-deflate (off by default: compression next to tokens and "
        "attacker-chosen data invites CRIME/BREACH-style guessing).",
        "BOOL",
        const="true",
    ),
    Option(
        "tls_certfile",
        "--tls-certfile",
        "REFSERVICE_TLS_CERTFILE",
        _path,
        "PEM certificate (chain) to serve https:// and wss:// with; plain http:// without it.",
        "PATH",
    ),
    Option(
        "tls_keyfile",
        "--tls-keyfile",
        "REFSERVICE_TLS_KEYFILE",
        _path,
        "PEM private key of --tls-certfile, unless that file holds the key too.",
        "PATH",
    ),
    Option(
        "users",
        "--user",
        "REFSERVICE_USERS",
        parse_users,
        "Seeded user NAME:PASSWORD[:ROLE,ROLE]; repeat the flag. Env var: 'a:pw,b:pw:publisher'.",
        "NAME:PASSWORD[:ROLES]",
        repeat=True,
    ),
    Option(
        "seed_users",
        "--seed-users",
        "REFSERVICE_SEED_USERS",
        parse_count,
        "Also seed N users from --seed-user-pattern (user-1 ... user-N); 0 = none.",
        "COUNT",
    ),
    Option(
        "seed_user_pattern",
        "--seed-user-pattern",
        "REFSERVICE_SEED_USER_PATTERN",
        str,
        "NAME:PASSWORD[:ROLES] of the seeded users, {i} standing for 1 ... N.",
        "PATTERN",
    ),
    Option(
        "max_queue_length",
        "--max-queue-length",
        "REFSERVICE_MAX_QUEUE_LENGTH",
        parse_count,
        "Most unacknowledged events per user; a publish beyond it is refused (queue_full).",
        "COUNT",
    ),
    Option(
        "idempotency_key_ttl",
        "--idempotency-key-ttl",
        "REFSERVICE_IDEMPOTENCY_KEY_TTL",
        parse_duration,
        "How long a publish's idempotency key is remembered (seconds, or 24h): a retry with "
        "the key within it stores nothing and gets the first outcome.",
        "DURATION",
    ),
    Option(
        "state_history",
        "--state-history",
        "REFSERVICE_STATE_HISTORY",
        parse_count,
        "State patches kept per user for state.resume; older clients get a snapshot.",
        "COUNT",
    ),
    Option(
        "max_outbox_messages",
        "--max-outbox-messages",
        "REFSERVICE_MAX_OUTBOX_MESSAGES",
        parse_count,
        "Most messages waiting to be sent on one connection; beyond it closes with 4009.",
        "COUNT",
    ),
    Option(
        "max_outbox_bytes",
        "--max-outbox-bytes",
        "REFSERVICE_MAX_OUTBOX_BYTES",
        parse_size,
        "Most bytes waiting to be sent on one connection; beyond it closes with 4009.",
        "BYTES",
    ),
    Option(
        "bind_timeout",
        "--bind-timeout",
        "REFSERVICE_BIND_TIMEOUT",
        parse_duration,
        "Keep retrying to bind a busy fixed port for this long (restarts); 0 = fail at once.",
        "DURATION",
    ),
    Option(
        "log_level",
        "--log-level",
        "REFSERVICE_LOG_LEVEL",
        _lower,
        f"Log level: {', '.join(LOG_LEVELS)}.",
        "LEVEL",
    ),
    Option(
        "conformance_echo",
        "--conformance-echo",
        "REFSERVICE_CONFORMANCE_ECHO",
        parse_bool,
        "Conformance runs only: add the plain echo route /conformance/echo (off by default).",
        "BOOL",
        const="true",
    ),
    Option(
        "public_metrics",
        "--public-metrics",
        "REFSERVICE_PUBLIC_METRICS",
        parse_bool,
        f"Serve GET /metrics without a token (off by default: it needs an access token with "
        f"the {METRICS_ROLE!r} role, since it lists users and their queues).",
        "BOOL",
        const="true",
    ),
    Option(
        "parent_pid",
        "--parent-pid",
        "REFSERVICE_PARENT_PID",
        int,
        "Stop when the process with this pid is no longer the parent (no orphans).",
        "PID",
    ),
)

OPTIONS_BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refservice",
        description="Reference WebSocket + JWT service for the QA toolkit.",
        epilog="Every flag also reads an environment variable; the flag wins.",
    )
    for option in OPTIONS:
        help_text = f"{option.help} [env: {option.env}]"
        if option.repeat:
            parser.add_argument(
                option.flag,
                dest=option.name,
                action="append",
                metavar=option.metavar,
                help=help_text,
            )
        elif option.const is not None:
            parser.add_argument(
                option.flag,
                dest=option.name,
                nargs="?",
                const=option.const,
                metavar=option.metavar,
                help=help_text,
            )
        else:
            parser.add_argument(
                option.flag, dest=option.name, metavar=option.metavar, help=help_text
            )
    return parser


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build :class:`Settings` from ``argv`` (flags) and ``environ`` (env vars).

    Raises :class:`ConfigError` for invalid values; ``argparse`` exits for unknown flags.
    """
    environ = os.environ if environ is None else environ
    args = build_parser().parse_args(argv)
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = getattr(args, option.name)
        if raw is not None:
            if option.repeat:
                values[option.name] = tuple(option.parse_each(item) for item in raw)
            else:
                values[option.name] = option.parse(raw)
        elif environ.get(option.env):
            values[option.name] = option.parse(environ[option.env])
    return Settings(**values)
