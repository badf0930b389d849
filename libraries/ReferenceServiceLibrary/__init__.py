"""Robot Framework library that starts and stops the embedded reference service."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword, library
from robot.utils import DotDict

from ReferenceServiceLibrary.process import ServiceError, ServiceProcess, stop_all

__version__ = "0.1.0"
__all__ = ["ReferenceServiceLibrary", "ServiceError", "ServiceProcess", "stop_all"]


@library(scope="GLOBAL", auto_keywords=False)
class ReferenceServiceLibrary:
    """Starts the toolkit's reference WebSocket + JWT service as a local child process.

    Each started service listens on a free loopback port with its own SQLite database
    and a generated HS256 secret, so tests can forge tokens with the same key. Every
    service still running is stopped when the library is closed or Python exits.

    Settings are given as named arguments named after the service settings, for example
    ``access_token_ttl=0.5``, ``max_message_size=1024``, ``leeway=2``, ``issuer=other``,
    ``users=dave:pw1,erin:pw2:publisher``, ``max_queue_length=5``, ``state_history=10``.
    See ``docs/protocol.md`` for the full list.

    = TLS =

    `Start Reference Service` with ``tls=True`` serves ``https://`` and ``wss://``: a
    throwaway CA (its key never leaves memory) signs a certificate for the service, and
    the returned ``ca_file`` is what clients verify it with, e.g. ``verify=${ca_file}``
    of RequestsLibrary's ``Create Session`` and ``ca_file=`` of WebSocketLibrary's
    ``Connect``. Restarts keep the certificate.

    = Restarts and crashes =

    `Restart Reference Service` stops a service (gracefully, or with ``kill -9`` when
    ``graceful=False``) and starts it again. `Kill Reference Service` kills it with
    ``kill -9`` and leaves it stopped; `Start Reference Service` with the same alias then
    starts it again. In every case the service comes back with the same database, JWT
    secret, settings *and port*, so clients reconnect to the same ``ws_url`` and tokens
    issued before stay valid.

    = Example =

    | ***** Settings *****
    | Library           ReferenceServiceLibrary
    | Suite Setup       Start Reference Service    access_token_ttl=2
    | Suite Teardown    Stop All Reference Services
    |
    | ***** Test Cases *****
    | Service Is Healthy
    |     ${service}    Start Reference Service    alias=extra
    |     Log    ${service}[ws_url]
    |     Stop Reference Service    extra
    |
    | Acknowledged Events Survive A Crash
    |     Kill Reference Service
    |     Start Reference Service    alias=1
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self) -> None:
        self.ROBOT_LIBRARY_LISTENER = self
        self._services: dict[str, ServiceProcess] = {}
        self._current: str | None = None

    @keyword
    def start_reference_service(
        self,
        alias: str | None = None,
        startup_timeout: timedelta = timedelta(seconds=20),
        tls: bool | None = None,
        **settings: str,
    ) -> DotDict:
        """Starts a reference service and returns its connection facts as a dictionary.

        The dictionary (``${service}[ws_url]`` or ``${service.ws_url}``) has the keys
        ``http_url``, ``ws_url``, ``jwt_secret``, ``issuer``,
        ``audience``, ``database``, ``pid``, ``log_file`` and ``ca_file``.

        ``tls=True`` serves ``https://`` and ``wss://`` with a certificate (for
        127.0.0.1, ::1 and localhost) from a throwaway CA made for this service; its
        certificate is ``ca_file``, for clients to verify the service with (``None``
        without TLS). Your own certificate goes in the settings ``tls_certfile`` and
        ``tls_keyfile`` instead.

        ``alias`` names the service for `Stop Reference Service`; by default a number is
        used. The latest started service is the current one. ``startup_timeout`` is how
        long to wait for the service to listen (``20s``, ``1 min``). Any other named argument is a
        service setting.

        When ``alias`` names a service that was killed with `Kill Reference Service` (or
        that crashed), that service is started again with its database, secret, settings
        and port; no settings may be given then. A service stopped with
        `Stop Reference Service` is gone, and the alias starts a new one.

        | ${service}     | Start Reference Service | |
        | ${short}       | Start Reference Service | alias=short | access_token_ttl=0.5 |
        | Should Start With | ${service}[ws_url] | ws://127.0.0.1: |
        | Kill Reference Service | short | |
        | ${again}       | Start Reference Service | alias=short |
        | Should Be Equal | ${again}[ws_url] | ${short}[ws_url] |
        | ${secure}      | Start Reference Service | alias=secure | tls=${TRUE} |
        | Should Start With | ${secure}[ws_url] | wss://127.0.0.1: |
        | Connect        | ${secure}[ws_url] | ca_file=${secure}[ca_file] |
        """
        name = alias or str(len(self._services) + 1)
        existing = self._services.get(name)
        if existing is not None and existing.running:
            raise ServiceError(f"A reference service named '{name}' is already running.")
        if existing is not None:
            if settings or (tls is not None and tls != existing.tls):
                raise ServiceError(
                    f"The reference service '{name}' is stopped and starts again with its "
                    f"own settings; stop it with 'Stop Reference Service' to start a new one "
                    f"with other settings."
                )
            existing.startup_timeout = startup_timeout.total_seconds()
            service = existing.start()
        else:
            service = ServiceProcess(
                startup_timeout=startup_timeout.total_seconds(), tls=bool(tls), **settings
            )
            service.start()
        self._services[name] = service
        self._current = name
        logger.info(f"Reference service '{name}' listening at {service.http_url}.")
        return DotDict(service.info())

    @keyword
    def restart_reference_service(
        self,
        alias: str | None = None,
        graceful: bool = True,
        timeout: timedelta = timedelta(seconds=5),
    ) -> DotDict:
        """Stops the named (or current) reference service and starts it again.

        With ``graceful=True`` the service gets SIGTERM and up to ``timeout`` to close its
        connections (with 1012) before it is killed; with ``graceful=False`` it is killed
        with SIGKILL (``kill -9``) at once, like a crash. Either way it comes back with the
        same database, JWT secret, settings and port, and this returns the same
        dictionary as `Start Reference Service` (only ``pid`` changes). Open connections
        are gone: clients must reconnect.

        | ${service} | Restart Reference Service | | |
        | ${service} | Restart Reference Service | short | graceful=False |
        """
        name, service = self._lookup(alias)
        old_pid = service.pid
        service.restart(graceful=graceful, timeout=timeout.total_seconds())
        logger.info(
            f"Reference service '{name}' restarted ({'graceful' if graceful else 'kill -9'}): "
            f"pid {old_pid} -> {service.pid}, still at {service.http_url}."
        )
        return DotDict(service.info())

    @keyword
    def kill_reference_service(self, alias: str | None = None) -> None:
        """Kills the named (or current) reference service with SIGKILL and leaves it stopped.

        No graceful shutdown: clients see their TCP connections drop without a close
        frame. The service keeps its alias, database and port; start it again with
        `Start Reference Service` and the same alias.

        | Kill Reference Service | | |
        | Kill Reference Service | short | |
        | Start Reference Service | alias=short | |
        """
        name, service = self._lookup(alias)
        code = service.kill()
        logger.info(f"Reference service '{name}' killed (exit code {code}).")

    def _lookup(self, alias: str | None) -> tuple[str, ServiceProcess]:
        name = alias or self._current
        if name is None or name not in self._services:
            raise ServiceError(
                f"No reference service named '{alias}' was started."
                if alias
                else "No reference service was started."
            )
        return name, self._services[name]

    @keyword
    def stop_reference_service(
        self, alias: str | None = None, timeout: timedelta = timedelta(seconds=5)
    ) -> None:
        """Stops the named reference service, or the current one when no name is given.

        The service gets ``timeout`` to shut down gracefully before it is killed.

        | Stop Reference Service |       |
        | Stop Reference Service | short |
        """
        name, _ = self._lookup(alias)
        service = self._services.pop(name)
        code = service.stop(timeout=timeout.total_seconds())
        service.cleanup()
        logger.info(f"Reference service '{name}' stopped with exit code {code}.")
        if self._current == name:
            self._current = next(reversed(self._services), None)

    @keyword
    def stop_all_reference_services(self, timeout: timedelta = timedelta(seconds=5)) -> None:
        """Stops every reference service this library started.

        | Stop All Reference Services |
        """
        for name in list(self._services):
            self.stop_reference_service(name, timeout=timeout)

    def _close(self) -> None:
        """Listener hook: the library goes out of scope, so its services must not outlive it.

        Only this library's services are stopped; others (e.g. pytest fixtures in the same
        interpreter) are left alone and are stopped at interpreter exit.
        """
        for service in self._services.values():
            service.cleanup()
        self._services.clear()
        self._current = None
