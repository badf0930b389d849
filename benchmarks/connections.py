"""How many connections one Robot process can hold, and what each costs.

Opens N concurrent authenticated connections to a private reference service on
loopback, waits until every one has its welcome, sends an echo message
``{"type": "echo", "id": n}`` to every connection and times until every reply is
back, then closes them all. Each variant runs in a fresh process, so one does
not inherit the other's memory, threads or file descriptors:

- ``baseline``: bare websocket-client, ``create_connection`` one after another
  plus one plain thread per connection looping on ``recv_data_frame()`` (which
  answers pings);
- ``asyncio``: bare ``websockets`` (``websockets.asyncio.client.connect``), all
  N opened concurrently under a semaphore of ``--concurrency`` handshakes, one
  task per connection draining its messages, no thread at all;
- ``library``: WebSocketLibrary's ``WebSocketConnection`` (reader thread,
  inbox, transcript), opened one after another;
- ``api``: ``WebSocketLibrary.group.ConnectionGroup`` used directly from
  Python (no keyword layer), ``--concurrency`` handshakes at a time;
- ``group``: the ``Open Connection Group``, ``Send Message To Group``,
  ``Wait For Group Message`` and ``Close Connection Group`` keywords through the
  library's keyword interface, as Robot calls them;
- ``robot``: the same keywords inside a real ``robot`` run (``connections.robot``,
  output.xml written), for open, echo and close times and RSS; the figures that
  need the harness (CPU, early closes, leftovers) are not measured there.

Figures per variant: open-all and close-all time, client RSS growth (total and
per connection), broadcast (echo to all) time, how many connections got no
welcome or no echo reply, how the connections that the service closed before
the client did were closed (e.g. ``1011`` for a keepalive ping timeout), the
threads and open file descriptors left after closing (compared with before
opening), the CPU seconds of client and service during the open and echo
phases (and the client's kernel share while echoing), and
the service's event-loop lag: the slowest ``GET /health`` answer during opening
and echoing, polled every 0.2 s over one keep-alive connection by the parent
process (not the client, whose own threads would delay the probe). Ratios are
against ``baseline``; the JSON (``--json``) also has each phase's wall time.

Every process raises its soft ``RLIMIT_NOFILE`` to fit N connections (the
service inherits the benchmark's limit). ``--heartbeat-interval`` and
``--heartbeat-timeout`` pass the service's WebSocket keepalive settings (its
defaults: a ping every 20 s, 1011 after 20 s without a pong; 0 disables);
``--hold`` keeps the connections idle that many seconds before the echo, e.g.
past two heartbeat periods; ``--profile DIR`` records the service with py-spy
(when installed) during each variant, as collapsed stacks in DIR.

Run:  python benchmarks/connections.py --connections 1000
      python benchmarks/connections.py --connections 5000 --json results.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import psutil
import requests
import websocket
import websockets
from websocket import ABNF
from websockets.asyncio.client import ClientConnection, connect

from ReferenceServiceLibrary import ServiceProcess
from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection, close_together
from WebSocketLibrary.errors import MessageTimeoutError
from WebSocketLibrary.group import ConnectionGroup, ensure_file_descriptors
from WebSocketLibrary.matchers import Criteria

VARIANTS = ("baseline", "asyncio", "library", "api", "group", "robot")
TOKEN_VARIABLE = "CONNECTIONS_BENCHMARK_TOKEN"
HANDSHAKE_TIMEOUT = 30.0
"""Per handshake; generous, since with 5,000 the service may be busy for a while."""
CLOSE_TIMEOUT = 30.0
LAG_POLL_INTERVAL = 0.2

Figures = dict[str, Any]


def echo_message(index: int) -> dict[str, Any]:
    return {"type": "echo", "id": index}


def message_type(data: str | bytes) -> str | None:
    """The ``type`` of a JSON object message, else ``None``."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value.get("type") if isinstance(value, dict) else None


# The service's event-loop lag, seen from outside.


