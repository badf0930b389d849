"""What crossed the wire, recorded in any thread and rendered as HTML for log.html.

Robot Framework ignores log messages from threads other than the main one, so
the read loop only records events here; keywords render them later.
"""

from __future__ import annotations

import html
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from AuthLibrary.masking import JWT_PATTERN

SENT = "sent"
RECEIVED = "received"
EVENT = "event"
_ARROWS = {SENT: "&rarr;", RECEIVED: "&larr;", EVENT: "&bull;"}
PREVIEW_CHARS = 400
_LONGEST_TOKEN = 8192
_STYLE = (
    "<style>table.websocket-transcript{border-collapse:collapse}"
    "table.websocket-transcript td,table.websocket-transcript th"
    "{padding:1px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}"
    "</style>"
)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, never through the middle of a JWT.

    Masking happens later and recognises only whole tokens, so a token the cut
    would split is left out entirely.
    """
    if len(text) <= limit:
        return text
    cut = limit
    # JWTs are rarely longer than a few KiB; looking that far past the cut is enough.
    for token in JWT_PATTERN.finditer(text, 0, limit + _LONGEST_TOKEN):
        if token.start() >= limit:
            break
        if token.end() > limit:
            cut = token.start()
            break
    return f"{text[:cut]}… ({len(text)} chars)"


def preview(payload: str | bytes, limit: int = PREVIEW_CHARS) -> str:
    """A readable, bounded rendering of a payload."""
    if isinstance(payload, bytes):
        head = payload[: limit // 2]
        more = f"… ({len(payload)} bytes)" if len(payload) > len(head) else ""
        return f"0x{head.hex()}{more}" if head else "(empty)"
    return shorten(payload, limit) if payload else "(empty)"


@dataclass(frozen=True)
class TranscriptEvent:
    at: float
    connection: str
    direction: str
    kind: str
    size: int | None
    content: str


class Transcript:
    """A bounded buffer of wire events of one connection."""

    def __init__(self, connection: str, max_events: int = 2000) -> None:
        self.connection = connection
        self._events: deque[TranscriptEvent] = deque(maxlen=max_events)
        self._dropped = 0
        self._lock = threading.Lock()

    def record(
        self,
        direction: str,
        kind: str,
        payload: str | bytes | None = None,
        note: str = "",
        at: float | None = None,
    ) -> None:
        """Record one event; ``at`` (wall-clock seconds) defaults to now."""
        if payload is None:
            size = None
        else:
            size = len(payload) if isinstance(payload, bytes) else len(payload.encode("utf-8"))
        content = note if payload is None else preview(payload)
        if note and payload is not None:
            content = f"{note} {content}"
        when = time.time() if at is None else at
        event = TranscriptEvent(when, self.connection, direction, kind, size, content)
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self._dropped += 1
            self._events.append(event)

    def drain(self) -> tuple[list[TranscriptEvent], int]:
        """Events recorded since the last drain, and how many were dropped meanwhile."""
        with self._lock:
            events, dropped = list(self._events), self._dropped
            self._events.clear()
            self._dropped = 0
            return events, dropped


def render_html(
    events: Iterable[TranscriptEvent], mask: Callable[[str], str], dropped: int = 0
) -> str:
    """An HTML table of ``events`` in time order, each content passed through ``mask``."""
    rows = []
    for event in sorted(events, key=lambda e: e.at):
        stamp = datetime.fromtimestamp(event.at).strftime("%H:%M:%S.%f")[:-3]
        size = "" if event.size is None else str(event.size)
        rows.append(
            "<tr>"
            f"<td>{stamp}</td>"
            f"<td>{html.escape(event.connection)}</td>"
            f"<td title='{event.direction}'>{_ARROWS[event.direction]}</td>"
            f"<td>{html.escape(event.kind)}</td>"
            f"<td>{size}</td>"
            f"<td><code>{html.escape(mask(event.content))}</code></td>"
            "</tr>"
        )
    note = (
        f"<p>{dropped} older events were not kept (transcript buffer full).</p>" if dropped else ""
    )
    return (
        f"{_STYLE}{note}<table class='websocket-transcript'>"
        "<tr><th>time</th><th>connection</th><th></th><th>type</th><th>bytes</th>"
        "<th>content</th></tr>" + "".join(rows) + "</table>"
    )
