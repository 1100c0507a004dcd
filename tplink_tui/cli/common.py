"""Helpers shared by the command-line verbs.

- ``resolve`` turns a HOST argument (a saved device name, or ``host[:port]``) into
  a ``Target``; a malformed host is a ``UsageError`` (exit 2).
- ``run_on`` runs one coroutine against a ``DeviceClient`` with ``asyncio.run`` and
  makes sure every error message names the device.
- ``stdout`` / ``stderr`` give printers of rich markup: colour and tables on a
  terminal, plain text (no colour, wide enough not to truncate) when piped. A line
  of markup is written without importing rich (``markup.Printer``); tables and the
  rest go to a rich console made when first needed.
- ``print_json`` writes machine output, ``confirm`` asks before dangerous actions and
  refuses when nobody can answer (stdin not a terminal) unless ``--yes`` was given.

Numbers, durations and addresses are worded by ``tplink_tui.present``, the same as
on the dashboard; this module only adds rich markup.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .. import untrusted
from ..address import parse_address
from ..errors import (
    Cancelled,
    ConfigError,
    DeviceTimeout,
    DeviceUnreachable,
    TplinkError,
    UsageError,
)
from ..present import DEFAULT_PORT, MISSING, format_address
from ..store.config_path import default_config_path, may_exist
from . import auth
from .markup import Printer, escape

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ..devices.client import DeviceClient
    from ..devices.models import DeviceState, EnergyReading, OutletInfo, SysInfo
    from ..transports.errors import Credentials

T = TypeVar("T")

PIPE_WIDTH = 200  # rich's width when stdout is not a terminal and COLUMNS is unset

OUTLET_HELP = "strip outlet: 0-based index N, child id, 2-digit short id, or outlet name"
HOST_HELP = f"a saved device name, or host[:port] (port {DEFAULT_PORT} by default)"


# -- consoles and output -------------------------------------------------------


def _console(stderr: bool) -> Console:
    """The rich console behind a printer. Emoji codes stay text: ``:fire:`` in a
    device name is shown as typed, as on the dashboard."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


def stdout() -> Printer:
    """Markup to the current sys.stdout (plain when it is not a terminal)."""
    return Printer(lambda: _console(False), pipe_width=PIPE_WIDTH)


def stderr() -> Printer:
    return Printer(lambda: _console(True), stderr=True, pipe_width=PIPE_WIDTH)


def print_json(value: Any, *, compact: bool = False) -> None:
    """Machine output: strict JSON only, on stdout (exact values, no terminal controls)."""
    text = untrusted.dumps(value, compact=compact, indent=None if compact else 2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A human note on stderr (markup allowed; escape user text)."""
    stderr().print(message)


def on_off(value: bool | None) -> str:
    if value is None:
        return f"[dim]{MISSING}[/]"
    return "[bold green]on[/]" if value else "[red]off[/]"


def table(title: str | None = None) -> Table:
    """The verbs' one table look: a rule under the header, the title on the left.

    rich.table is imported here, by the verbs that draw one (not by ``info``)."""
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)


def period(year: int, month: int, day: int | None = None) -> str:
    """A statistics row's date: ``2024-05-01`` for a day, ``2024-05`` for a month."""
    return f"{year}-{month:02d}" if day is None else f"{year}-{month:02d}-{day:02d}"


def safe(text: object, limit: int | None = untrusted.DEFAULT_LIMIT) -> str:
    """Text from outside (aliases, SSIDs, errors) for rich markup: data, never markup
    and never a terminal control (see ``tplink_tui.untrusted``)."""
    return escape(untrusted.display(text, limit))  # rich's escaping rule, without rich


# -- hosts -----------------------------------------------------------------------


class Target:
    """Where a verb goes: an address, the saved name, and how to talk to it.

    ``resolve`` fills in what the HOST says; ``prepare`` (called by ``run_with_info``)
    adds what the options say: --transport, the transport's default port when none
    was given, and the credentials. Verbs print the target after running, so the
    address they show is the one used.

    Written out rather than a ``@dataclass(slots=True)`` (the same init, eq and repr,
    which hides the credentials): making one costs every verb's start-up ~1 ms.
    """

    __slots__ = ("credentials", "host", "name", "port", "port_given", "prepared", "transport")
    host: str
    port: int
    name: str | None
    transport: str
    credentials: Credentials | None
    port_given: bool
    """False when the port is only a default (auto may then try 80 after 9999)."""
    prepared: bool

    def __init__(
        self,
        host: str,
        port: int,
        name: str | None = None,
        transport: str = "auto",
        credentials: Credentials | None = None,
        port_given: bool = True,
        prepared: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.name = name
        self.transport = transport
        self.credentials = credentials
        self.port_given = port_given
        self.prepared = prepared

    def _key(self) -> tuple[Any, ...]:
        return (
            self.host,
            self.port,
            self.name,
            self.transport,
            self.credentials,
            self.port_given,
            self.prepared,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Target) and other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return (
            f"Target(host={self.host!r}, port={self.port!r}, name={self.name!r},"
            f" transport={self.transport!r}, port_given={self.port_given!r})"
        )

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address})" if self.name else self.address

    @property
    def client_port(self) -> int | None:
        """The port for DeviceClient: None lets auto try XOR on 9999, then HTTP on 80."""
        if self.transport == "auto" and (not self.port_given or self.port == auth.XOR_PORT):
            return None
        return self.port