class LagProbe:
    """Polls ``GET /health`` on one keep-alive connection; keeps (wall time, latency) pairs."""

    def __init__(self, http_url: str) -> None:
        parts = urlsplit(http_url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-probe", daemon=True)

    def __enter__(self) -> LagProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        connection = http.client.HTTPConnection(*self._address, timeout=10)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                connection.request("GET", "/health")
                connection.getresponse().read()
                latency = time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                latency = time.perf_counter() - started
                connection.close()
                connection = http.client.HTTPConnection(*self._address, timeout=10)
            self.samples.append((time.time(), latency))
            self._stop.wait(LAG_POLL_INTERVAL)
        connection.close()

    def worst(self, since: float, until: float) -> float | None:
        """The slowest answer that was pending at some time between ``since`` and ``until``."""
        during = [lag for at, lag in self.samples if at - lag <= until and at >= since]
        return max(during, default=None)


# Each variant, behind one small interface.


class Variant(Protocol):
    def open(self) -> None: ...
    def wait_for_welcomes(self, timeout: float) -> int: ...
    def hold(self, seconds: float) -> None: ...
    def echo_all(self, timeout: float) -> int: ...
    def closed_early(self) -> tuple[Counter[str], float | None]: ...
    def close(self) -> None: ...


@dataclass
class Target:
    url: str
    headers: dict[str, str]
    count: int
    concurrency: int


@dataclass
class BareConnection:
    """A websocket-client socket and what its plain reader thread saw."""

    ws: websocket.WebSocket
    welcome: threading.Event = field(default_factory=threading.Event)
    echo: threading.Event = field(default_factory=threading.Event)
    closing: bool = False
    close_code: int | None = None
    close_by: str = ""
    closed_at: float | None = None
    thread: threading.Thread | None = None

    def drain(self) -> None:
        try:
            while True:
                opcode, frame = self.ws.recv_data_frame(True)  # pongs a ping itself
                if opcode == ABNF.OPCODE_TEXT:
                    kind = message_type(frame.data)
                    if kind == "welcome":
                        self.welcome.set()
                    elif kind == "echo":
                        self.echo.set()
                elif opcode == ABNF.OPCODE_CLOSE:
                    data = frame.data
                    code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                    self._closed(code, "client" if self.closing else "server")
                    return
        except (websocket.WebSocketException, OSError):
            self._closed(1006, "client" if self.closing else "network")

    def _closed(self, code: int, by: str) -> None:
        self.close_code, self.close_by, self.closed_at = code, by, time.time()


class Baseline:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.connections: list[BareConnection] = []

    def open(self) -> None:
        header = [f"{name}: {value}" for name, value in self.target.headers.items()]
        for _ in range(self.target.count):
            ws = websocket.create_connection(
                self.target.url, header=header, timeout=HANDSHAKE_TIMEOUT
            )
            ws.settimeout(None)  # The reader blocks; an idle timeout would end it.
            connection = BareConnection(ws)
            connection.thread = threading.Thread(target=connection.drain, daemon=True)
            connection.thread.start()
            self.connections.append(connection)

    def _wait(self, events: list[threading.Event], timeout: float) -> int:
        deadline = time.monotonic() + timeout
        return sum(not e.wait(max(deadline - time.monotonic(), 0)) for e in events)

    def wait_for_welcomes(self, timeout: float) -> int:
        return self._wait([c.welcome for c in self.connections], timeout)

    def hold(self, seconds: float) -> None:
        time.sleep(seconds)

    def echo_all(self, timeout: float) -> int:
        for index, connection in enumerate(self.connections, 1):
            if connection.close_code is None:
                with contextlib.suppress(websocket.WebSocketException, OSError):
                    connection.ws.send(json.dumps(echo_message(index)))
        return self._wait([c.echo for c in self.connections], timeout)

    def closed_early(self) -> tuple[Counter[str], float | None]:
        early = [c for c in self.connections if c.close_code is not None]
        return (
            Counter(f"{c.close_by} {c.close_code}" for c in early),
            min((c.closed_at for c in early if c.closed_at), default=None),
        )

    def close(self) -> None:
        # Every close frame first, then wait for each reader to see the server's answer.
        for connection in self.connections:
            connection.closing = True
            with contextlib.suppress(websocket.WebSocketException, OSError):
                connection.ws.send_close()
        deadline = time.monotonic() + CLOSE_TIMEOUT
        for connection in self.connections:
            assert connection.thread is not None
            connection.thread.join(max(deadline - time.monotonic(), 0))
            if connection.thread.is_alive():
                connection.ws.shutdown()
                connection.thread.join(5)
            connection.ws.shutdown()


@dataclass
class AsyncConnection:
    ws: ClientConnection
    welcome: asyncio.Event = field(default_factory=asyncio.Event)
    echo: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    close_code: int | None = None
    close_by: str = ""
    closed_at: float | None = None
    task: asyncio.Task[None] | None = None

    async def drain(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for data in self.ws:
                kind = message_type(data)
                if kind == "welcome":
                    self.welcome.set()
                elif kind == "echo":
                    self.echo.set()
        received = self.ws.protocol.close_rcvd
        self.close_code = received.code if received is not None else 1006
        by = "network" if received is None else "server"
        self.close_by = "client" if self.closing else by
        self.closed_at = time.time()


class AsyncioVariant:
    """Bare ``websockets``: one event loop in the main thread, run phase by phase."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.connections: list[AsyncConnection] = []

    def _run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _open(self) -> None:
        gate = asyncio.Semaphore(self.target.concurrency)

        async def open_one() -> AsyncConnection:
            async with gate:
                ws = await connect(
                    self.target.url,
                    additional_headers=self.target.headers,
                    open_timeout=HANDSHAKE_TIMEOUT,
                    ping_interval=None,  # as websocket-client: only the server pings
                    close_timeout=CLOSE_TIMEOUT,
                    max_size=2**20,
                )
            connection = AsyncConnection(ws)
            connection.task = asyncio.create_task(connection.drain())
            return connection

        self.connections = list(
            await asyncio.gather(*(open_one() for _ in range(self.target.count)))
        )

    def open(self) -> None:
        self._run(self._open())

    async def _wait(self, events: list[asyncio.Event], timeout: float) -> int:
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for waiting in pending:
            waiting.cancel()
        return sum(not e.is_set() for e in events)

    def wait_for_welcomes(self, timeout: float) -> int:
        return self._run(self._wait([c.welcome for c in self.connections], timeout))

    def hold(self, seconds: float) -> None:
        self._run(asyncio.sleep(seconds))

    async def _echo_all(self, timeout: float) -> int:
        async def send(index: int, connection: AsyncConnection) -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await connection.ws.send(json.dumps(echo_message(index)))

        await asyncio.gather(*(send(i, c) for i, c in enumerate(self.connections, 1)))
        return await self._wait([c.echo for c in self.connections], timeout)

    def echo_all(self, timeout: float) -> int:
        return self._run(self._echo_all(timeout))

    def closed_early(self) -> tuple[Counter[str], float | None]:
        early = [c for c in self.connections if c.close_code is not None]
        return (
            Counter(f"{c.close_by} {c.close_code}" for c in early),
            min((c.closed_at for c in early if c.closed_at), default=None),
        )

    async def _close(self) -> None:
        for connection in self.connections:
            connection.closing = True
        await asyncio.gather(*(c.ws.close() for c in self.connections))
        await asyncio.wait_for(
            asyncio.gather(*(c.task for c in self.connections if c.task)), CLOSE_TIMEOUT
        )

    def close(self) -> None:
        self._run(self._close())
        self._run(self.loop.shutdown_default_executor())
        self.loop.close()


def library_closed_early(
    connections: list[WebSocketConnection],
) -> tuple[Counter[str], float | None]:
    early = [c.closed for c in connections if c.closed is not None]
    return (
        Counter(f"{info.initiated_by} {info.code}" for info in early),
        min((info.at for info in early), default=None),
    )


WELCOME = Criteria({"type": "welcome"})
ECHO = Criteria({"type": "echo"})


class LibraryVariant:
    """``WebSocketConnection`` objects, opened one after another."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.connections: list[WebSocketConnection] = []

    def open(self) -> None:
        options = ConnectOptions(headers=self.target.headers, timeout=HANDSHAKE_TIMEOUT)
        for n in range(1, self.target.count + 1):
            connection = WebSocketConnection(self.target.url, options, name=f"c{n}")
            connection.open()
            self.connections.append(connection)

    def _take_all(self, criteria: Criteria, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        return sum(
            c.inbox.take(criteria, max(deadline - time.monotonic(), 0)) is None
            for c in self.connections
        )

    def wait_for_welcomes(self, timeout: float) -> int:
        return self._take_all(WELCOME, timeout)

    def hold(self, seconds: float) -> None:
        time.sleep(seconds)

    def echo_all(self, timeout: float) -> int:
        for index, connection in enumerate(self.connections, 1):
            if connection.is_open:
                connection.send_json(echo_message(index))
        return self._take_all(ECHO, timeout)

    def closed_early(self) -> tuple[Counter[str], float | None]:
        return library_closed_early(self.connections)

    def close(self) -> None:
        close_together(self.connections, CLOSE_TIMEOUT)


class ApiVariant:
    """``ConnectionGroup`` from Python: what the group keywords call, without them."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.group = ConnectionGroup("g")
        self.members: list[WebSocketConnection] = []

    def open(self) -> None:
        count = self.target.count
        options = ConnectOptions(headers=self.target.headers, timeout=HANDSHAKE_TIMEOUT)
        urls, concurrency = [self.target.url] * count, self.target.concurrency
        results = self.group.open(urls, [options] * count, concurrency)
        failed = [r for r in results if not r.opened]
        if failed:
            raise RuntimeError(f"{len(failed)} members did not open, e.g. {failed[0]}")
        self.members = list(self.group.members.values())

    def wait_for_welcomes(self, timeout: float) -> int:
        return len(self.group.take_from_all(lambda _index: WELCOME, timeout)[1])

    def hold(self, seconds: float) -> None:
        time.sleep(seconds)

    def echo_all(self, timeout: float) -> int:
        indexes = self.group.open_indexes()

        def send_one(connection: WebSocketConnection, message: Any) -> None:
            connection.send_json(message)

        self.group.send(send_one, [echo_message(i) for i in indexes])
        missing = self.group.take_from_all(lambda _index: ECHO, timeout)[1]
        return len(missing) + self.target.count - len(indexes)

    def closed_early(self) -> tuple[Counter[str], float | None]:
        return library_closed_early(self.members)

    def close(self) -> None:
        self.group.close(CLOSE_TIMEOUT)


class GroupVariant:
    """The group keywords, called through the library's keyword interface."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.library = WebSocketLibrary(transcript=False)
        self.members: list[WebSocketConnection] = []

    def _keyword(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.library.run_keyword(name, args, kwargs)

    def open(self) -> None:
        self._keyword(
            "open_connection_group",
            "g",
            self.target.count,
            self.target.url,
            headers=self.target.headers,
            concurrency=self.target.concurrency,
            timeout=timedelta(seconds=HANDSHAKE_TIMEOUT),
        )
        self.members = list(self.library.groups["g"].members.values())

    def _wait(self, message_type: str, timeout: float) -> int:
        try:
            self._keyword(
                "wait_for_group_message", "g", timeout=timedelta(seconds=timeout), type=message_type
            )
        except MessageTimeoutError:
            group = self.library.groups["g"]
            return self.target.count - len(group.last_arrivals)
        return 0

    def wait_for_welcomes(self, timeout: float) -> int:
        return self._wait("welcome", timeout)

    def hold(self, seconds: float) -> None:
        time.sleep(seconds)

    def echo_all(self, timeout: float) -> int:
        sent = self._keyword("send_message_to_group", "g", {"type": "echo", "id": "{i}"})
        return self._wait("echo", timeout) + self.target.count - sent

    def closed_early(self) -> tuple[Counter[str], float | None]:
        return library_closed_early(self.members)

    def close(self) -> None:
        self._keyword("close_connection_group", "g", timeout=timedelta(seconds=CLOSE_TIMEOUT))


FACTORIES: dict[str, Callable[[Target], Variant]] = {
    "baseline": Baseline,
    "asyncio": AsyncioVariant,
    "library": LibraryVariant,
    "api": ApiVariant,
    "group": GroupVariant,
}


# One child run.


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


@contextlib.contextmanager
def timed(into: Figures, key: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into[key] = time.perf_counter() - started


def measure(name: str, target: Target, service_pid: int, args: Any) -> Figures:
    note = ensure_file_descriptors(target.count)
    client, service = psutil.Process(), psutil.Process(service_pid)
    threads_before, fds_before = threading.active_count(), client.num_fds()
    figures: Figures = {"limit_note": note}
    variant = FACTORIES[name](target)
    rss_before, service_rss_before = client.memory_info().rss, service.memory_info().rss
    client_cpu, service_cpu = cpu_seconds(client), cpu_seconds(service)
    phases: dict[str, float] = {"open_started": time.time()}
    with timed(figures, "open_seconds"):
        variant.open()
    phases["open_ended"] = time.time()
    figures["client_cpu_open"] = cpu_seconds(client) - client_cpu
    figures["service_cpu_open"] = cpu_seconds(service) - service_cpu
    figures["no_welcome"] = variant.wait_for_welcomes(args.timeout)
    rss_growth = client.memory_info().rss - rss_before
    figures["service_rss_growth_mib"] = (service.memory_info().rss - service_rss_before) / 2**20
    if args.hold:
        variant.hold(args.hold)
    phases["echo_started"] = time.time()
    client_cpu, service_cpu = cpu_seconds(client), cpu_seconds(service)
    system_cpu = client.cpu_times().system
    with timed(figures, "echo_all_seconds"):
        figures["no_echo"] = variant.echo_all(args.timeout)
    phases["echo_ended"] = time.time()
    figures["client_cpu_echo"] = cpu_seconds(client) - client_cpu
    figures["client_system_cpu_echo"] = client.cpu_times().system - system_cpu
    figures["service_cpu_echo"] = cpu_seconds(service) - service_cpu
    closes, first_close = variant.closed_early()
    with timed(figures, "close_seconds"):
        variant.close()
    del variant
    figures.update(
        rss_growth_mib=rss_growth / 2**20,
        kib_per_connection=rss_growth / 1024 / target.count,
        threads_left=threading.active_count() - threads_before,
        fds_left=client.num_fds() - fds_before,
        closed_early=dict(closes),
        first_early_close=None if first_close is None else first_close - phases["open_started"],
        echo_started_at=phases["echo_started"] - phases["open_started"],
        phases=phases,
    )
    return figures


# The parent: one service, one child per variant, the table.


def wait_until_drained(http_url: str, timeout: float = 60) -> int:
    """Wait until the service counts no open connection; the number still open."""
    deadline = time.monotonic() + timeout
    still_open = -1
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            metrics = requests.get(f"{http_url}/metrics", timeout=5).json()
            still_open = metrics["connections"]["open"]
            if still_open == 0:
                return 0
        time.sleep(0.5)
    return still_open


def start_profiler(pid: int, path: str) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if py_spy is None:
        return None
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--rate", "50", "--format", "raw",
         "--output", path, "--duration", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT.
    try:
        profiler.wait(30)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(5)


def robot_command(args: Any, ws_url: str, workdir: str, figures_file: str) -> list[str]:
    """``robot`` running connections.robot: the group keywords in a real run, output.xml too."""
    return [
        sys.executable, "-m", "robot", "--outputdir", workdir, "--log", "NONE",
        "--report", "NONE", "--console", "quiet",
        "--variable", f"WS_URL:{ws_url}", "--variable", f"CONNECTIONS:{args.connections}",
        "--variable", f"CONCURRENCY:{args.concurrency}", "--variable", f"WAIT:{args.timeout}s",
        "--variable", f"FIGURES_FILE:{figures_file}",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "connections.robot"),
    ]  # fmt: skip


def run_variants(args: Any) -> dict[str, Figures]:
    settings: dict[str, Any] = {
        key: value
        for key, value in (
            ("heartbeat_interval", args.heartbeat_interval),
            ("heartbeat_timeout", args.heartbeat_timeout),
        )
        if value is not None
    }
    settings["max_connections_per_user"] = 0  # every connection is alice's
    settings["public_metrics"] = True  # wait_until_drained polls /metrics without logging in

    results: dict[str, Figures] = {}
    with ServiceProcess(**settings) as service:
        login = requests.post(
            f"{service.http_url}/auth/login",
            json={"username": "alice", "password": "alice-password"},
            timeout=10,
        )
        token = login.json()["access_token"]
        pid = service.pid
        assert pid is not None
        for variant in args.variants:
            profiler = None
            if args.profile:
                os.makedirs(args.profile, exist_ok=True)
                out = os.path.join(args.profile, f"service-{variant}-{args.connections}.txt")
                profiler = start_profiler(pid, out)
            # The token goes by environment, so a failing child cannot show it in argv.
            command = [
                sys.executable, __file__, "--connections", str(args.connections),
                "--concurrency", str(args.concurrency), "--timeout", str(args.timeout),
                "--hold", str(args.hold), "--child", variant, "--ws-url", service.ws_url,
                "--service-pid", str(pid),
            ]  # fmt: skip
            workdir = tempfile.mkdtemp(prefix="connections-robot-")
            figures_file = os.path.join(workdir, "figures.json")
            if variant == "robot":
                command = robot_command(args, service.ws_url, workdir, figures_file)
            try:
                with LagProbe(service.http_url) as lag:
                    child = subprocess.run(
                        command,
                        capture_output=True,
                        text=True,
                        env={**os.environ, TOKEN_VARIABLE: token},
                        timeout=args.child_timeout,
                    )
                if child.returncode:
                    results[variant] = {"error": (child.stderr + child.stdout).strip()[-2000:]}
                else:
                    if variant == "robot":
                        with open(figures_file, encoding="utf-8") as written:
                            figures = json.load(written)
                    else:
                        figures = json.loads(child.stdout.strip().splitlines()[-1])
                    phases = figures["phases"]
                    figures["lag_open_max"] = lag.worst(
                        phases["open_started"], phases["open_ended"]
                    )
                    figures["lag_echo_max"] = lag.worst(
                        phases["echo_started"], phases["echo_ended"]
                    )
                    results[variant] = figures
            except subprocess.TimeoutExpired:
                results[variant] = {"error": f"no result within {args.child_timeout} s"}
            finally:
                stop_profiler(profiler)
                shutil.rmtree(workdir, ignore_errors=True)
            results[variant]["service_still_open_after"] = wait_until_drained(service.http_url)
            print(f"{variant}: {json.dumps(results[variant])}", file=sys.stderr, flush=True)
    return results


ROWS = (
    ("open_seconds", "open all (s)", "{:.2f}"),
    ("close_seconds", "close all (s)", "{:.2f}"),
    ("rss_growth_mib", "RSS growth (MiB)", "{:.1f}"),
    ("kib_per_connection", "per connection (KiB)", "{:.1f}"),
    ("echo_all_seconds", "echo to all (s)", "{:.2f}"),
    ("no_welcome", "no welcome", "{:d}"),
    ("no_echo", "no echo reply", "{:d}"),
    ("threads_left", "threads left", "{:d}"),
    ("fds_left", "fds left", "{:d}"),
    ("client_cpu_open", "client CPU open (s)", "{:.2f}"),
    ("service_cpu_open", "service CPU open (s)", "{:.2f}"),
    ("client_cpu_echo", "client CPU echo (s)", "{:.2f}"),
    ("client_system_cpu_echo", "  of it kernel (s)", "{:.2f}"),
    ("service_cpu_echo", "service CPU echo (s)", "{:.2f}"),
    ("lag_open_max", "service lag open (s)", "{:.2f}"),
    ("lag_echo_max", "service lag echo (s)", "{:.2f}"),
)
RATIO_ROWS = {"open_seconds", "close_seconds", "rss_growth_mib", "kib_per_connection",
              "echo_all_seconds", "client_cpu_open", "service_cpu_open"}  # fmt: skip


def print_table(results: dict[str, Figures], count: int) -> None:
    names = list(results)
    base = results.get("baseline", {})
    print(f"{count} concurrent connections, one process, reference service on loopback")
    header = f"{'':24}" + "".join(
        f"{name:>11}" + (f"{'ratio':>7}" if name != "baseline" else "") for name in names
    )
    print(header)
    for key, label, form in ROWS:
        line = f"{label:24}"
        for name in names:
            value = results[name].get(key)
            line += f"{form.format(value) if value is not None else '-':>11}"
            if name == "baseline":
                continue
            ratio = "-"
            if key in RATIO_ROWS and value is not None and base.get(key):
                ratio = f"{value / base[key]:.2f}"
            line += f"{ratio:>7}"
        print(line)
    for name in names:
        figures = results[name]
        if "error" in figures:
            print(f"{name} failed: {figures['error']}")
        elif figures.get("closed_early"):
            after = figures.get("first_early_close")
            print(
                f"{name}: closed before the client closed: {figures['closed_early']}"
                f", the first {after:.1f} s after opening began"
                f" (echo sent at {figures['echo_started_at']:.1f} s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100, help="asyncio, api, group")
    parser.add_argument("--timeout", type=float, default=10.0, help="welcome and echo waits (s)")
    parser.add_argument("--hold", type=float, default=0.0, help="idle seconds before the echo")
    parser.add_argument("--variants", type=lambda v: v.split(","), default=list(VARIANTS))
    parser.add_argument("--heartbeat-interval", type=float, help="service; 0 disables")
    parser.add_argument("--heartbeat-timeout", type=float, help="service")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the service into DIR")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--child-timeout", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--ws-url", help=argparse.SUPPRESS)
    parser.add_argument("--service-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")

    if args.child:  # A child run: measure one variant and print JSON.
        headers = {"Authorization": f"Bearer {os.environ[TOKEN_VARIABLE]}"}
        target = Target(args.ws_url, headers, args.connections, args.concurrency)
        figures = measure(args.child, target, args.service_pid, args)
        print(json.dumps(figures))
        return

    # The service inherits this limit, and needs one descriptor per connection too.
    ensure_file_descriptors(args.connections)
    results = run_variants(args)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"connections": args.connections, "results": results}, out, indent=2)
    print_table(results, args.connections)


if __name__ == "__main__":
    main()
