"""Base class shared by the keyword components."""

from __future__ import annotations

from typing import TYPE_CHECKING

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from ..masking import mask_secret, mask_tokens, reveals_secrets
from ..tokens import TokenDefaults

if TYPE_CHECKING:
    from .. import AuthLibrary


class LibraryComponent:
    """Gives keyword components access to the library's shared state and logging."""

    def __init__(self, library: AuthLibrary) -> None:
        self.library = library

    @property
    def defaults(self) -> TokenDefaults:
        """The library's current token defaults."""
        return self.library.token_defaults

    @defaults.setter
    def defaults(self, value: TokenDefaults) -> None:
        self.library.token_defaults = value

    @staticmethod
    def current_log_level() -> str | None:
        """``${LOG_LEVEL}`` when running inside Robot Framework, else ``None``."""
        try:
            level = BuiltIn().get_variable_value("${LOG_LEVEL}")
        except RobotNotRunningError:
            return None
        return str(level) if level is not None else None

    def reveal(self) -> bool:
        """True if secrets may be logged in full (log level DEBUG or TRACE)."""
        return reveals_secrets(self.current_log_level())

    def log(self, message: str, level: str = "INFO") -> None:
        """Log ``message`` with every JWT in it masked unless the log level reveals."""
        logger.write(message if self.reveal() else mask_tokens(message), level)

    def shown(self, secret: str | None) -> str:
        """``secret`` as it may appear in the log: masked unless the log level reveals."""
        if secret is None:
            return "None"
        return secret if self.reveal() else mask_secret(secret)
