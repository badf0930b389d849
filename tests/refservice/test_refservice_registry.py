"""The connection registry on its own: tabs by user, fan-out, cursors and presence."""

from __future__ import annotations

from dataclasses import dataclass, field

from refservice.protocol import Session
from refservice.registry import Registry


@dataclass(eq=False)
class FakeTab:
    """Stands in for a connection: records what the registry asks of it."""

    session: Session
    cursor: int = 1
    pushed: list[str | bytes] = field(default_factory=list)
    notified: int = 0

    def notify(self) -> None:
        self.notified += 1

    def push(self, data: str | bytes) -> None:
        self.pushed.append(data)


def tab(user: str, cursor: int = 1) -> FakeTab:
    return FakeTab(Session(user=user), cursor)


def test_tabs_are_listed_per_user_in_opening_order() -> None:
    registry = Registry()
    first, other, second = tab("alice"), tab("bob"), tab("alice")
    for each in (first, other, second):
        registry.add(each)
    assert registry.tabs_of("alice") == (first, second)
    assert registry.tabs_of("bob") == (other,)
    assert registry.tabs_of("carol") == ()
    assert len(registry) == 3


def test_discard_forgets_one_tab_and_then_the_user() -> None:
    registry = Registry()
    first, second = tab("alice"), tab("alice")
    registry.add(first)
    registry.add(second)
    registry.discard(first)
    assert registry.tabs_of("alice") == (second,)
    registry.discard(second)
    registry.discard(second)  # twice is harmless
    registry.discard(tab("nobody"))
    assert registry.tabs_of("alice") == ()
    assert len(registry) == 0
    assert registry.presence("alice") == []


def test_notify_wakes_every_tab_of_the_named_users_only() -> None:
    registry = Registry()
    alice_tabs = [tab("alice"), tab("alice")]
    bob_tab, carol_tab = tab("bob"), tab("carol")
    for each in (*alice_tabs, bob_tab, carol_tab):
        registry.add(each)
    registry.notify(("alice", "bob", "nobody"))
    assert [t.notified for t in alice_tabs] == [1, 1]
    assert bob_tab.notified == 1
    assert carol_tab.notified == 0


def test_send_to_user_reaches_all_tabs_of_that_user_and_no_other() -> None:
    registry = Registry()
    alice_tabs = [tab("alice") for _ in range(3)]
    bob_tab = tab("bob")
    for each in (*alice_tabs, bob_tab):
        registry.add(each)
    assert registry.send_to_user("alice", "hello") == 3
    assert [t.pushed for t in alice_tabs] == [["hello"]] * 3
    assert bob_tab.pushed == []


def test_send_to_user_can_leave_out_the_sending_tab() -> None:
    registry = Registry()
    sender, other = tab("alice"), tab("alice")
    registry.add(sender)
    registry.add(other)
    assert registry.send_to_user("alice", b"\x01", besides=sender) == 1
    assert sender.pushed == []
    assert other.pushed == [b"\x01"]


def test_cursors_are_those_of_the_users_open_tabs() -> None:
    registry = Registry()
    registry.add(tab("alice", cursor=4))
    registry.add(tab("alice", cursor=9))
    registry.add(tab("bob", cursor=2))
    assert registry.cursors("alice") == [4, 9]
    assert registry.cursors("nobody") == []


def test_presence_names_each_tab_with_its_opening_time() -> None:
    registry = Registry()
    first, second = tab("alice"), tab("alice")
    registry.add(first)
    registry.add(tab("bob"))
    registry.add(second)
    assert registry.presence("alice") == [
        {"connection_id": first.session.connection_id, "opened_at": first.session.opened_at},
        {"connection_id": second.session.connection_id, "opened_at": second.session.opened_at},
    ]
    assert first.session.connection_id != second.session.connection_id
