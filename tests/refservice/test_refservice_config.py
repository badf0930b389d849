"""Settings come from flags and REFSERVICE_* env vars; flags win."""

from __future__ import annotations

from pathlib import Path

import pytest

from refservice.config import (
    DEFAULT_USERS,
    OPTIONS,
    ConfigError,
    Settings,
    load_settings,
    parse_duration,
    parse_size,
)


def test_defaults_listen_on_loopback() -> None:
    settings = load_settings([], {})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8765
    assert settings.jwt_algorithm == "HS256"
    assert settings.jwt_secret  # generated
    assert settings.issuer == "refservice"
    assert settings.audience == "refservice-clients"
    assert settings.access_token_ttl == 900
    assert settings.refresh_token_ttl == 86400
    assert settings.leeway == 0
    assert settings.max_message_size == 64 * 1024
    assert settings.database == "refservice.db"
    assert settings.ws_implementation == "websockets-sansio"
    assert settings.users == DEFAULT_USERS
    assert settings.url_file is None
    assert settings.heartbeat_interval == 20.0
    assert settings.heartbeat_timeout == 20.0
    assert settings.idle_timeout == 0
    assert settings.max_connections_per_user == 100
    assert settings.conformance_echo is False


def test_random_secret_differs_per_start() -> None:
    assert load_settings([], {}).jwt_secret != load_settings([], {}).jwt_secret


def test_flags_win_over_environment() -> None:
    env = {"REFSERVICE_PORT": "9000", "REFSERVICE_ISSUER": "env-issuer", "REFSERVICE_LEEWAY": "3"}
    settings = load_settings(["--port", "0", "--issuer", "flag-issuer"], env)
    assert settings.port == 0
    assert settings.issuer == "flag-issuer"
    assert settings.leeway == 3.0


def test_every_setting_has_a_flag_and_env_var() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {option.name for option in OPTIONS} == fields
    for option in OPTIONS:
        assert option.env == "REFSERVICE_" + option.name.upper()
        assert option.flag.startswith("--")


def test_users_from_repeated_flag_and_env() -> None:
    assert load_settings(["--user", "dave:pw1", "--user", "erin:p:w:"], {}).users == (
        ("dave", "pw1", ()),
        ("erin", "p:w", ()),
    )
    assert load_settings([], {"REFSERVICE_USERS": "a:1, b:2"}).users == (
        ("a", "1", ()),
        ("b", "2", ()),
    )


def test_users_with_roles() -> None:
    assert load_settings(["--user", "pub:pw:publisher,admin", "--user", "x:p:w:"], {}).users == (
        ("pub", "pw", ("publisher", "admin")),
        ("x", "p:w", ()),
    )
    assert load_settings([], {"REFSERVICE_USERS": "a:1:publisher,admin, b:2"}).users == (
        ("a", "1", ("publisher", "admin")),
        ("b", "2", ()),
    )
    with pytest.raises(ConfigError):
        load_settings(["--user", "a:pw:bad role"], {})


def test_default_users_include_the_publisher() -> None:
    users = {name: (password, roles) for name, password, roles in load_settings([], {}).users}
    assert users["publisher"] == ("publisher-password", ("publisher",))
    assert users["alice"] == ("alice-password", ())


def test_queue_and_state_settings() -> None:
    defaults = load_settings([], {})
    assert (defaults.max_queue_length, defaults.state_history, defaults.bind_timeout) == (
        10000,
        100,
        0.0,
    )
    settings = load_settings(
        ["--max-queue-length", "5", "--bind-timeout", "2s"], {"REFSERVICE_STATE_HISTORY": "0"}
    )
    assert (settings.max_queue_length, settings.state_history, settings.bind_timeout) == (
        5,
        0,
        2.0,
    )
    with pytest.raises(ConfigError):
        load_settings(["--max-queue-length", "0"], {})


def test_idempotency_key_ttl_from_flag_and_env() -> None:
    assert load_settings([], {}).idempotency_key_ttl == 24 * 3600.0
    assert load_settings(["--idempotency-key-ttl", "15m"], {}).idempotency_key_ttl == 900.0
    env = {"REFSERVICE_IDEMPOTENCY_KEY_TTL": "2h"}
    assert load_settings([], env).idempotency_key_ttl == 7200.0


def test_paths_and_sizes(tmp_path: Path) -> None:
    settings = load_settings(
        ["--url-file", str(tmp_path / "u.json"), "--max-message-size", "1KiB"], {}
    )
    assert settings.url_file == tmp_path / "u.json"
    assert settings.max_message_size == 1024


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0.2", 0.2), ("5", 5.0), ("500ms", 0.5), ("15m", 900.0), ("24h", 86400.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_size() -> None:
    assert parse_size("65536") == 65536
    assert parse_size("64KiB") == 65536
    assert parse_size("1MiB") == 1024 * 1024


