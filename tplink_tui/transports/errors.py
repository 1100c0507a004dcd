"""Errors and credentials shared by the authenticated transports.

``AuthenticationError`` lives in ``tplink_tui/errors.py`` with the other error
classes (exit code 6); it is re-exported here for the transports' callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import EXIT_AUTH, AuthenticationError

__all__ = ["EXIT_AUTH", "AuthenticationError", "Credentials"]


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
