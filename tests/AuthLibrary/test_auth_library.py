"""The library as Robot Framework sees it: keywords, docs, libdoc and a real run."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
from pathlib import Path

import robot
from robot.api import ExecutionResult

from AuthLibrary import AuthLibrary, __version__

LIBRARIES = Path(inspect.getfile(AuthLibrary)).resolve().parents[1]

EXPECTED_KEYWORDS = {
    "create_token",
    "set_token_defaults",
    "get_token_defaults",
    "reset_token_defaults",
    "create_expired_token",
    "create_token_with_bad_signature",
    "create_unsigned_token",
    "create_malformed_token",
    "create_token_without_claim",
    "create_key_confusion_token",
    "create_token_with_tampered_payload",
    "create_psychic_signature_token",
    "create_token_with_empty_key",
    "create_token_with_headers",
    "generate_key_pair",
    "generate_secret",
    "get_public_key",
    "Get Public Key As JWK",
    "decode_token_without_verification",
    "get_token_header",
    "get_token_claim",
    "verify_token",
    "token_should_be_valid",
    "token_should_be_invalid",
    "token_should_be_expired",
    "token_should_not_be_expired",
    "token_claim_should_be",
    "token_should_have_claim",
    "token_should_not_have_claim",
    "log_token",
}


def test_library_attributes() -> None:
    assert AuthLibrary.ROBOT_LIBRARY_SCOPE == "GLOBAL"
    assert __version__ == AuthLibrary.ROBOT_LIBRARY_VERSION


def test_keyword_set() -> None:
    assert set(AuthLibrary().get_keyword_names()) == EXPECTED_KEYWORDS


def test_every_keyword_has_docstring_example_tags_and_types() -> None:
    library = AuthLibrary()
    for name in library.get_keyword_names():
        doc = library.get_keyword_documentation(name)
        assert doc and len(doc.splitlines()[0]) > 20, f"{name} needs a docstring"
        assert "| =" in doc, f"{name} needs an example table with a header row"
        assert library.get_keyword_tags(name), f"{name} needs tags"
        method = library.keywords[name]
        signature = inspect.signature(method)
        untyped = [
            p
            for p in signature.parameters
            if signature.parameters[p].annotation is inspect.Parameter.empty
        ]
        assert not untyped, f"{name} has untyped arguments {untyped}"


def test_library_intro_and_init_docs() -> None:
    library = AuthLibrary()
    assert "= Token defaults =" in library.get_keyword_documentation("__intro__")
    assert "secret" in library.get_keyword_documentation("__init__")


def test_libdoc_renders_without_warnings(tmp_path: Path) -> None:
    output = tmp_path / "AuthLibrary.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot.libdoc",
            "--pythonpath",
            str(LIBRARIES),
            "AuthLibrary",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "WARN" not in result.stdout
    assert output.stat().st_size > 10_000


SUITE = """\
*** Settings ***
Library    OperatingSystem
Library    AuthLibrary    secret=${SECRET}    issuer=suite-issuer    audience=chat-api
...    algorithm=HS256    lifetime=15 min

*** Variables ***
${SECRET}    robot-suite-secret-that-is-at-least-32-bytes

*** Test Cases ***
Durations Convert From Robot Time Format
    ${token} =    Create Token    {"sub": "alice", "level": 3}    lifetime=5 min
    ...    not_before=-10 s
    ${claims} =    Verify Token    ${token}    leeway=2 s    required_claims=["exp", "nbf"]
    ${lifetime} =    Evaluate    $claims["exp"] - $claims["iat"]
    Should Be Equal As Integers    ${lifetime}    300
    ${offset} =    Evaluate    $claims["iat"] - $claims["nbf"]
    Should Be Equal As Integers    ${offset}    10
    Token Claim Should Be    ${token}    level    3
    Token Claim Should Be    ${token}    iss    suite-issuer

