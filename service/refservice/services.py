"""What the endpoints share: settings, store, tokens, counters, protocol, registry.

Every database call that writes (and the reads that must see writes in order) runs on
one dedicated thread, :meth:`Services.db`, so the event loop never waits for an fsync
and results come back in commit order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from starlette.requests import HTTPConnection

from refservice.config import Settings
from refservice.connection import OutboxLimits
from refservice.metrics import Metrics
from refservice.protocol import Protocol
from refservice.registry import Registry
from refservice.store import SEEDED_USER_SCRYPT_N, Store
from refservice.throttle import LoginThrottle
from refservice.tokens import TokenError, TokenService

logger = logging.getLogger("refservice")

T = TypeVar("T")


@dataclass
class Services:
    """Everything the endpoints share; stored on ``app.state.services``."""

    settings: Settings
    store: Store
    tokens: TokenService
    metrics: Metrics
    registry: Registry
    protocol: Protocol
    throttle: LoginThrottle
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="refservice-db")
    )
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def build(cls, settings: Settings, store: Store | None = None) -> Services:
        """Open (or take) the store, seed the users and wire the protocol to the registry."""
        store = store if store is not None else Store(settings.database)
        store.seed_users(settings.users)
        if settings.seed_users:
            store.seed_users(settings.seeded_users(), cost=SEEDED_USER_SCRYPT_N)
        registry = Registry()
        tokens = TokenService(settings)
        return cls(
            settings=settings,
            store=store,
            tokens=tokens,
            metrics=Metrics(),
            registry=registry,
            throttle=LoginThrottle(settings.max_login_failures, settings.login_failure_window),
            protocol=Protocol(
                store=store,
                max_queue_length=settings.max_queue_length,
                state_history=settings.state_history,
                idempotency_key_ttl=settings.idempotency_key_ttl,
                presence=registry.presence,
                verify_access_token=partial(tokens.verify, expected_type="access"),
            ),
        )

    @property
    def outbox_limits(self) -> OutboxLimits:
        return OutboxLimits(self.settings.max_outbox_messages, self.settings.max_outbox_bytes)

    async def db(self, function: Callable[..., T], *args: Any) -> T:
        """Run a store call on the database thread (in submission order)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(function, *args))

    async def read_events(self, user: str, first_seq: int, limit: int) -> list[dict[str, Any]]:
        return await self.db(self.store.events_from, user, first_seq, limit)

    async def check_user(self, username: str) -> None:
        """Raise ``unknown_user`` unless the user exists.

        On the database thread: the store's lock may be held through a slow commit, and
        waiting for it on the event loop would stall every connection and /health.
        """
        if not await self.db(self.store.user_exists, username):
            raise TokenError("unknown_user", f"User {username!r} does not exist.")

    def notify(self, users: tuple[str, ...]) -> None:
        """New events were committed for ``users``: wake their connections' delivery."""
        self.metrics.events_published(len(users))
        self.registry.notify(users)

    def prune_later(self, user: str, acked: int | None = None) -> None:
        """Delete the user's acknowledged events that every open connection has been sent.

        ``acked`` limits the deletion further; the store never deletes unacknowledged
        events whatever the limit.
        """
        cursors = [cursor - 1 for cursor in self.registry.cursors(user)]
        limits = cursors if acked is None else [acked, *cursors]
        floor = min(limits) if limits else 2**62
        if floor <= 0:
            return
        try:
            task = asyncio.get_running_loop().create_task(self.db(self.store.prune, user, floor))
        except RuntimeError:  # shutting down: the next start prunes instead
            return
        self.background.add(task)
        task.add_done_callback(self._pruned)

    def _pruned(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("Pruning acknowledged events failed: %r", task.exception())

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.store.close()


def services_of(connection: HTTPConnection) -> Services:
    """The :class:`Services` of the app serving ``connection`` (a request or a WebSocket)."""
    services: Services = connection.app.state.services
    return services
