"""Start and stop the reference service as a child process. Plain Python, no Robot imports.

Example::

    with ServiceProcess(access_token_ttl=0.5) as service:
        requests.get(service.http_url + "/health")
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

# The service's own option table (stdlib only): flags are derived from it so the two
# never disagree. refservice.config has no third-party imports, so this stays light.
from refservice.config import OPTIONS_BY_NAME, ConfigError, load_settings, split_user_list

from .tls import LOOPBACK_NAMES, make_server_certificate

DEFAULT_ISSUER = "refservice"
DEFAULT_AUDIENCE = "refservice-clients"

# Settings the controller owns itself and does not take as keyword arguments.
_RESERVED = frozenset({"port", "url_file", "database", "jwt_secret", "parent_pid"})
_ALIASES = {"user": "users", "jwt_previous_public_key": "jwt_previous_public_keys"}


class ServiceError(RuntimeError):
    """The reference service could not be started or stopped. The text says why."""

    ROBOT_SUPPRESS_NAME = True


_live: weakref.WeakSet[ServiceProcess] = weakref.WeakSet()
_live_lock = threading.Lock()


def stop_all(timeout: float = 5.0) -> None:
    """Stop every service started by this interpreter that is still running."""
    with _live_lock:
        services = list(_live)
    for service in services:
        service.stop(timeout=timeout)


atexit.register(stop_all)


def _normalise_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def settings_to_flags(settings: Mapping[str, Any]) -> list[str]:
    """Turn ``{"access_token_ttl": 0.2, "users": ["a:pw"]}`` into command-line flags.

    ``users`` (or ``user``) takes a list of ``NAME:PASSWORD[:ROLE,ROLE]`` strings or one
    string of them separated by commas (``"a:pw,pub:pw:publisher,admin"``: an item
    without a colon is one more role of the user before it); ``jwt_previous_public_keys``
    (or ``jwt_previous_public_key``) takes one path or a list of them; other values are
    passed as text.
    """
    flags: list[str] = []
    for raw_name, value in settings.items():
        name = _normalise_name(raw_name)
        if name in _RESERVED:
            raise ServiceError(
                f"Setting '{raw_name}' is managed by the service controller and cannot be set."
            )
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            known = ", ".join(sorted(n for n in OPTIONS_BY_NAME if n not in _RESERVED))
            raise ServiceError(f"Unknown reference service setting '{raw_name}'. Known: {known}.")
        if value is None:
            continue
        if option.repeat:
            items: Iterable[Any] = value
            if isinstance(value, str):
                items = split_user_list(value) if name == "users" else [value]
            elif isinstance(value, os.PathLike):
                items = [value]
            for item in items:
                if str(item).strip():
                    flags += [option.flag, str(item).strip()]
        else:
            flags += [option.flag, str(value)]
    return flags


# For a leak scan of a run's logs (tools/scan_secrets.py): the file every service started
# appends its secrets to. Unset (the default), nothing is written anywhere.
SECRETS_MANIFEST_VARIABLE = "WSQA_SECRETS_MANIFEST"


def record_secrets(jwt_secret: str, flags: list[str]) -> None:
    """Append one JSON line (secret, passwords, key files) to ``$WSQA_SECRETS_MANIFEST``."""
    manifest = os.environ.get(SECRETS_MANIFEST_VARIABLE)
    if not manifest:
        return
    try:
        settings = load_settings(flags, environ={})
    except (ConfigError, SystemExit):
        return  # the service will not start with these settings either
    users = (*settings.users, *settings.seeded_users())
    key_files = [settings.jwt_private_key, *settings.jwt_previous_public_keys]
    entry = {
        "jwt_secret": jwt_secret,
        "passwords": sorted({password for _, password, _ in users}),
        "key_files": [str(path) for path in key_files if path],
    }
    Path(manifest).parent.mkdir(parents=True, exist_ok=True)
    with open(manifest, "a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")


def keep_log_for_scan(log_file: Path) -> None:
    """Copy a service's log into ``service-logs/`` beside ``$WSQA_SECRETS_MANIFEST``.

    For the leak scan: the work directory, log included, is deleted at cleanup.
    """
    manifest = os.environ.get(SECRETS_MANIFEST_VARIABLE)
    if not manifest or not log_file.exists():
        return
    folder = Path(manifest).parent / "service-logs"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log_file, folder / f"{log_file.parent.name}.log")


def _child_environment(jwt_secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFSERVICE_")}
    # The secret goes through the environment so it never shows in a process listing.
    env["REFSERVICE_JWT_SECRET"] = jwt_secret
    env["PYTHONUNBUFFERED"] = "1"
    spec = importlib.util.find_spec("refservice")
    if spec is not None and spec.origin is not None:
        package_root = str(Path(spec.origin).resolve().parent.parent)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if package_root not in paths:
            env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    return env


class ServiceProcess:
    """One reference service running as a child process on a free loopback port.

    Keyword arguments are service settings named like the dataclass fields of
    ``refservice.config.Settings`` (``access_token_ttl=0.2``, ``users=["a:pw"]``,
    ``max_message_size=1024`` ...). Port, URL file, database and HS256 secret are
    chosen by the controller and exposed as attributes.

    ``tls=True`` serves https:// and wss:// with a certificate from a throwaway CA made
    in the work directory; clients verify it with :attr:`ca_file`. Your own certificate
    goes in the settings ``tls_certfile`` and ``tls_keyfile`` instead.
    """

    def __init__(
        self,
        *,
        workdir: str | os.PathLike[str] | None = None,
        jwt_secret: str | None = None,
        startup_timeout: float = 20.0,
        python: str = sys.executable,
        tls: bool = False,
        **settings: Any,
    ) -> None:
        self.settings: dict[str, Any] = dict(settings)
        self._flags = settings_to_flags(self.settings)
        self.tls = tls or self.settings.get("tls_certfile") is not None
        self.jwt_secret = jwt_secret or secrets.token_urlsafe(48)
        record_secrets(self.jwt_secret, self._flags)
        self.startup_timeout = startup_timeout
        self.python = python
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="refservice-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database = str(self.workdir / "refservice.db")
        self.url_file = self.workdir / "service-url.json"
        self.log_file = self.workdir / "service.log"
        # The CA file that verifies the service's certificate, when this object made it.
        self.ca_file: Path | None = None
        if tls:
            self._flags += self._throwaway_certificate_flags()
        self.issuer = str(self.settings.get("issuer", DEFAULT_ISSUER))
        self.audience = str(self.settings.get("audience", DEFAULT_AUDIENCE))
        self.http_url = ""
        self.ws_url = ""
        # The port of the first start; every later start (restart, start after kill or
        # stop) listens on it again, so clients reconnect to the same URL.
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _throwaway_certificate_flags(self) -> list[str]:
        """Make a throwaway CA and a certificate for the service's host; return the flags."""
        if self.settings.get("tls_certfile") is not None:
            raise ServiceError(
                "Give either tls=True (a throwaway CA made here) or tls_certfile (your own "
                "certificate), not both."
            )
        host = str(self.settings.get("host", "127.0.0.1"))
        hosts = (host, *(name for name in LOOPBACK_NAMES if name != host))
        files = make_server_certificate(self.workdir / "tls", hosts)
        self.ca_file = files.ca_file
        return ["--tls-certfile", str(files.certfile), "--tls-keyfile", str(files.keyfile)]

    # --- state ---------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    def info(self) -> dict[str, Any]:
        """The facts a test needs to talk to the service."""
        return {
            "http_url": self.http_url,
            "ws_url": self.ws_url,
            "jwt_secret": self.jwt_secret,
            "issuer": self.issuer,
            "audience": self.audience,
            "database": self.database,
            "pid": self.pid,
            "log_file": str(self.log_file),
            "ca_file": str(self.ca_file) if self.ca_file else None,
        }

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- lifecycle -----------------------------------------------------------------------

    def command(self) -> list[str]:
        port = ["--port", "0"]
        if self.port:
            # The old process may still hold the port for a moment: retry binding.
            port = ["--port", str(self.port), "--bind-timeout", str(self.REBIND_TIMEOUT)]
        return [
            self.python,
            "-m",
            "refservice",
            *port,
            "--url-file",
            str(self.url_file),
            "--database",
            self.database,
            # The service stops by itself if this process dies without stopping it.
            "--parent-pid",
            str(os.getpid()),
            *self._flags,
        ]

    # Seconds a restarted service keeps trying to bind its previous port.
    REBIND_TIMEOUT = 5.0

    def start(self) -> ServiceProcess:
        """Start the process and wait until it listens. Return ``self``.

        A service that was started before (and stopped, killed or crashed since) starts
        again with the same database, secret and settings, on the same port.
        """
        if self.running:
            raise ServiceError(f"The reference service is already running (pid {self.pid}).")
        self.url_file.unlink(missing_ok=True)
        self._close_log()
        self._log = open(self.log_file, "ab")  # noqa: SIM115 - kept open for the child
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_child_environment(self.jwt_secret),
            cwd=self.workdir,
            start_new_session=os.name == "posix",
        )
        with _live_lock:
            _live.add(self)
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            info = self._read_url_file()
            if info is not None and info.get("pid") == self._process.pid:
                self.http_url = str(info["http_url"])
                self.ws_url = str(info["ws_url"])
                self.port = int(self.http_url.rsplit(":", 1)[1].split("/")[0])
                self.issuer = str(info.get("issuer", self.issuer))
                self.audience = str(info.get("audience", self.audience))
                return
            code = self._process.poll()
            if code is not None:
                self._close_log()
                raise ServiceError(
                    f"The reference service exited with code {code} before it was ready. "
                    f"Last log lines:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self._terminate(timeout=2.0)
                raise ServiceError(
                    f"The reference service did not start within {self.startup_timeout} "
                    f"seconds. Last log lines:\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def _read_url_file(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.url_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop gracefully (SIGTERM), killing after ``timeout`` seconds. Return the exit code.

        Stopping a service that is not running does nothing. The work directory (and so
        the database) is kept so the service can be started again with the same data.
        """
        code = self._terminate(timeout=timeout)
        with _live_lock:
            _live.discard(self)
        return code

    def kill(self) -> int | None:
        """Kill the process with SIGKILL: no graceful shutdown, no cleanup. Return its code.

        The database (with whatever was committed) and the port are kept, so `start`
        brings the service back where clients expect it. Killing a service that is not
        running does nothing.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        self._close_log()
        with _live_lock:
            _live.discard(self)
        return process.returncode

    def restart(self, graceful: bool = True, timeout: float = 5.0) -> ServiceProcess:
        """Stop (SIGTERM, or SIGKILL when not ``graceful``) and start again. Return ``self``.

        The database, secret, settings and port stay the same. ``timeout`` is how long a
        graceful stop may take before the process is killed.
        """
        if graceful:
            self.stop(timeout=timeout)
        else:
            self.kill()
        return self.start()

    def _terminate(self, timeout: float) -> int | None:
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        self._close_log()
        return process.returncode

    def _signal(self, signum: int) -> None:
        """Send ``signum`` to the process."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signum)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        """Stop the service and delete its work directory if this object created it."""
        self.stop()
        if self._own_workdir:
            keep_log_for_scan(self.log_file)
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = f"running pid={self.pid}" if self.running else "stopped"
        return f"<ServiceProcess {self.http_url or 'not started'} {state}>"


__all__ = ["ServiceError", "ServiceProcess", "settings_to_flags", "stop_all"]
