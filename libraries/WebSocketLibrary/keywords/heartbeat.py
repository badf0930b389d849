"""Keywords for pings, pongs and the server's heartbeat."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from robot.api.deco import keyword

from ..errors import MessageTimeoutError, WebSocketLibraryError
from .base import LibraryComponent, capitalized, timestr


class HeartbeatKeywords(LibraryComponent):
    @keyword(tags=("heartbeat",))
    def ping_server(
        self,
        payload: bytes = b"robot",
        timeout: timedelta | None = None,
        connection: str | None = None,
    ) -> float:
        """Sends a ping with ``payload`` and waits for the pong that echoes it; returns the RTT.

        The round-trip time is in seconds. Fails when no matching pong arrives
        within ``timeout`` (the connection's timeout by default). RFC 6455 limits
        the payload to 125 bytes.

        | ${rtt} = | `Ping Server` |
        | ${rtt} = | `Ping Server` | payload=hello | timeout=500ms |
        | Should Be True | ${rtt} < 0.05 |
        """
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        rtt = target.ping(bytes(payload), wait)
        if rtt is None:
            raise MessageTimeoutError(
                f"{capitalized(target.describe())} got no pong echoing {bytes(payload)!r} "
                f"within {timestr(wait)}."
            )
        return rtt

    @keyword(tags=("heartbeat",))
    def wait_for_server_pings(
        self, count: int = 2, timeout: timedelta | None = None, connection: str | None = None
    ) -> list[float]:
        """Waits for ``count`` pings from the server from now on; returns the intervals.

        The intervals are in seconds, ``count - 1`` of them, measured on the
        arrival times the background reader recorded. Pings are answered as they
        come unless `Stop Answering Pings` was used. Fails when fewer than
        ``count`` pings arrive within ``timeout``.

        | @{intervals} = | `Wait For Server Pings` | 4 | timeout=2s |
        | FOR | ${interval} | IN | @{intervals} |
        | | Should Be True | 0.15 < ${interval} < 0.3 |
        | END |
        """
        if count < 2:
            raise WebSocketLibraryError(
                f"Wait For Server Pings needs 2 or more pings, got {count}."
            )
        target = self.connection(connection)
        wait = self.seconds(timeout, target)
        pings = target.control.wait_for_pings(count, target.control.ping_count, wait)
        if len(pings) < count:
            state = "" if target.closed is None else " The connection closed meanwhile."
            raise MessageTimeoutError(
                f"{capitalized(target.describe())} received {len(pings)} of {count} pings "
                f"within {timestr(wait)}.{state}"
            )
        return [later.monotonic - earlier.monotonic for earlier, later in pairwise(pings)]

    @keyword(tags=("heartbeat", "fault injection"))
    def stop_answering_pings(self, connection: str | None = None) -> None:
        """Makes the connection ignore the server's pings, to play a frozen client.

        The server's heartbeat should then close the connection; check that with
        `Wait For Close`. `Start Answering Pings` undoes it.

        | `Stop Answering Pings` |
        | `Wait For Close` | 1011 | timeout=2s |
        """
        self.connection(connection).answer_pings = False

    @keyword(tags=("heartbeat",))
    def start_answering_pings(self, connection: str | None = None) -> None:
        """Makes the connection answer the server's pings again, at once (the default).

        | `Start Answering Pings` | connection=alice |
        """
        self.connection(connection).answer_pings = True