@pytest.mark.parametrize(
    "argv",
    [
        ["--access-token-ttl", "soon"],
        ["--max-message-size", "big"],
        ["--jwt-algorithm", "none"],
        ["--jwt-algorithm", "RS256"],  # needs a private key
        ["--ws-implementation", "tornado"],
        ["--user", "nopassword"],
        ["--port", "70000"],
        ["--access-token-ttl", "0"],
        ["--heartbeat-interval", "-1"],
        ["--heartbeat-timeout", "0"],
        ["--idle-timeout", "never"],
        ["--max-connections-per-user", "-1"],
        ["--max-connections-per-user", "1.5"],
        ["--max-messages-per-second", "-1"],
        ["--max-messages-per-second", "fast"],
        ["--max-message-burst", "0"],
        ["--max-refused-messages", "-1"],
        ["--refused-message-window", "0"],
        ["--idempotency-key-ttl", "0"],
        ["--idempotency-key-ttl", "forever"],
    ],
)
def test_invalid_values_are_refused(argv: list[str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(argv, {})


def test_liveness_settings_from_flags_and_env() -> None:
    settings = load_settings(
        ["--heartbeat-interval", "0.2", "--idle-timeout", "500ms"],
        {
            "REFSERVICE_HEARTBEAT_INTERVAL": "5",
            "REFSERVICE_HEARTBEAT_TIMEOUT": "0.3",
            "REFSERVICE_MAX_CONNECTIONS_PER_USER": "3",
        },
    )
    assert settings.heartbeat_interval == 0.2
    assert settings.heartbeat_timeout == 0.3
    assert settings.idle_timeout == 0.5
    assert settings.max_connections_per_user == 3
    disabled = load_settings(["--heartbeat-interval", "0"], {})
    assert disabled.heartbeat_interval == 0


def test_message_rate_limit_settings_from_flags_and_env() -> None:
    defaults = load_settings([], {})
    assert (
        defaults.max_messages_per_second,
        defaults.max_message_burst,
        defaults.max_refused_messages,
        defaults.refused_message_window,
    ) == (200.0, 400, 100, 10.0)
    settings = load_settings(
        ["--max-messages-per-second", "2.5", "--refused-message-window", "1m"],
        {
            "REFSERVICE_MAX_MESSAGES_PER_SECOND": "99",
            "REFSERVICE_MAX_MESSAGE_BURST": "5",
            "REFSERVICE_MAX_REFUSED_MESSAGES": "0",
        },
    )
    assert (
        settings.max_messages_per_second,
        settings.max_message_burst,
        settings.max_refused_messages,
        settings.refused_message_window,
    ) == (2.5, 5, 0, 60.0)
    assert load_settings(["--max-messages-per-second", "0"], {}).max_messages_per_second == 0


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, False),
        (["--conformance-echo"], {}, True),
        (["--conformance-echo", "true"], {}, True),
        (["--conformance-echo", "True"], {}, True),  # how ServiceProcess passes it
        (["--conformance-echo", "false"], {"REFSERVICE_CONFORMANCE_ECHO": "1"}, False),
        ([], {"REFSERVICE_CONFORMANCE_ECHO": "yes"}, True),
        ([], {"REFSERVICE_CONFORMANCE_ECHO": "off"}, False),
        (["--conformance-echo", "--port", "0"], {}, True),
    ],
)
def test_conformance_echo_switch(argv: list[str], env: dict[str, str], expected: bool) -> None:
    assert load_settings(argv, env).conformance_echo is expected


def test_conformance_echo_refuses_other_values() -> None:
    with pytest.raises(ConfigError, match="not a boolean"):
        load_settings(["--conformance-echo", "maybe"], {})


def test_every_setting_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    for option in OPTIONS:
        assert f"| `{option.flag}" in doc, option.flag
        assert f"`{option.env}`" in doc, option.env


def test_seed_users_from_the_default_pattern() -> None:
    settings = load_settings(["--seed-users", "3"], {})
    assert settings.seeded_users() == (
        ("user-1", "user-1-password", ()),
        ("user-2", "user-2-password", ()),
        ("user-3", "user-3-password", ()),
    )
    assert settings.users == DEFAULT_USERS  # seeded users come on top of --user
    assert Settings().seeded_users() == ()


def test_seed_user_pattern_with_roles_from_the_environment() -> None:
    settings = load_settings(
        [],
        {"REFSERVICE_SEED_USERS": "2", "REFSERVICE_SEED_USER_PATTERN": "tab{i}:pw-{i}:publisher"},
    )
    assert settings.seeded_users() == (
        ("tab1", "pw-1", ("publisher",)),
        ("tab2", "pw-2", ("publisher",)),
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed-users", "-1"], "must not be negative"),
        (["--seed-users", "100001"], "from 0 to 100000"),
        (["--seed-users", "2", "--seed-user-pattern", "same:pw-{i}"], "in the user name"),
        (["--seed-user-pattern", "user-{i}"], "NAME:PASSWORD"),
    ],
)
def test_bad_seed_settings_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(argv, {})


@pytest.mark.parametrize(
    ("algorithm", "secret", "bytes_needed"),
    [("HS256", "x", 32), ("HS256", "a" * 31, 32), ("HS384", "a" * 47, 48), ("HS512", "é" * 31, 64)],
)
def test_short_hmac_secrets_are_refused(algorithm: str, secret: str, bytes_needed: int) -> None:
    with pytest.raises(ConfigError, match=f"at least {bytes_needed} bytes"):
        Settings(jwt_algorithm=algorithm, jwt_secret=secret)


def test_hmac_secrets_as_long_as_the_hash_are_accepted() -> None:
    Settings(jwt_algorithm="HS256", jwt_secret="a" * 32)
    Settings(jwt_algorithm="HS512", jwt_secret="é" * 32)  # 64 bytes in UTF-8