def prepare(args: argparse.Namespace, target: Target) -> Target:
    """Apply --transport, the transport's default port and the credentials (once)."""
    if target.prepared:
        return target
    target.transport = auth.transport_of(args, target.transport)
    if not target.port_given:
        target.port = auth.default_port(target.transport)
    target.credentials = auth.credentials_for(
        args, target.host, target.port, target.transport, port_given=target.port_given
    )
    target.prepared = True
    return target


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def resolve(text: str, port: int | None = None) -> Target:
    """A saved device name, or ``host[:port]``; ``port`` overrides the port.

    A saved device brings its transport; a literal without a port gets the default
    port later (``prepare``), once --transport is known.
    """
    text = text.strip()
    if not text:
        raise UsageError("empty host: give a saved device name or host[:port]")
    saved = None
    try:
        saved = _saved(text)
    except ConfigError:
        # A literal address still works when the config file is broken; a name does not.
        try:
            literal = _is_ip(parse_address(text)[0])
        except ValueError:
            literal = False
        if not literal:
            raise
    if saved is not None:
        return Target(saved.host, port or saved.port, saved.name, saved.transport)
    try:
        host, parsed_port = parse_address(text, 0)
    except ValueError as exc:
        raise UsageError(f"{exc} (expected a saved device name or host[:port])") from None
    final = port or parsed_port
    return Target(host, final or DEFAULT_PORT, port_given=bool(final))


def _saved(text: str) -> Any:
    """The saved device named ``text``, or None. With no config file there is no
    saved name: the config model is not even imported (``info`` starts faster)."""
    path = default_config_path()
    if not may_exist(path):
        return None
    from ..store.config import ConfigStore

    return ConfigStore(path).load().get(text)


