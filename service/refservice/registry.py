"""Who is connected: every open connection (tab) of every user, and fan-out to them.

The registry holds connections by user, in the order they opened, and knows of each
only what :class:`Tab` says: its session, its delivery cursor, and how to wake its
delivery or queue a frame on it. It never touches a socket, and it is only used from
the event loop, so it needs no lock.
"""

from __future__ import annotations

from typing import Any, Protocol

from refservice.protocol import Session


class Tab(Protocol):
    """What the registry needs of an open connection."""

    session: Session
    cursor: int
    """The next event seq this connection will be sent."""

    def notify(self) -> None:
        """New events may be waiting in the database: wake this connection's delivery."""

    def push(self, data: str | bytes) -> None:
        """Queue one frame to send on this connection."""


class Registry:
    """The open connections of every user, oldest first."""

    def __init__(self) -> None:
        # A dict per user as an ordered set: presence lists tabs in the order they opened.
        self._tabs: dict[str, dict[Tab, None]] = {}

    def add(self, tab: Tab) -> None:
        self._tabs.setdefault(tab.session.user, {})[tab] = None

    def discard(self, tab: Tab) -> None:
        user = tab.session.user
        tabs = self._tabs.get(user)
        if tabs is None:
            return
        tabs.pop(tab, None)
        if not tabs:
            del self._tabs[user]

    def tabs_of(self, user: str) -> tuple[Tab, ...]:
        return tuple(self._tabs.get(user, ()))

    def notify(self, users: tuple[str, ...]) -> None:
        """Wake the delivery of every open connection of ``users``."""
        for user in users:
            for tab in self._tabs.get(user, ()):
                tab.notify()

    def send_to_user(self, user: str, data: str | bytes, *, besides: Tab | None = None) -> int:
        """Queue ``data`` on every open connection of ``user`` except ``besides``.

        Returns how many connections it was queued on.
        """
        sent = 0
        for tab in self.tabs_of(user):
            if tab is not besides:
                tab.push(data)
                sent += 1
        return sent

    def cursors(self, user: str) -> list[int]:
        """The delivery cursor of each open connection of ``user``."""
        return [tab.cursor for tab in self._tabs.get(user, ())]

    def presence(self, user: str) -> list[dict[str, Any]]:
        """The open connections of ``user``, oldest first: id and opening time of each."""
        return [
            {"connection_id": tab.session.connection_id, "opened_at": tab.session.opened_at}
            for tab in self._tabs.get(user, ())
        ]

    def __len__(self) -> int:
        return sum(len(tabs) for tabs in self._tabs.values())
