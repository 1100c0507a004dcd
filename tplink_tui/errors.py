"""The project's exception hierarchy.

Every failure that can reach a user is one of these, so front ends can print one
clear line (``str(exc)``) and pick an exit code by type. Raw ``KeyError``,
``JSONDecodeError``, ``struct.error`` or ``UnicodeDecodeError`` never escape the
library: they are translated into ``ProtocolError`` at the layer that sees them.
"""

from __future__ import annotations


class TplinkError(Exception):
    """Base of every error this package raises on purpose."""


class ProtocolError(TplinkError):
    """The peer sent bytes that are not a valid reply (framing, cipher, JSON or shape)."""


class FrameTooLarge(ProtocolError):
    """A length prefix announced more bytes than we are willing to read."""


class ConnectionFailure(TplinkError):
    """Base for 'could not talk to the device at all' errors."""


class DeviceUnreachable(ConnectionFailure):
    """Connection refused, host unreachable, or the connection dropped."""


class DeviceTimeout(ConnectionFailure):
    """The device did not connect or answer within the timeout."""


class DeviceError(TplinkError):
    """The device answered, with a non-zero ``err_code``."""

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
    """An outlet spec (index, id, short id or name) matches no outlet of the device."""


class NotSupported(TplinkError):
    """The device lacks the feature (for example energy on a plug without a meter)."""


class ConfigError(TplinkError):
    """A config or data file is unreadable, corrupt or could not be written."""
