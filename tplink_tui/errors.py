"""The project's exception hierarchy, and the exit code each kind of failure means.

Every failure that can reach a user is one of these, so front ends can print one
clear line (``str(exc)``). Each class carries its command-line exit code
(``exit_code``), so the CLI maps an error to a code in one place by asking the error.
Raw ``KeyError``, ``JSONDecodeError``, ``struct.error`` or ``UnicodeDecodeError``
never escape the library: they are translated into ``ProtocolError`` at the layer
that sees them.

Exit codes: 1 the device answered with an error or lacks the feature, 2 usage
error, 3 unreachable or timed out, 4 config or history storage, 5 a reply that
cannot be understood, 6 the device refused our credentials (or none were given).
"""

from __future__ import annotations

from .lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import ClassVar

EXIT_DEVICE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_STORAGE = 4
EXIT_PROTOCOL = 5
EXIT_AUTH = 6


class TplinkError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: ClassVar[int] = EXIT_DEVICE
    """The command line's exit code for this kind of failure (subclasses override)."""


class ProtocolError(TplinkError):
    """The peer sent bytes that are not a valid reply (framing, cipher, JSON or shape)."""

    exit_code = EXIT_PROTOCOL


class FrameTooLarge(ProtocolError):
    """A length prefix announced more bytes than we are willing to read."""


class SpeaksHttp(FrameTooLarge):
    """The XOR port answered in HTTP: a newer device (KLAP or AES) listens there."""


class ConnectionFailure(TplinkError):
    """Base for 'could not talk to the device at all' errors."""

    exit_code = EXIT_UNREACHABLE


class DeviceUnreachable(ConnectionFailure):
    """Connection refused, host unreachable, or the connection dropped."""


class DeviceTimeout(ConnectionFailure):
    """The device did not connect or answer within the timeout."""


class AuthenticationError(TplinkError):
    """The device refused our credentials (or none were given): 'authentication failed'.

    Its own exit code (6), not "unreachable": the device answered, and other
    credentials (not another try) fix it.
    """

    exit_code = EXIT_AUTH

    def __init__(self, host: str, detail: str = "") -> None:
        self.host = host
        self.detail = detail
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"{host}: authentication failed{suffix}")


class DeviceError(TplinkError):
    """The device answered, with a non-zero ``err_code``."""

    exit_code = EXIT_DEVICE

    def __init__(
        self,
        err_code: int,
        err_msg: str,
        module: str | None = None,
        method: str | None = None,
        host: str | None = None,
    ) -> None:
        self.err_code = err_code
        self.err_msg = err_msg
        self.module = module
        self.method = method
        self.host = host
        where = ".".join(p for p in (module, method) if p)
        prefix = f"{host}: " if host else ""
        super().__init__(
            f"{prefix}device error {err_code} in {where or 'reply'}: {err_msg or 'no message'}"
        )


class OutletNotFound(TplinkError):
    """An outlet spec (index, id, short id or name) matches no outlet of the device.

    The spec came from the user, so on the command line it is a usage error.
    """

    exit_code = EXIT_USAGE


class NotSupported(TplinkError):
    """The device lacks the feature (for example energy on a plug without a meter)."""

    exit_code = EXIT_DEVICE


class ConfigError(TplinkError):
    """A config or data file is unreadable, corrupt or could not be written."""

    exit_code = EXIT_STORAGE


class UsageError(TplinkError, ValueError):
    """Bad input from the command line (or an API caller) that argparse could not catch.

    Also a ``ValueError``: parse helpers that raise it keep the usual contract for a
    value that cannot be read.
    """

    exit_code = EXIT_USAGE


class Cancelled(UsageError):
    """The person at the terminal said no (exit 2, like any refused confirmation)."""


class ConfigUsageError(ConfigError, UsageError):
    """A config edit refused for what was asked (a duplicate or unknown saved name).

    A ``ConfigError`` for the store's callers, but the file is fine: the request was
    wrong, so on the command line it is a usage error (exit 2), not storage (4).
    """

    exit_code = EXIT_USAGE


class ListenError(UsageError):
    """A server of ours cannot listen where it was told (a busy port, no permission).

    A usage error: another ``--port`` or ``--host`` fixes it.
    """
