"""How many connections one Robot process can hold, and what each costs.

Opens N concurrent authenticated connections to a private reference service,
each with a background reader, and reports the wall time to open them all and
the client's memory growth (RSS). Two variants run, each in a fresh process so
one does not inherit the other's memory:

- ``baseline``: bare websocket-client, ``create_connection`` plus one plain
  thread per connection looping on ``recv()``;
- ``library``: WebSocketLibrary's ``WebSocketConnection`` (reader thread,
  inbox, transcript).

Run:  python benchmarks/connections.py --connections 1000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import psutil
import requests
import websocket

from ReferenceServiceLibrary import ServiceProcess
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


def measure(variant: str, ws_url: str, token: str, count: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
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


VARIANTS = ("baseline", "library")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--variant", choices=["baseline", "library"], help=argparse.SUPPRESS)
    parser.add_argument("--ws-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:  # A child run: measure one variant and print JSON.
        print(json.dumps(measure(args.variant, args.ws_url, args.token, args.connections)))
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
            child = subprocess.run(
                [sys.executable, __file__, "--connections", str(args.connections),
                 "--variant", variant, "--ws-url", service.ws_url, "--token", token],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[variant] = json.loads(child.stdout.strip().splitlines()[-1])

    base, lib = results["baseline"], results["library"]
    print(f"{args.connections} concurrent connections, one process, reference service on loopback")
    print(f"{'':24}{'baseline':>12}{'library':>12}{'ratio':>8}")
    for key, label in (
        ("open_seconds", "open all (s)"),
        ("close_seconds", "close all (s)"),
        ("rss_growth_mib", "RSS growth (MiB)"),
        ("kib_per_connection", "per connection (KiB)"),
        ("threads_left", "threads left"),
    ):
        ratio = f"{lib[key] / base[key]:.2f}" if base[key] else "-"
        print(f"{label:24}{base[key]:>12.2f}{lib[key]:>12.2f}{ratio:>8}")


if __name__ == "__main__":
    main()
