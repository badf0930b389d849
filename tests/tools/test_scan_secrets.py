"""tools/scan_secrets.py on real Robot Framework runs: it finds what a reviewer would."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from ReferenceServiceLibrary.process import SECRETS_MANIFEST_VARIABLE, ServiceProcess

TOOL = Path(__file__).resolve().parents[2] / "tools" / "scan_secrets.py"
_spec = importlib.util.spec_from_file_location("scan_secrets", TOOL)
assert _spec is not None and _spec.loader is not None
scan_secrets = importlib.util.module_from_spec(_spec)
sys.modules["scan_secrets"] = scan_secrets  # dataclasses look their module up
_spec.loader.exec_module(scan_secrets)

SECRET = "s3cret-Of-The-Service-" + "x" * 20
PASSWORD = "hunter2-password"
ISSUED = jwt.encode({"sub": "alice", "exp": 1}, SECRET, algorithm="HS256")
FORGED = jwt.encode({"sub": "alice"}, "another-key-" + "y" * 30, algorithm="HS256")

# Each test leaks in one of the ways Robot writes values; the long ones end up
# compressed in log.html's string table.
LEAKY_SUITE = f"""
*** Variables ***
${{SECRET}}       {SECRET}
${{PASSWORD}}     {PASSWORD}
${{ISSUED}}       {ISSUED}
${{FORGED}}       {FORGED}

*** Test Cases ***
Logged Secret
    Log    The secret is ${{SECRET}} and it is {"long " * 30}

Assigned Dictionary
    VAR    &{{credentials}}    username=alice    password=${{PASSWORD}}

Documentation Expands
    Keyword With Documentation

Argument
    Should Be Equal    ${{ISSUED}}    ${{ISSUED}}
    Log    ${{ISSUED}}

Forged Token Only
    Log    ${{FORGED}}

*** Keywords ***
Keyword With Documentation
    [Documentation]    Uses ${{PASSWORD}} for the login.
    No Operation
"""

CLEAN_SUITE = """
*** Test Cases ***
Nothing Secret
    Log    alice logged in
"""


def robot_run(tmp_path: Path, suite: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "leaks.robot"
    source.write_text(suite, encoding="utf-8")
    results = tmp_path / "results"
    subprocess.run(
        [sys.executable, "-m", "robot", "--outputdir", str(results), "--console", "none",
         str(source)],
        check=False,
    )  # fmt: skip
    assert (results / "log.html").exists()
    return results


def manifest_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.jsonl"
    path.write_text(json.dumps({"jwt_secret": SECRET, "passwords": [PASSWORD]}) + "\n")
    return path


def test_every_way_robot_writes_a_value_is_found(tmp_path: Path) -> None:
    results = robot_run(tmp_path, LEAKY_SUITE)
    manifest = scan_secrets.Manifest.read([manifest_file(tmp_path)], [], [])
    report = scan_secrets.scan([results], manifest)
    found = {(hit.file.name, hit.what) for hit in report.hits}
    for name in ("output.xml", "log.html"):
        assert {(name, "JWT secret"), (name, "password"), (name, "valid token")} <= found
    # log.html's string table was decoded, and the compressed strings hold the secret too.
    assert any(h.file.name == "log.html" and h.place.startswith("string #") for h in report.hits)
    assert report.strings_decoded > 10
    # The forged token was seen, but it is no credential.
    assert report.tokens_seen == 2
    assert not any(FORGED in hit.context or SECRET in hit.context for hit in report.hits)


def test_the_command_fails_on_a_hit_and_passes_a_clean_run(tmp_path: Path) -> None:
    leaky = robot_run(tmp_path / "leaky", LEAKY_SUITE)
    clean = robot_run(tmp_path / "clean", CLEAN_SUITE)
    manifest = manifest_file(tmp_path)
    assert scan_secrets.main(["--manifest", str(manifest), str(leaky)]) == 1
    assert scan_secrets.main(["--manifest", str(manifest), str(clean)]) == 0


def test_decode_log_string_reads_both_forms() -> None:
    import base64
    import zlib

    text = "a value " * 20
    compressed = base64.b64encode(zlib.compress(text.encode(), 9)).decode()
    assert scan_secrets.decode_log_string(compressed) == text
    assert scan_secrets.decode_log_string("*plain") == "plain"
    assert scan_secrets.decode_log_string("") == ""


@pytest.mark.parametrize(
    ("written", "text"),
    [(r"\x3c/b>", "</b>"), (r"a\\x3c", r"a\x3c")],  # Robot writes "</" as "\x3c/"
)
def test_javascript_escapes_of_the_string_table(written: str, text: str) -> None:
    html = f'window.output["strings"] = window.output["strings"].concat(["*{written}"]);\n'
    assert list(scan_secrets.log_strings(html)) == [(0, text)]


def test_the_service_library_records_its_secrets_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "scan" / "secrets.jsonl"
    ServiceProcess(users=["dave:dave-password-1"], workdir=tmp_path / "a")
    assert not manifest.exists()
    monkeypatch.setenv(SECRETS_MANIFEST_VARIABLE, str(manifest))
    service = ServiceProcess(users=["dave:dave-password-1"], seed_users=2, workdir=tmp_path / "b")
    (entry,) = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert entry["jwt_secret"] == service.jwt_secret
    assert entry["passwords"] == ["dave-password-1", "user-1-password", "user-2-password"]


def test_a_service_log_is_kept_for_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(SECRETS_MANIFEST_VARIABLE, str(tmp_path / "secrets.jsonl"))
    service = ServiceProcess().start()
    log_name = f"{service.workdir.name}.log"
    service.cleanup()
    assert not service.workdir.exists()
    kept = (tmp_path / "service-logs" / log_name).read_text(encoding="utf-8")
    assert "127.0.0.1" in kept
    manifest = scan_secrets.Manifest.read([tmp_path / "secrets.jsonl"], [], [])
    assert scan_secrets.scan([tmp_path / "service-logs"], manifest).hits == []
