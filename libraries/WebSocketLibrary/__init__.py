"""WebSocketLibrary: a Robot Framework library for testing any WebSocket server."""

from .library import WebSocketLibrary, __version__

__all__ = ["WebSocketLibrary", "__version__"]
