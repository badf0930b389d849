"""A listener that masks JWTs and credentials in every log message, including Robot's own.

Robot Framework logs keyword return values (``${token} = eyJ...``) itself,
outside the library's control; this listener masks those lines and any
other message with a JWT in it, unless the log level is DEBUG or TRACE.
"""

from __future__ import annotations

from typing import Any

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from .masking import mask_credentials, reveals_secrets


class MaskingListener:
    """Listener API v3: rewrites log messages so that JWTs and credentials are masked."""

    ROBOT_LISTENER_API_VERSION = 3

    def log_message(self, message: Any) -> None:
        """Mask credentials in ``message`` unless the current log level reveals secrets."""
        text = message.message
        if not isinstance(text, str):
            return
        masked = mask_credentials(text)
        if masked == text:
            return
        try:
            level = BuiltIn().get_variable_value("${LOG_LEVEL}")
        except RobotNotRunningError:
            level = None
        if not reveals_secrets(str(level) if level is not None else None):
            message.message = masked