Negative Tokens Are Rejected For The Right Reason
    ${expired} =    Create Expired Token    expired_by=2 min
    Token Should Be Expired    ${expired}
    Token Should Be Invalid    ${expired}    reason=expired
    ${bad} =    Create Token With Bad Signature    defect=wrong key
    Token Should Be Invalid    ${bad}    reason=bad signature
    ${none} =    Create Unsigned Token    alg=NONE
    Token Should Be Invalid    ${none}    reason=algorithm not allowed
    ${broken} =    Create Malformed Token    header not JSON
    Token Should Be Invalid    ${broken}    reason=malformed
    ${no_exp} =    Create Token Without Claim    exp
    Token Should Be Invalid    ${no_exp}    reason=missing claim    required_claims=["exp"]

Key Pairs And Defaults
    ${pair} =    Generate Key Pair    ES256
    ${previous} =    Set Token Defaults    algorithm=ES256    private_key=${pair.private_key}
    ${token} =    Create Token    subject=bob
    Verify Token    ${token}    key=${pair.public_key}    subject=bob
    Verify Token    ${token}    key=${pair.public_key}    algorithms=["ES256", "ES384"]
    ${jwk} =    Get Public Key As JWK    ${pair.private_key}    kid=k1
    Should Be Equal    ${jwk}[crv]    P-256
    Set Token Defaults    &{previous}
    ${header} =    Get Token Header    ${token}
    Should Be Equal    ${header}[alg]    ES256
    ${token} =    Create Token
    Should Be Equal    ${{jwt.get_unverified_header($token)["alg"]}}    HS256

Failure Message Is Plain
    ${expired} =    Create Expired Token
    Run Keyword And Expect Error    Token is expired: exp * in the past (leeway 0 s).
    ...    Verify Token    ${expired}

Masked At Info
    ${token} =    Create Token    jti=masked-at-info
    Log    Bearer ${token}
    Create File    ${OUTPUT DIR}/info_token.txt    ${token}

Full At Debug
    Set Log Level    DEBUG
    ${token} =    Create Token    jti=full-at-debug
    Set Log Level    INFO
    Create File    ${OUTPUT DIR}/debug_token.txt    ${token}
"""


def _messages(result: ExecutionResult, test_name: str) -> list[str]:
    test = next(t for t in result.suite.all_tests if t.name == test_name)
    found: list[str] = []

    def walk(item: object) -> None:
        for child in getattr(item, "body", ()):
            if getattr(child, "type", "") == "MESSAGE":
                found.append(child.message)
            else:
                walk(child)

    walk(test)
    return found


def test_robot_suite_runs(tmp_path: Path) -> None:
    suite = tmp_path / "auth.robot"
    suite.write_text(SUITE, encoding="utf-8")
    stdout = io.StringIO()
    rc = robot.run(
        str(suite),
        pythonpath=[str(LIBRARIES)],
        outputdir=str(tmp_path),
        output="output.xml",
        log=None,
        report=None,
        loglevel="INFO",
        stdout=stdout,
        stderr=stdout,
    )
    result = ExecutionResult(str(tmp_path / "output.xml"))
    failures = {t.name: t.message for t in result.suite.all_tests if not t.passed}
    assert rc == 0, f"{failures}\n{stdout.getvalue()}"
    info_token = (tmp_path / "info_token.txt").read_text(encoding="utf-8")
    debug_token = (tmp_path / "debug_token.txt").read_text(encoding="utf-8")
    masked = f"{info_token[:10]}…(masked, {len(info_token)} chars)"
    info_logs = _messages(result, "Masked At Info")
    assert not [m for m in info_logs if info_token[:40] in m], info_logs
    # The library's own message, Robot's "${token} = ..." line and BuiltIn's Log: all masked.
    assert f"Created HS256 token {masked}" in info_logs
    # Robot cuts the value to 200 characters before listeners see it; the rest is masked.
    assert any(m.startswith(f"${{token}} = {info_token[:10]}…(masked, ") for m in info_logs)
    assert f"Bearer {masked}" in info_logs
    debug_logs = _messages(result, "Full At Debug")
    assert f"Created HS256 token {debug_token}" in debug_logs
