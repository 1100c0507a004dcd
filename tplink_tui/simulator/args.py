"""What every request handler shares: its signature, and argument checking.

A handler gets the device, the outlets named by ``context.child_ids`` (None when
there is no context) and the method's arguments (a dict); it returns the
method's result or raises ``CommandError``, which becomes the reply's err_code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .device import Outlet, SimulatedDevice

Targets = list["Outlet"] | None
Args = dict[str, Any]
Reply = dict[str, Any]
Handler = Callable[["SimulatedDevice", Targets, Args], Reply]


class CommandError(Exception):
    """A method fails with this err_code; -3 "invalid argument" unless told."""

    def __init__(self, code: int = -3, msg: str = "invalid argument") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def flag(args: Args, key: str) -> bool:
    """A 0/1 argument (booleans accepted)."""
    value = args.get(key)
    if not isinstance(value, int) or value not in (0, 1):
        raise CommandError()
    return bool(value)


def int_arg(args: Args, key: str, low: int, high: int, default: int | None = None) -> int:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CommandError()
    return value


def chosen(dev: SimulatedDevice, targets: Targets) -> list[Outlet]:
    """The outlets a command applies to: those in the context, else every relay."""
    return targets if targets is not None else dev.relays
