"""WebSocketLibrary as an Autobahn client: no strict failure in the protocol groups.

Runs the client cases of groups 1 to 7 and 10 (the RFC 6455 behaviour, a few
seconds); ``tox -e autobahn`` runs all of them, including the 9.x limits and the
12.x/13.x compression groups. kosoku comes with the ``dev`` extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))

import run_client_cases


def test_no_client_case_fails(tmp_path, capsys):
    groups = ["-i", "1.*", "-i", "2.*", "-i", "3.*", "-i", "4.*", "-i", "5.*"]
    groups += ["-i", "6.*", "-i", "7.*", "-i", "10.*"]
    status = run_client_cases.main([*groups, "-o", str(tmp_path)])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "total" in output and "247 cases" in output
