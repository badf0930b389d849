"""How many connections one Robot process can hold, and what each costs.

Opens N concurrent authenticated connections to a private reference service,
each with a background reader, and reports the wall time to open them all and
the client's memory growth (RSS). Two variants run, each in a fresh process so
one does not inherit the other's memory:

- ``baseline``: bare websocket-client, ``create_connection`` plus one plain
  thread per connection looping on ``recv()``;
- ``library``: WebSocketLibrary's ``WebSocketConnection`` (reader thread,
  inbox, transcript), opened one after another;
- ``group``: the ``Open Connection Group`` keyword (through the library's
  keyword interface, as Robot calls it), 100 handshakes at a time; it also
  times an echo to every member, from ``Send Message To Group`` until
  ``Wait For Group Message`` has every reply.

Run:  python benchmarks/connections.py --connections 1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import psutil
import requests
import websocket

from ReferenceServiceLibrary import ServiceProcess
from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection
from WebSocketLibrary.matchers import Criteria


def open_baseline(url: str, headers: dict[str, str], count: int) -> list:
    def drain(ws: websocket.WebSocket) -> None:
        try:
            while True:
                ws.recv()
        except (websocket.WebSocketException, OSError):
            pass

    opened = []
    for _ in range(count):
        ws = websocket.create_connection(url, header=headers, timeout=10)
        thread = threading.Thread(target=drain, args=(ws,), daemon=True)
        thread.start()
        opened.append((ws, thread))
    return opened


def close_baseline(opened: list) -> None:
    for ws, thread in opened:
        ws.close()
        thread.join(5)


def open_library(url: str, headers: dict[str, str], count: int) -> list[WebSocketConnection]:
    opened = []
    for n in range(count):
        connection = WebSocketConnection(url, ConnectOptions(headers=headers), name=f"c{n}")
        connection.open()
        opened.append(connection)
    return opened


def measure_group(ws_url: str, headers: dict[str, str], count: int) -> dict[str, float]:
    library = WebSocketLibrary(transcript=False)
    process = psutil.Process()
    threads_before = threading.active_count()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    library.run_keyword(
        "open_connection_group", ("g", count, ws_url), {"headers": headers, "concurrency": 100}
    )
    open_seconds = time.perf_counter() - started
    library.run_keyword("wait_for_group_message", ("g",), {"type": "welcome"})
    rss_growth = process.memory_info().rss - rss_before
    started = time.perf_counter()
    library.run_keyword("send_message_to_group", ("g", {"type": "echo", "id": "{i}"}))
    replies = library.run_keyword("wait_for_group_message", ("g",), {"type": "echo"})
    echo_seconds = time.perf_counter() - started
    assert [r["id"] for r in replies] == list(range(1, count + 1))
    started = time.perf_counter()
    library.run_keyword("close_connection_group", ("g",))
    close_seconds = time.perf_counter() - started
    return {
        "open_seconds": open_seconds,
        "close_seconds": close_seconds,
        "echo_all_seconds": echo_seconds,
        "rss_growth_mib": rss_growth / 2**20,
        "kib_per_connection": rss_growth / 1024 / count,
        "threads_left": threading.active_count() - threads_before,
    }


def measure(variant: str, ws_url: str, token: str, count: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    if variant == "group":
        return measure_group(ws_url, headers, count)
    process = psutil.Process()
    threads_before = threading.active_count()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    if variant == "baseline":
        opened = open_baseline(ws_url, headers, count)
    else:
        opened = open_library(ws_url, headers, count)
    open_seconds = time.perf_counter() - started
    if variant == "library":
        # Every welcome must be in an inbox: the readers really work.
        welcome = Criteria({"type": "welcome"})
        missing = [c.name for c in opened if c.inbox.take(welcome, 10) is None]
        assert not missing, f"{len(missing)} connections got no welcome"
    rss_growth = process.memory_info().rss - rss_before
    started = time.perf_counter()
    if variant == "baseline":
        close_baseline(opened)
    else:
        for connection in opened:
            connection.close()
    close_seconds = time.perf_counter() - started
    return {
        "open_seconds": open_seconds,
        "close_seconds": close_seconds,
        "rss_growth_mib": rss_growth / 2**20,
        "kib_per_connection": rss_growth / 1024 / count,
        "threads_left": threading.active_count() - threads_before,
    }


VARIANTS = ("baseline", "library", "group")
TOKEN_VARIABLE = "CONNECTIONS_BENCHMARK_TOKEN"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--ws-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:  # A child run: measure one variant and print JSON.
        token = os.environ[TOKEN_VARIABLE]
        print(json.dumps(measure(args.variant, args.ws_url, token, args.connections)))
        return

    with ServiceProcess() as service:
        login = requests.post(
            f"{service.http_url}/auth/login",
            json={"username": "alice", "password": "alice-password"},
            timeout=10,
        )
        token = login.json()["access_token"]
        results = {}
        for variant in VARIANTS:
            # The token goes by environment, so a failing child cannot show it in argv.
            child = subprocess.run(
                [sys.executable, __file__, "--connections", str(args.connections),
                 "--variant", variant, "--ws-url", service.ws_url],
                capture_output=True, text=True, env={**os.environ, TOKEN_VARIABLE: token},
            )  # fmt: skip
            if child.returncode:
                sys.exit(f"The {variant} variant failed:\n{child.stderr[-3000:]}")
            results[variant] = json.loads(child.stdout.strip().splitlines()[-1])

    base, lib, group = results["baseline"], results["library"], results["group"]
    print(f"{args.connections} concurrent connections, one process, reference service on loopback")
    print(f"{'':24}{'baseline':>12}{'library':>12}{'ratio':>8}{'group':>12}{'ratio':>8}")
    for key, label in (
        ("open_seconds", "open all (s)"),
        ("close_seconds", "close all (s)"),
        ("rss_growth_mib", "RSS growth (MiB)"),
        ("kib_per_connection", "per connection (KiB)"),
        ("threads_left", "threads left"),
    ):
        cells = ""
        for variant in (lib, group):
            ratio = f"{variant[key] / base[key]:.2f}" if base[key] else "-"
            cells += f"{variant[key]:>12.2f}{ratio:>8}"
        print(f"{label:24}{base[key]:>12.2f}{cells}")
    print(f"{'echo to all (s)':24}{'':>12}{'':>12}{'':>8}{group['echo_all_seconds']:>12.2f}")


if __name__ == "__main__":
    main()
