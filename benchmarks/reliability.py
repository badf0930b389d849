"""Zero message loss under failure: events through client drops and service crashes.

A publisher posts EVENTS events over HTTP, one after another, to one user. A
consumer receives them over the WebSocket with WebSocketLibrary's connection,
acknowledging as it goes. Meanwhile the client connection is dropped DROPS
times and the service is killed with SIGKILL KILLS times and restarted on the
same port with the same database. At the end every event the publisher was
told was stored (HTTP 201) must have arrived; the script counts what was lost,
what arrived twice (and so needed deduplication by seq) and what arrived out
of order.

Run:  python benchmarks/reliability.py --events 10000 --kills 3 --drops 3
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, field

import requests

from ReferenceServiceLibrary import ServiceProcess
from WebSocketLibrary.connection import ConnectOptions, WebSocketConnection
from WebSocketLibrary.errors import ConnectionClosedError, HandshakeError
from WebSocketLibrary.matchers import Criteria
from WebSocketLibrary.sequences import Coverage, describe_ranges

USER, PASSWORD = "alice", "alice-password"
PUBLISHER, PUBLISHER_PASSWORD = "publisher", "publisher-password"
ACK_EVERY = 200
EVENT = Criteria({"type": "event"})


@dataclass
class Tally:
    confirmed: set[int] = field(default_factory=set)
    """Event numbers the service answered 201 for."""
    ambiguous: set[int] = field(default_factory=set)
    """Event numbers whose request was cut by a crash: stored or not, nobody was told."""
    received: dict[int, int] = field(default_factory=dict)
    """seq -> event number, first arrival only."""
    seqs: Coverage = field(default_factory=lambda: Coverage(first=1))
    """Which seqs arrived, how often, in what order (the library's at-least-once accounting)."""
    publishing_done: threading.Event = field(default_factory=threading.Event)


def log_in(http_url: str, user: str, password: str) -> str:
    answer = requests.post(
        f"{http_url}/auth/login", json={"username": user, "password": password}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def publish(service: ServiceProcess, tally: Tally, events: int, deadline: float) -> None:
    session = requests.Session()
    session.headers["Authorization"] = (
        f"Bearer {log_in(service.http_url, PUBLISHER, PUBLISHER_PASSWORD)}"
    )
    number = 0
    while len(tally.confirmed) < events and time.monotonic() < deadline:
        number += 1
        while time.monotonic() < deadline:
            try:
                answer = session.post(
                    f"{service.http_url}/events", json={"user": USER, "data": {"n": number}},
                    timeout=10,
                )  # fmt: skip
            except requests.ConnectionError as error:
                if _refused(error):  # Nothing was sent: the service is down. Same event again.
                    time.sleep(0.05)
                    continue
                tally.ambiguous.add(number)  # Cut mid-request: maybe stored, maybe not.
                break
            answer.raise_for_status()
            tally.confirmed.add(number)
            break
    tally.publishing_done.set()


def _refused(error: requests.ConnectionError) -> bool:
    return "Connection refused" in str(error) or "Errno 111" in str(error)


def consume(service: ServiceProcess, tally: Tally, stop: threading.Event, drop: threading.Event):
    token = log_in(service.http_url, USER, PASSWORD)
    options = ConnectOptions(headers={"Authorization": f"Bearer {token}"}, timeout=5)
    acked = 0
    while not stop.is_set():
        connection = _connect(service.ws_url, options, after=tally.seqs.contiguous, stop=stop)
        if connection is None:
            return
        while not stop.is_set():
            if drop.is_set():
                drop.clear()
                connection.abort()
                break
            message = connection.inbox.take(EVENT, 0.2)
            if message is None:
                if connection.closed is not None:
                    break  # The service went away; reconnect.
                continue
            _record(tally, message.json)
            contiguous = tally.seqs.contiguous
            if contiguous - acked >= ACK_EVERY:
                ack = {"type": "ack", "id": f"ack-{contiguous}", "seq": contiguous}
                try:
                    connection.send_json(ack)
                except ConnectionClosedError:
                    break  # The connection died; the next one resumes after `contiguous`.
                acked = contiguous
        connection.close(timeout=1)


def _connect(url: str, options: ConnectOptions, after: int, stop: threading.Event):
    while not stop.is_set():
        connection = WebSocketConnection(f"{url}?resume_after={after}", options, name="consumer")
        try:
            connection.open()
            return connection
        except HandshakeError:
            time.sleep(0.05)  # The service is restarting.
    return None


def _record(tally: Tally, event: dict) -> None:
    if tally.seqs.add(event["seq"]):
        tally.received[event["seq"]] = event["data"]["n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--drops", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=600, help="seconds")
    args = parser.parse_args()

    tally = Tally()
    stop, drop = threading.Event(), threading.Event()
    started = time.monotonic()
    deadline = started + args.time_limit
    with ServiceProcess(max_queue_length=args.events * 2) as service:
        publisher = threading.Thread(target=publish, args=(service, tally, args.events, deadline))
        consumer = threading.Thread(target=consume, args=(service, tally, stop, drop))
        publisher.start()
        consumer.start()
        # Spread the failures over the delivery: a drop or a kill every time another
        # share of the events has arrived, alternating.
        failures = []
        for round_ in range(max(args.drops, args.kills)):
            failures += ["drop"] if round_ < args.drops else []
            failures += ["kill"] if round_ < args.kills else []
        done = {"drop": 0, "kill": 0}
        for index, kind in enumerate(failures, start=1):
            threshold = args.events * index // (len(failures) + 1)
            while len(tally.received) < threshold and time.monotonic() < deadline:
                time.sleep(0.01)
            if kind == "drop":
                drop.set()
            else:
                service.restart(graceful=False)
            done[kind] += 1
        tally.publishing_done.wait(max(deadline - time.monotonic(), 0))
        expected = tally.confirmed | (tally.ambiguous & set(tally.received.values()))
        while set(tally.received.values()) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        publisher.join(10)
        consumer.join(10)
    elapsed = time.monotonic() - started

    arrived = set(tally.received.values())
    lost = tally.confirmed - arrived
    print(f"events confirmed by the service   {len(tally.confirmed)}")
    print(f"requests cut by a kill (ambiguous) {len(tally.ambiguous)}"
          f" ({len(tally.ambiguous & arrived)} of them stored and delivered)")  # fmt: skip
    print(f"client drops / service kills      {done['drop']} / {done['kill']}")
    print(f"events received (unique seq)      {len(tally.received)}")
    print(f"redelivered, removed by seq       {tally.seqs.duplicates}")
    print(f"seqs never received (gaps)        {describe_ranges(tally.seqs.missing()) or 0}")
    print(f"lost                              {len(lost)}")
    print(f"out of order                      {len(tally.seqs.late)}")
    print(f"duration                          {elapsed:.1f} s")
    if lost or tally.seqs.late or tally.seqs.missing():
        raise SystemExit(1)


if __name__ == "__main__":
    main()
