"""The service as an Autobahn server: no strict failure on ``/conformance/echo``.

Runs the server cases of groups 1 to 7 and 10 (the RFC 6455 behaviour, a few seconds)
against the real service started with ``--conformance-echo``; ``tox -e autobahn`` adds
the 9.x limits (and, on request, the 12.x/13.x compression groups). kosoku
comes with the ``dev`` extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))

import run_server_cases


def test_no_server_case_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    groups = ["-i", "1.*", "-i", "2.*", "-i", "3.*", "-i", "4.*", "-i", "5.*"]
    groups += ["-i", "6.*", "-i", "7.*", "-i", "10.*"]
    status = run_server_cases.main([*groups, "-o", str(tmp_path)])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "/conformance/echo" in output and "247 cases" in output
    assert "7.1.5" not in output.partition("non-strict cases:")[0]  # passed, not failed