def parse_month(text: str) -> tuple[int, int]:
    """``--month YYYY-MM`` as (year, month); UsageError otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise UsageError(f"--month expects YYYY-MM, got {text!r}")
    return int(match[1]), int(match[2])


def parse_year(text: str) -> int:
    """``--year YYYY``; UsageError otherwise."""
    if not re.fullmatch(r"\d{4}", text.strip()):
        raise UsageError(f"--year expects YYYY, got {text!r}")
    return int(text)


# -- running -----------------------------------------------------------------------


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def name_host(exc: TplinkError, target: Target) -> TplinkError:
    """Make sure the one-line message names the device (most already do)."""
    message = str(exc)
    if target.address not in message and target.host not in message:
        exc.args = (f"{target.address}: {message}",)
        message = str(exc)
    if (
        isinstance(exc, DeviceUnreachable)
        and not _is_ip(target.host)
        and target.name is None
        and ("not known" in message or "resolution" in message or "nodename" in message)
    ):
        exc.args = (f"{message}; {target.host!r} is not a saved device name either",)
    return exc


def run_on(
    args: argparse.Namespace,
    target: Target,
    action: Callable[[DeviceClient], Awaitable[T]],
) -> T:
    """Open a client on ``target`` with the --timeout, run ``action``, close it."""
    return run_with_info(args, target, action)[0]


def run_with_info(
    args: argparse.Namespace,
    target: Target,
    action: Callable[[DeviceClient], Awaitable[T]],
) -> tuple[T, SysInfo | None]:
    """Like ``run_on``, also returning the sysinfo the client read on the way, if any."""

    prepare(args, target)

    from ..devices.client import DeviceClient

    async def go() -> tuple[T, SysInfo | None]:
        client = DeviceClient(
            target.host,
            target.client_port,
            args.timeout,
            transport=target.transport,
            credentials=target.credentials,
        )
        try:
            # --timeout bounds the whole verb, not each of its requests.
            async with asyncio.timeout(args.timeout):
                result = await action(client), client.sysinfo
            if target.client_port is None and client.port:
                target.port = client.port  # auto fell back to HTTP: show where it answered
            target.transport = client.transport_name or target.transport
            return result
        except TimeoutError:
            raise DeviceTimeout(f"{target.address}: no reply within {args.timeout:g} s") from None
        finally:
            client.connection.abort()

    try:
        return run(go())
    except TplinkError as exc:
        raise name_host(exc, target) from exc


# -- confirmation -------------------------------------------------------------------


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do it without asking (needed when stdin is not a terminal)",
    )


def confirm(args: argparse.Namespace, action: str, detail: str = "") -> None:
    """Ask "ACTION? DETAIL"; return when confirmed, else raise.

    Without a terminal on stdin nobody can answer: that is a UsageError (exit 2)
    unless --yes was given. Answering no raises Cancelled (also exit 2).
    """
    if getattr(args, "yes", False):
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(f"{action}: refusing without --yes (stdin is not a terminal)")
    from rich.prompt import Confirm

    question = f"{safe(action)}?" + (f" [dim]{safe(detail)}[/]" if detail else "")
    if not Confirm.ask(question, console=stderr().rich(), default=False):
        raise Cancelled(f"{action}: cancelled, nothing was sent")


# -- JSON views of the device model ----------------------------------------------------


_NO_READING = (None, None, None, None)
_ROUNDED: dict[float, float] = {}
_ROUNDED_MAX = 1 << 16


def round6(value: float | None) -> float | None:
    """``round(value, 6)``: drops float noise (71.20599999999999), keeps the meters'
    resolution. Remembered for floats other than ±0.0 (a correctly rounded decimal
    conversion is slow, ``watch --json`` rounds 28 values a strip a poll, and meters
    repeat their values a lot; 0.0 and -0.0, 5 and 5.0 are equal keys, so those are
    rounded afresh)."""
    if type(value) is not float or not value:
        return None if value is None else round(value, 6)
    rounded = _ROUNDED.get(value)
    if rounded is None:
        if len(_ROUNDED) >= _ROUNDED_MAX:
            _ROUNDED.clear()
        rounded = _ROUNDED[value] = round(value, 6)
    return rounded


def meter_values(reading: EnergyReading | None) -> tuple[Any, Any, Any, Any]:
    """W, V, A and kWh of a reading, each through ``round6`` (all None without one)."""
    if reading is None:
        return _NO_READING
    get = _ROUNDED.get
    p, v, c, t = reading.power_w, reading.voltage_v, reading.current_a, reading.total_kwh
    # a remembered float at once, else round6 (None, ints, ±0.0, the first time)
    return (
        (get(p) if type(p) is float else None) or round6(p),
        (get(v) if type(v) is float else None) or round6(v),
        (get(c) if type(c) is float else None) or round6(c),
        (get(t) if type(t) is float else None) or round6(t),
    )


def reading_dict(reading: EnergyReading | None) -> dict[str, float | None]:
    power, voltage, current, total = meter_values(reading)
    return {"power_w": power, "voltage_v": voltage, "current_a": current, "total_kwh": total}


def outlet_ref(outlet: OutletInfo | None) -> dict[str, Any] | None:
    if outlet is None:
        return None
    return {"index": outlet.index, "id": outlet.id, "alias": outlet.alias}


def strip_totals(state: DeviceState) -> dict[str, float | None]:
    """Whole-strip meter values from the per-outlet readings (sum, max voltage)."""
    return reading_dict(state.outlets_total())


def sysinfo_dict(info: SysInfo) -> dict[str, Any]:
    """Identity and switch state: the fields info, watch and discover JSON share."""
    return {
        "alias": info.alias,
        "model": info.model,
        "type": info.device_type,
        "mac": info.mac,
        "device_id": info.device_id,
        "hw_ver": info.hw_ver,
        "sw_ver": info.sw_ver,
        "is_on": info.is_on,
        "led": info.led_on,
        "rssi": info.rssi,
        "on_time": info.on_time,
        "has_meter": info.has_emeter,
        "outlets": [
            {"index": o.index, "id": o.id, "alias": o.alias, "is_on": o.is_on, "on_time": o.on_time}
            for o in info.children
        ],
    }


def state_dict(target: Target, state: DeviceState) -> dict[str, Any]:
    """The ``info --json`` object (also used by watch): sysinfo plus the meter."""
    base = sysinfo_dict(state.sysinfo)
    outlets = base.pop("outlets")
    readings = state.outlet_energy
    for row in outlets:
        row.update(reading_dict(readings.get(row["index"])))
    meter = state_dict_meter(state)
    return {
        "host": target.host,
        "port": target.port,
        "name": target.name,
        "transport": target.transport,
        **base,
        **meter,
        "outlets": outlets,
    }


def state_dict_meter(state: DeviceState) -> dict[str, float | None]:
    if state.sysinfo.is_strip:
        return strip_totals(state)
    return reading_dict(state.energy)


def describe_target(
    target: Target, outlet: OutletInfo | None = None, info: SysInfo | None = None
) -> str:
    """``Alias 127.0.0.1:9999 outlet 2 Name`` (the alias when the client read it)."""
    if info is not None and info.alias:
        text = f"[bold]{safe(info.alias)}[/] [dim]{safe(target.address)}[/]"
    else:
        text = safe(target.label)
    if outlet is not None:
        text += f" outlet {outlet.index} [bold]{safe(outlet.alias)}[/]"
    return text
