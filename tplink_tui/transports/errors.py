"""Errors and credentials shared by the authenticated transports.

``AuthenticationError`` lives here for now (``tplink_tui/errors.py`` is being
reworked elsewhere); it is meant to move there with its own exit code (6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TplinkError

EXIT_AUTH = 6


class AuthenticationError(TplinkError):
    """The device refused our credentials (or none were given): 'authentication failed'."""

    exit_code = EXIT_AUTH

    def __init__(self, host: str, detail: str = "") -> None:
        self.host = host
        self.detail = detail
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"{host}: authentication failed{suffix}")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A cloud account pair; ``repr`` never shows the password (logs, tracebacks)."""

    username: str = ""
    password: str = field(default="", repr=False)


class SessionGone(Exception):
    """Internal: the device no longer knows our session (403, error 9999): renew once."""


LOGIN_ERROR = -1501
SESSION_TIMEOUT = 9999
AUTH_CODES = frozenset({LOGIN_ERROR, 1111, 1100, 1003, -40412})
"""``error_code`` values that mean the credentials were refused."""
SESSION_CODES = frozenset({SESSION_TIMEOUT, -40401, -1005, 1002})
"""``error_code`` values that mean the session is gone (expired, keys lost): renew once."""
