"""Where the transcript lands in output.xml in each mode, from a real Robot Framework run."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from robot import rebot, run
from robot.api import ExecutionResult
from robot.result import Keyword, Message
from robot.result import TestCase as RobotTest

LIBRARIES = str(Path(__file__).parents[2] / "libraries")
TOOL = Path(__file__).resolve().parents[2] / "tools" / "scan_secrets.py"

SUITE = """
*** Settings ***
Library    WebSocketLibrary    timeout=2s    transcript=${MODE}
Suite Setup    Connect    ${URL}/echo    alias=suite
Test Teardown    Close All Connections

*** Test Cases ***
Passing Round Trips
    Connect    ${URL}/echo
    FOR    ${i}    IN RANGE    3
        Send Text Message    round trip ${i}
        Receive Message
    END

Failing Wait
    Connect    ${URL}/echo
    Send Text Message    only this
    Wait For Message    regex=never    timeout=0.1s

Failing Measurement
    Connect    ${URL}/slow-echo
    Measure Reply Times    2    {"id":{i}}    budget=max < 1 ms    id={i}
"""


def transcripts(item: RobotTest | Keyword) -> list[tuple[str, Message]]:
    """Every transcript block under ``item``: the name of the item that holds it, the block."""
    found = []
    for child in item.body:
        if isinstance(child, Message):
            if "websocket-transcript" in child.message:
                found.append((item.name, child))
        elif hasattr(child, "body"):
            found += transcripts(child)
    for part in ("setup", "teardown"):
        keyword = getattr(item, part, None)
        if keyword:
            found += transcripts(keyword)
    return found


@pytest.fixture(scope="module")
def runs(peer, tmp_path_factory) -> dict[str, Any]:
    """The suite run once in each mode: tests by name, by mode; "<mode> output": its file."""
    results: dict[str, Any] = {}
    directory = tmp_path_factory.mktemp("modes")
    suite = directory / "modes.robot"
    suite.write_text(SUITE)
    for mode in ("test", "keyword", "failure", "off"):
        output = directory / f"{mode}.xml"
        with open(directory / f"{mode}.txt", "w") as stdout:
            run(
                str(suite), output=str(output), log="NONE", report="NONE",
                pythonpath=[LIBRARIES], variable=[f"URL:{peer}", f"MODE:{mode}"],
                stdout=stdout,
            )  # fmt: skip
        results[f"{mode} output"] = output
        result = ExecutionResult(str(output))
        results[mode] = {"suite setup": result.suite.setup} | {
            test.name: test for test in result.suite.tests
        }
    return results


def test_test_mode_writes_one_block_per_test_with_every_event(runs):
    tests = runs["test"]
    assert tests["Passing Round Trips"].status == "PASS"
    blocks = transcripts(tests["Passing Round Trips"])
    assert [holder for holder, _ in blocks] == ["Close All Connections"], "once, at the end"
    text = blocks[0][1].message
    for n in range(3):
        assert re.search(rf"→ text +12  round trip {n}\n", text)
        assert re.search(rf"← text +12  round trip {n}\n", text)
    assert text.count("handshake") == 2, "the request and the 101"
    [(holder, _)] = transcripts(tests["suite setup"])
    assert holder == "Connect", "the suite setup's traffic is in the suite setup"


def test_a_failing_keyword_writes_the_transcript_in_itself(runs):
    for mode in ("test", "failure"):
        blocks = transcripts(runs[mode]["Failing Wait"])
        assert blocks[0][0] == "Wait For Message", mode
        assert re.search(r"#1 → text +9  only this\n", blocks[0][1].message)
        assert re.search(r"#1 ← text +9  only this", blocks[0][1].message)


def test_keyword_mode_writes_a_block_after_each_keyword(runs):
    blocks = transcripts(runs["keyword"]["Passing Round Trips"])
    holders = [holder for holder, _ in blocks]
    assert holders.count("Send Text Message") == 3
    assert holders.count("Receive Message") + holders.count("Send Text Message") >= 5


def test_failure_mode_writes_nothing_for_passing_tests(runs):
    assert transcripts(runs["failure"]["Passing Round Trips"]) == []
    assert transcripts(runs["failure"]["suite setup"]) == []


def test_off_writes_nothing(runs):
    for test in runs["off"].values():
        assert transcripts(test) == []
    assert runs["off"]["Failing Wait"].status == "FAIL"


def test_a_failing_measurement_shows_its_figures_and_the_transcript(runs):
    test = runs["test"]["Failing Measurement"]
    assert test.status == "FAIL"
    assert "the budget max < 1.00 ms does not hold" in test.message
    keyword = next(k for k in test.body if isinstance(k, Keyword) and k.name.startswith("Measure"))
    messages = [m.message for m in keyword.body if isinstance(m, Message)]
    assert any("Reply times" in m and "p95" in m for m in messages), messages
    blocks = [m for m in messages if "websocket-transcript" in m]
    assert blocks and re.search(r'→ text +8  {"id":2}', blocks[0]), messages


def test_log_html_shows_the_failing_measurement_s_figures_and_transcript(runs, tmp_path):
    # log.html keeps its strings compressed: decode them as the secrets scan does.
    spec = importlib.util.spec_from_file_location("scan_secrets", TOOL)
    assert spec is not None and spec.loader is not None
    scan_secrets = importlib.util.module_from_spec(spec)
    sys.modules["scan_secrets"] = scan_secrets
    spec.loader.exec_module(scan_secrets)
    log = tmp_path / "log.html"
    rebot(
        str(runs["test output"]), log=str(log), report="NONE", output="NONE",
        stdout=open(tmp_path / "rebot.txt", "w"),  # noqa: SIM115
    )  # fmt: skip
    strings = [text for _, text in scan_secrets.log_strings(log.read_text())]
    assert any("Reply times" in text and "<th>p95</th>" in text for text in strings)
    assert any("websocket-transcript" in text and '{"id":2}' in text for text in strings)
    assert any("the budget max &lt; 1.00 ms does not hold" in text or
               "the budget max < 1.00 ms does not hold" in text for text in strings)  # fmt: skip
