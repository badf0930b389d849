"""Let mutmut 3 see which tests reach mutated code inside the reference service subprocess.

Why: mutmut 3 maps every mutated function to the tests that call it ("stats" run, with
MUTANT_UNDER_TEST=stats). Its trampoline records a call in the memory of the process that
makes it. The reference service runs as a child process (``python -m refservice``), which
inherits MUTANT_UNDER_TEST and imports the mutated copy (mutants/refservice, because
ReferenceServiceLibrary.process puts the parent's ``refservice`` package root first on the
child's PYTHONPATH). In that child the stock recorder

* crashes: it loads mutmut's config from the child's cwd (the service work directory, no
  pyproject.toml), raising FileNotFoundError from the first mutated call (store.py calls
  ``hash_password`` at import time), so the service never starts and the stats run fails;
* and, even if it did not, the hits would stay in the child and be lost, so every
  function reached only through the service would be reported as "no tests".

What this does (only while MUTANT_UNDER_TEST=stats; a no-op in every other run):

* as a pytest plugin (``-p mutmut_subprocess_stats`` in [tool.mutmut] pytest_add_cli_args)
  in the test process: makes a hits file, exports its path in WSQA_MUTMUT_CHILD_HITS (the
  child inherits it), and before mutmut's own teardown hook reads the lines the children
  appended since the last test and adds them to mutmut's per-test hit set, so they are
  attributed to the test that was running;
* from ``sitecustomize`` in a child: replaces the trampoline's recorder with one that
  appends the function's key to that file.

The directory holding this file must be on PYTHONPATH (absolute) when mutmut runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import pytest

HITS_ENV = "WSQA_MUTMUT_CHILD_HITS"

_fd: int | None = None


def install_child() -> None:
    """In a child process of a test: append trampoline hits to the shared hits file."""
    global _fd
    _fd = os.open(os.environ[HITS_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    from mutmut.mutation import trampoline

    def record_in_file(name: str, caller: str | None = None) -> None:
        # One O_APPEND write per call: atomic, so concurrent children never interleave.
        assert _fd is not None
        os.write(_fd, (name + "\n").encode())

    trampoline.record_trampoline_hit = record_in_file


class _ChildHits:
    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="mutmut-child-hits-", suffix=".txt")
        os.close(fd)
        self.offset = 0

    def drain(self) -> set[str]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines; a partial one is read next time
        self.offset += end
        return {line for line in data[:end].decode().splitlines() if line}


_hits: _ChildHits | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _hits
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    _hits = _ChildHits()
    os.environ[HITS_ENV] = _hits.path


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _hits is None:
        return
    from mutmut.state import state

    state()._stats.update(_hits.drain())


def pytest_unconfigure(config: pytest.Config) -> None:
    global _hits
    if _hits is None:
        return
    os.environ.pop(HITS_ENV, None)
    with contextlib.suppress(OSError):
        os.unlink(_hits.path)
    _hits = None
