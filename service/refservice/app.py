"""The FastAPI application: it builds the shared :class:`~refservice.services.Services`
and wires the routes.

- :mod:`refservice.http_routes`: ``/health``, ``/metrics``, ``/auth/login``,
  ``/auth/refresh`` and ``POST /events``;
- :mod:`refservice.ws_routes`: ``/ws``, and with ``--conformance-echo`` also
  ``/conformance/echo``, a plain echo for the Autobahn server cases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from refservice import http_routes, ws_routes
from refservice.config import Settings
from refservice.services import Services
from refservice.store import Store


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """Build the application. ``store`` defaults to one opened on ``settings.database``."""
    services = Services.build(settings, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(title="refservice", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    app.include_router(http_routes.router)
    app.include_router(ws_routes.router)
    if settings.conformance_echo:
        app.add_api_websocket_route(ws_routes.CONFORMANCE_ECHO_PATH, ws_routes.conformance_echo)
    return app
