"""Embedded reference WebSocket + JWT service used to exercise the QA toolkit.

The package is split into small modules with one job each:

- :mod:`refservice.config` - the frozen :class:`Settings` built from flags and env vars.
- :mod:`refservice.tokens` - issuing and verifying JWTs, with stable reason codes.
- :mod:`refservice.protocol` - sans-I/O message handling (frames in, replies out).
- :mod:`refservice.store` - SQLite storage: users, event queues, topics, state.
- :mod:`refservice.metrics` - connection and message counters.
- :mod:`refservice.credentials` - where a request carries its token.
- :mod:`refservice.registry` - the open connections (tabs) of every user, and fan-out.
- :mod:`refservice.connection` - one open WebSocket: outbox, delivery cursor, writer.
- :mod:`refservice.httpstack` - uvicorn's h11 protocol with a deadline for each request head.
- :mod:`refservice.throttle` - login throttling per user name.
- :mod:`refservice.expiry` - the warning and the 4001 close when a connection's token expires.
- :mod:`refservice.services` - what the endpoints share (store, tokens, registry...).
- :mod:`refservice.http_routes` and :mod:`refservice.ws_routes` - the endpoints.
- :mod:`refservice.app` - the FastAPI application factory that wires them.
- :mod:`refservice.__main__` - the ``refservice`` command line.
"""

__version__ = "0.1.0"
