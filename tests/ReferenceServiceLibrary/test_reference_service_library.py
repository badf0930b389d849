"""The Robot Framework keywords, run through a real Robot suite."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests
from robot.libdocpkg import LibraryDocumentation
from robot.run import run

from ReferenceServiceLibrary import ReferenceServiceLibrary, ServiceError

SUITE = """
*** Settings ***
Library           ReferenceServiceLibrary
Library           Collections
Suite Teardown    Stop All Reference Services

*** Test Cases ***
Start Returns Connection Facts
    &{service}=    Start Reference Service    alias=main    access_token_ttl=2
    Should Start With    ${service}[ws_url]    ws://127.0.0.1:
    Should Start With    ${service}[http_url]    http://127.0.0.1:
    Should Be Equal    ${service}[issuer]    refservice
    Should Be Equal    ${service}[audience]    refservice-clients
    Dictionary Should Contain Key    ${service}    jwt_secret
    Dictionary Should Contain Key    ${service}    database
    Append To File    ${PIDS}    ${service}[pid]\\n

Second Service With Settings
    &{other}=    Start Reference Service    issuer=robot-issuer    users=robot:pw
    Should Be Equal    ${other}[issuer]    robot-issuer
    Append To File    ${PIDS}    ${other}[pid]\\n
    Stop Reference Service

Unknown Setting Fails With A Sentence
    Run Keyword And Expect Error    Unknown reference service setting 'colour'*
    ...    Start Reference Service    colour=red

Stopping An Unknown Alias Fails
    Run Keyword And Expect Error    No reference service named 'nope' was started.
    ...    Stop Reference Service    nope

Left Running For The Library To Stop
    &{service}=    Start Reference Service    alias=leftover
    Append To File    ${PIDS}    ${service}[pid]\\n

*** Keywords ***
Append To File
    [Arguments]    ${path}    ${text}
    Evaluate    open($path, 'a').write($text)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_robot_suite(tmp_path: Path) -> None:
    suite = tmp_path / "service.robot"
    suite.write_text(textwrap.dedent(SUITE))
    pids = tmp_path / "pids.txt"
    with open(tmp_path / "console.txt", "w") as console:
        rc = run(
            str(suite),
            outputdir=str(tmp_path),
            output="output.xml",
            log="NONE",
            report="NONE",
            variable=[f"PIDS:{pids}"],
            pythonpath=[p for p in sys.path if p],
            stdout=console,
            stderr=console,
        )
    assert rc == 0, (tmp_path / "console.txt").read_text()
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 3
    assert not any(_alive(pid) for pid in started)


def test_keywords_directly() -> None:
    library = ReferenceServiceLibrary()
    info: dict[str, Any] = library.start_reference_service(alias="direct", leeway="1")
    try:
        assert requests.get(f"{info['http_url']}/health", timeout=5).json() == {"status": "ok"}
        with pytest.raises(ServiceError, match="already running"):
            library.start_reference_service(alias="direct")
    finally:
        library.stop_reference_service()
    assert not _alive(info["pid"])
    with pytest.raises(ServiceError, match="No reference service was started."):
        library.stop_reference_service()
    library._close()


def test_tls_keyword_argument_serves_wss_and_returns_the_ca_file() -> None:
    library = ReferenceServiceLibrary()
    try:
        info: dict[str, Any] = library.start_reference_service(alias="secure", tls=True)
        assert info["ws_url"].startswith("wss://127.0.0.1:")
        response = requests.get(f"{info['http_url']}/health", timeout=5, verify=info["ca_file"])
        assert response.json() == {"status": "ok"}
        library.kill_reference_service("secure")
        with pytest.raises(ServiceError, match="starts again with its own settings"):
            library.start_reference_service(alias="secure", tls=False)
        again = library.start_reference_service(alias="secure")
        assert (again["ws_url"], again["ca_file"]) == (info["ws_url"], info["ca_file"])
        plain = library.start_reference_service(alias="plain")
        assert plain["ws_url"].startswith("ws://") and plain["ca_file"] is None
        with pytest.raises(ServiceError, match="either tls=True .* or tls_certfile"):
            library.start_reference_service(tls=True, tls_certfile="own.pem")
    finally:
        library.stop_all_reference_services()
        library._close()


def test_failures_hide_exception_name() -> None:
    assert ServiceError.ROBOT_SUPPRESS_NAME is True


def test_libdoc_has_keywords_and_docs() -> None:
    doc = LibraryDocumentation("ReferenceServiceLibrary")
    names = {kw.name for kw in doc.keywords}
    assert names == {
        "Start Reference Service",
        "Stop Reference Service",
        "Stop All Reference Services",
        "Restart Reference Service",
        "Kill Reference Service",
    }
    assert all(kw.doc for kw in doc.keywords)
    assert doc.scope == "GLOBAL"


RESTART_SUITE = """
*** Settings ***
Library           ReferenceServiceLibrary
Library           RequestsLibrary
Suite Teardown    Stop All Reference Services

*** Test Cases ***
Kill And Start Again Keeps Port And Data
    &{first}=    Start Reference Service    alias=main
    ${seq}=    Publish To Bob    ${first}[http_url]
    Should Be Equal As Integers    ${seq}    1
    Kill Reference Service    main
    Run Keyword And Expect Error    *connection*    GET    ${first}[http_url]/health
    Run Keyword And Expect Error    The reference service 'main' is stopped*
    ...    Start Reference Service    alias=main    leeway=1
    &{again}=    Start Reference Service    alias=main
    Should Be Equal    ${again}[ws_url]    ${first}[ws_url]
    Should Not Be Equal    ${again}[pid]    ${first}[pid]
    ${seq}=    Publish To Bob    ${again}[http_url]
    Should Be Equal As Integers    ${seq}    2

Restart Keeps Port And Data
    &{before}=    Start Reference Service    alias=other
    Publish To Bob    ${before}[http_url]
    &{after}=    Restart Reference Service    other    graceful=False
    Should Be Equal    ${after}[http_url]    ${before}[http_url]
    &{after}=    Restart Reference Service    timeout=2s
    Should Be Equal    ${after}[http_url]    ${before}[http_url]
    ${seq}=    Publish To Bob    ${after}[http_url]
    Should Be Equal As Integers    ${seq}    2

*** Keywords ***
Publish To Bob
    [Arguments]    ${url}
    &{login}=    Create Dictionary    username=publisher    password=publisher-password
    ${response}=    POST    ${url}/auth/login    json=${login}
    &{headers}=    Create Dictionary    Authorization=Bearer ${response.json()}[access_token]
    &{event}=    Create Dictionary    user=bob    data=hello
    ${response}=    POST    ${url}/events    json=${event}    headers=${headers}
    ...    expected_status=201
    RETURN    ${response.json()}[deliveries][0][seq]
"""


def test_robot_restart_and_kill(tmp_path: Path) -> None:
    suite = tmp_path / "restart.robot"
    suite.write_text(textwrap.dedent(RESTART_SUITE))
    with open(tmp_path / "console.txt", "w") as console:
        rc = run(
            str(suite),
            outputdir=str(tmp_path),
            output="output.xml",
            log="NONE",
            report="NONE",
            pythonpath=[p for p in sys.path if p],
            stdout=console,
            stderr=console,
        )
    assert rc == 0, (tmp_path / "console.txt").read_text()
