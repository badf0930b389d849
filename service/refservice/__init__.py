"""Embedded reference WebSocket + JWT service used to exercise the QA toolkit.

The package is split into small modules with one job each:

- :mod:`refservice.config` - the frozen :class:`Settings` built from flags and env vars.
- :mod:`refservice.tokens` - issuing and verifying JWTs, with stable reason codes.
- :mod:`refservice.protocol` - sans-I/O message handling (frames in, replies out).
- :mod:`refservice.store` - SQLite storage (users for now).
- :mod:`refservice.metrics` - connection and message counters.
- :mod:`refservice.app` - the FastAPI application factory.
- :mod:`refservice.__main__` - the ``refservice`` command line.
"""

__version__ = "0.1.0"
