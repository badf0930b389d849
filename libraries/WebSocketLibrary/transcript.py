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
from enum import Enum

from AuthLibrary.masking import JWT_PATTERN

SENT = "sent"
RECEIVED = "received"
EVENT = "event"
_ARROWS = {SENT: "→", RECEIVED: "←", EVENT: "•"}
PREVIEW_CHARS = 400
_LONGEST_TOKEN = 8192


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


class TranscriptMode(Enum):
    """When the transcript is written to log.html."""

    KEYWORD = "keyword"
    """A table after every keyword of the library that had traffic."""
    TEST = "test"
    """One table at the end of each test, suite setup and suite teardown, and at once where
    a keyword of the library fails."""
    FAILURE = "failure"
    """As ``TEST``, but only where a keyword fails or the test fails."""
    OFF = "off"
    """Never."""


def transcript_mode(value: TranscriptMode | bool) -> TranscriptMode:
    """The mode named by an import or keyword argument: ``True`` is ``test``, ``False`` ``off``."""
    if isinstance(value, TranscriptMode):
        return value
    return TranscriptMode.TEST if value else TranscriptMode.OFF


@dataclass(frozen=True)
class TranscriptEvent:
    at: float
    connection: str
    direction: str
    kind: str
    size: int | None
    content: str


class Transcript:
    """A bounded buffer of wire events of one connection.

    Recording is on the hot path of every send and every received frame, so it
    only keeps the raw parts; sizes, shortening and masking happen when (and if)
    the events are rendered.
    """

    def __init__(self, connection: str, max_events: int = 2000) -> None:
        self.connection = connection
        self._events: deque[tuple[float, str, str, str | bytes | None, str]] = deque(
            maxlen=max_events
        )
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
        if payload is not None and len(payload) > _KEPT_WHOLE:
            # Keep no reference to a big payload: its preview and size are all that is shown.
            payload = _Shortened(preview(payload), _size(payload))
        event = (time.time() if at is None else at, direction, kind, payload, note)
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self._dropped += 1
            self._events.append(event)

    def __len__(self) -> int:
        return len(self._events)

    def drain(self) -> tuple[list[TranscriptEvent], int]:
        """Events recorded since the last drain, and how many were dropped meanwhile."""
        with self._lock:
            raw, dropped = list(self._events), self._dropped
            self._events.clear()
            self._dropped = 0
        return [self._event(*parts) for parts in raw], dropped

    def discard(self) -> None:
        """Forget the events recorded so far, without rendering them."""
        with self._lock:
            self._events.clear()
            self._dropped = 0

    def _event(
        self, at: float, direction: str, kind: str, payload: str | bytes | None, note: str
    ) -> TranscriptEvent:
        if payload is None:
            return TranscriptEvent(at, self.connection, direction, kind, None, note)
        if isinstance(payload, _Shortened):
            size, content = payload.size, payload.preview
        else:
            size, content = _size(payload), preview(payload)
        if note:
            content = f"{note} {content}"
        return TranscriptEvent(at, self.connection, direction, kind, size, content)


# Payloads up to this many characters are kept as they are, by reference, until rendered.
_KEPT_WHOLE = 4 * PREVIEW_CHARS


@dataclass(frozen=True)
class _Shortened:
    preview: str
    size: int


def _size(payload: str | bytes) -> int:
    return len(payload) if isinstance(payload, bytes) else len(payload.encode("utf-8"))


def render_html(
    events: Iterable[TranscriptEvent], mask: Callable[[str], str], dropped: int = 0
) -> str:
    """The events in time order as aligned lines, each content passed through ``mask``.

    One ``<pre>`` block rather than a table: every event costs a line of text in
    output.xml, not a row of markup (escaped once more inside the XML).
    """
    ordered = sorted(events, key=lambda e: e.at)
    names = [html.escape(e.connection, quote=False) for e in ordered]
    name_width = max(map(len, names), default=0)
    kind_width = max((len(e.kind) for e in ordered), default=0)
    lines = []
    for event, name in zip(ordered, names, strict=True):
        stamp = datetime.fromtimestamp(event.at).strftime("%H:%M:%S.%f")[:-3]
        size = "" if event.size is None else str(event.size)
        lines.append(
            f"{stamp} {name:<{name_width}} {_ARROWS[event.direction]} "
            f"{html.escape(event.kind, quote=False):<{kind_width}} {size:>6}  "
            f"{html.escape(mask(event.content), quote=False)}"
        )
    note = f"{dropped} older events were not kept (transcript buffer full).\n" if dropped else ""
    return f"<pre class='websocket-transcript'>{note}" + "\n".join(lines) + "</pre>"
