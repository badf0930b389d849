"""How slow the scriptable server's slow paths are (``/slow-echo``, ``/slow-handshake``)."""

SLOW_SECONDS = 0.25
