"""ServiceProcess: the plain-Python controller of the reference service process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from ReferenceServiceLibrary.process import ServiceError, ServiceProcess, settings_to_flags


def test_session_service_facts(service: ServiceProcess) -> None:
    assert service.running
    assert service.http_url.startswith("http://127.0.0.1:")
    assert service.ws_url == service.http_url.replace("http://", "ws://") + "/ws"
    assert len(service.jwt_secret) >= 64
    assert service.issuer == "refservice"
    assert service.audience == "refservice-clients"
    assert Path(service.database).exists()
    assert isinstance(service.pid, int)
    info = service.info()
    assert {"http_url", "ws_url", "jwt_secret", "issuer", "audience", "database"} <= set(info)
    url_file = json.loads(service.url_file.read_text())
    assert url_file["pid"] == service.pid
    assert url_file["http_url"] == service.http_url


def test_listening_line_is_logged(service: ServiceProcess) -> None:
    assert (
        f"refservice listening http_url={service.http_url} ws_url={service.ws_url}"
        in service.log_file.read_text()
    )


def test_settings_to_flags() -> None:
    assert settings_to_flags(
        {"access_token_ttl": 0.2, "max-message-size": 1024, "users": "a:1, b:2", "leeway": None}
    ) == [
        "--access-token-ttl",
        "0.2",
        "--max-message-size",
        "1024",
        "--user",
        "a:1",
        "--user",
        "b:2",
    ]
    assert settings_to_flags({"user": ["x:y"]}) == ["--user", "x:y"]


@pytest.mark.parametrize(
    ("settings", "text"),
    [({"colour": "red"}, "Unknown reference service setting 'colour'"), ({"port": 1}, "managed")],
)
def test_bad_settings_are_plain_sentences(settings: dict[str, Any], text: str) -> None:
    with pytest.raises(ServiceError, match=text):
        ServiceProcess(**settings)


def test_private_settings_reach_the_service(make_service: Any) -> None:
    custom = make_service(issuer="custom-issuer", audience="custom-aud", users="dave:dave-pw")
    assert (custom.issuer, custom.audience) == ("custom-issuer", "custom-aud")
    ok = requests.post(
        f"{custom.http_url}/auth/login", json={"username": "dave", "password": "dave-pw"}, timeout=5
    )
    assert ok.status_code == 200
    alice = requests.post(
        f"{custom.http_url}/auth/login",
        json={"username": "alice", "password": "alice-password"},
        timeout=5,
    )
    assert alice.status_code == 401


def test_stop_is_graceful_and_idempotent(tmp_path: Path) -> None:
    process = ServiceProcess(workdir=tmp_path)
    process.start()
    assert requests.get(f"{process.http_url}/health", timeout=5).ok
    assert process.stop() == 0
    assert not process.running
    assert process.stop() == 0
    assert not process.url_file.exists()  # removed by the service on exit
    assert Path(process.database).exists()  # kept for a later restart


def test_start_again_keeps_database(tmp_path: Path) -> None:
    process = ServiceProcess(workdir=tmp_path, users="zed:zed-pw")
    process.start()
    first_url = process.http_url
    process.stop()
    process.start()
    try:
        assert process.http_url != "" and process.running
        assert first_url.startswith("http://127.0.0.1:")
        assert (
            requests.post(
                f"{process.http_url}/auth/login",
                json={"username": "zed", "password": "zed-pw"},
                timeout=5,
            ).status_code
            == 200
        )
    finally:
        process.stop()


def test_exit_before_ready_reports_log_tail(tmp_path: Path) -> None:
    process = ServiceProcess(workdir=tmp_path, jwt_algorithm="RS256")  # no private key
    with pytest.raises(ServiceError, match="exited with code 2 before it was ready") as caught:
        process.start()
    assert "needs --jwt-private-key" in str(caught.value)


def test_start_timeout_kills_the_process(tmp_path: Path) -> None:
    fake = tmp_path / "fakepython.py"
    fake.write_text("import time\nprint('hanging', flush=True)\ntime.sleep(60)\n")
    process = ServiceProcess(workdir=tmp_path, startup_timeout=0.5)
    process.command = lambda: [sys.executable, str(fake)]  # type: ignore[method-assign]
    with pytest.raises(ServiceError, match="did not start within 0.5 seconds") as caught:
        process.start()
    assert "hanging" in str(caught.value)
    assert not process.running


def test_no_orphans_when_the_interpreter_exits(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from ReferenceServiceLibrary.process import ServiceProcess
        service = ServiceProcess(workdir={str(tmp_path)!r}).start()
        print(service.pid, flush=True)
        """
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env
    )
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_no_orphans_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import time
        from ReferenceServiceLibrary.process import ServiceProcess
        service = ServiceProcess(workdir={str(tmp_path)!r}).start()
        print(service.pid, flush=True)
        time.sleep(60)
        """
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.kill()  # SIGKILL: no atexit, no listener; only the service's own watch helps.
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"The service (pid {pid}) outlived its killed parent by 10 seconds.")


def test_kill_and_restart_keep_port_and_database(tmp_path: Path) -> None:
    process = ServiceProcess(workdir=tmp_path, users="zed:zed-pw:publisher")
    process.start()
    try:
        url, pid = process.http_url, process.pid
        assert process.kill() == -signal.SIGKILL
        assert not process.running and process.kill() == -signal.SIGKILL
        assert process.url_file.exists()  # no cleanup after kill -9
        process.start()
        assert (process.http_url, process.port) == (url, int(url.rsplit(":", 1)[1]))
        assert process.pid != pid
        login = requests.post(
            f"{url}/auth/login", json={"username": "zed", "password": "zed-pw"}, timeout=5
        )
        assert login.status_code == 200
        for graceful in (True, False):
            assert process.restart(graceful=graceful) is process
            assert process.http_url == url and process.running
    finally:
        process.stop()


def test_settings_to_flags_users_with_roles() -> None:
    assert settings_to_flags({"users": "a:1, pub:pw:publisher,admin"}) == [
        "--user",
        "a:1",
        "--user",
        "pub:pw:publisher,admin",
    ]
