"""Small helpers for tests that talk to the service over a raw websocket-client socket."""

from __future__ import annotations

import json
from typing import Any

import websocket

TIMEOUT = 5.0


def recv(ws: websocket.WebSocket) -> dict[str, Any]:
    """The next message, parsed as a JSON object."""
    return dict(json.loads(ws.recv()))


def request(ws: websocket.WebSocket, message: dict[str, Any]) -> dict[str, Any]:
    """Send ``message`` and return the reply with its id, skipping events that arrive first."""
    ws.send(json.dumps(message))
    while True:
        reply = recv(ws)
        if reply.get("id") == message["id"]:
            return reply
        assert reply["type"] == "event", reply


def nothing_more(ws: websocket.WebSocket, wait: float = 0.2) -> bool:
    """True when nothing arrives within ``wait`` seconds."""
    ws.settimeout(wait)
    try:
        ws.recv()
    except websocket.WebSocketTimeoutException:
        return True
    finally:
        ws.settimeout(TIMEOUT)
    return False
