"""Keywords that act like a slow client: an opening handshake that never completes."""

from __future__ import annotations

from datetime import timedelta

from robot.api.deco import keyword
from robot.utils import DotDict

from ..errors import HandshakeError, WebSocketLibraryError
from ..incomplete import HoldOutcome, IncompleteHandshake
from .base import LibraryComponent, timestr


class HandshakeKeywords(LibraryComponent):
    @keyword(tags=("handshake", "fault injection"))
    def open_incomplete_handshake(
        self,
        url: str,
        alias: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: timedelta | None = None,
        ca_file: str | None = None,
        verify: bool = True,
    ) -> str:
        """Starts an opening handshake to ``url`` and never finishes it, like a slowloris client.

        Opens a TCP connection (TLS for ``wss://``, verified as in `Connect`),
        sends the request line and the headers of a WebSocket upgrade request,
        with ``headers`` added, but not the empty line that ends the request
        head, and then sends nothing more. Check with `Incomplete Handshake
        Should Be Closed Within` that the server gives up on it in time.

        Returns the name to pass to that keyword: ``alias``, or a generated one.
        ``timeout`` limits connecting (the library's timeout by default). The
        connection is not a WebSocket connection: other keywords do not see it,
        and `Close All Connections` closes it.

        | `Open Incomplete Handshake` | ${WS_URL} | alias=slow |
        | `Open Incomplete Handshake` | ${WS_URL} | alias=slow | headers=${auth} |
        | `Incomplete Handshake Should Be Closed Within` | slow | 12s |
        """
        pending = self.library.incomplete_handshakes
        name = alias or f"incomplete #{len(pending) + 1}"
        if name in pending:
            raise WebSocketLibraryError(f"An incomplete handshake named '{name}' is already open.")
        try:
            attempt = IncompleteHandshake(
                url,
                headers=headers,
                timeout=self.seconds(timeout),
                ca_file=self.library.ca_file if ca_file is None else ca_file or None,
                verify=verify,
                name=name,
            )
            attempt.open()
        except ValueError as error:
            raise WebSocketLibraryError(
                f"Cannot open incomplete handshake '{name}': {error}"
            ) from None
        except OSError as error:
            raise HandshakeError(
                f"Could not open incomplete handshake '{name}' to {url}: {error}"
            ) from None
        pending[name] = attempt
        return name

    @keyword(tags=("handshake", "fault injection", "wait"))
    def incomplete_handshake_should_be_closed_within(
        self, handshake: str, timeout: timedelta
    ) -> DotDict:
        """Waits until the server closes the incomplete ``handshake``; fails if it held it longer.

        ``timeout`` counts from when `Open Incomplete Handshake` sent the
        request. Fails when the server still holds the connection ``timeout``
        after that, or had closed it later than that, naming how long it was
        held. Returns ``held`` (seconds from the request to the server's
        close), ``status`` (the HTTP status the server answered with before
        closing, such as ``408``, or ``None`` if it sent none), ``response``
        (what it sent, as text) and ``closed_by`` (``eof``, or ``reset`` for a
        TCP reset).

        | ${outcome} = | `Incomplete Handshake Should Be Closed Within` | slow | 1.5s |
        | Should Be Equal As Integers | ${outcome.status} | 408 |
        | Should Be True | ${outcome.held} >= 1 |
        """
        attempt = self._incomplete(handshake)
        limit = timeout.total_seconds()
        outcome = attempt.wait_closed(limit)
        if not outcome.closed:
            raise WebSocketLibraryError(
                f"Incomplete handshake '{attempt.name}' to {attempt.url} was still held open "
                f"{_held(outcome)} after its request, expected the server to close it within "
                f"{timestr(limit)}."
                + (f" The server sent: {_text(outcome)!r}" if outcome.response else "")
            )
        if outcome.held > limit:
            raise WebSocketLibraryError(
                f"Incomplete handshake '{attempt.name}' to {attempt.url} was held "
                f"{_held(outcome)} before the server closed it, expected at most {timestr(limit)}."
            )
        return DotDict(
            held=outcome.held, status=outcome.status, response=_text(outcome), closed_by=outcome.how
        )

    def _incomplete(self, name: str) -> IncompleteHandshake:
        try:
            return self.library.incomplete_handshakes[name]
        except KeyError:
            known = ", ".join(f"'{n}'" for n in self.library.incomplete_handshakes) or "none"
            raise WebSocketLibraryError(
                f"No incomplete handshake named '{name}'. Known: {known}."
            ) from None


def _held(outcome: HoldOutcome) -> str:
    return f"{outcome.held:.3f} s"


def _text(outcome: HoldOutcome) -> str:
    return outcome.response.decode("utf-8", errors="replace")
