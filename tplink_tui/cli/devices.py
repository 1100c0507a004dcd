"""``tplink-tui devices``: the saved device list shared with the dashboard.

The list is a JSON file: ``$TPLINK_TUI_CONFIG`` when set, else ``config.json`` in
the user config folder (platformdirs). Every change is locked and written
atomically, so the dashboard and this command can edit it at the same time.

Saved names, rooms and descriptions are kept exactly as given (control characters
included, like any device alias): they are printed only through
``untrusted.display`` plus markup escaping, and ``--json`` through
``untrusted.dumps``, so no stored text can style, break or drive the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..address import DEFAULT_PORT, format_address, parse_address
from ..errors import TplinkError, UsageError
from ..store.config import (
    ConfigStore,
    SavedDevice,
    default_config_path,
)
from ..store.credentials import CredentialStore, default_credentials_path
from ..transports.errors import Credentials
from ..untrusted import display, dumps
from . import auth
from .common import Target, run_on
from .main import verb

FETCH_TIMEOUT = 3.0  # s: asking a device for its name when --name is not given
IMPORT_SHOWN = 20
"""Added/skipped names listed after an import; ``--json`` lists them all."""

_EPILOG = """\
the list is kept in {path}
(set TPLINK_TUI_CONFIG to use another file); saved credentials in
{credentials} (mode 0600; TPLINK_TUI_CREDENTIALS overrides).

exit codes: 0 success, 2 usage error (malformed host, unknown or duplicate name),
4 the config file, the credentials file (or the file to import) cannot be read,
parsed or written.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``devices list|add|remove|rename|import``."""
    epilog = _EPILOG.format(path=default_config_path(), credentials=default_credentials_path())
    parser = subparsers.add_parser(
        "devices",
        help="the saved device list (list, add, remove, rename, import)",
        description="Show and edit the saved device list used by the dashboard.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="devices_verb", metavar="ACTION", required=True)

    p = verbs.add_parser("list", help="show the saved devices", epilog=epilog)
    p.set_defaults(func=run)

    p = verbs.add_parser(
        "add",
        help="save a device by host[:port]",
        description="Save a device. For a KLAP/AES device give --username (and --password,"
        " KASA_PASSWORD, or type it when asked): the pair goes to the credentials file"
        " (mode 0600), never into the device list.",
        epilog=epilog,
    )
    p.add_argument(
        "host",
        metavar="HOST",
        help=f"host[:port] (port {DEFAULT_PORT}, or 80 with --transport klap/aes, when omitted)",
    )
    p.add_argument(
        "--name",
        help="the name to save it under (default: the device's own name, asked of it;"
        " the host when it does not answer)",
    )
    p.add_argument("--room", default="", help="room, for grouping in the dashboard")
    p.add_argument("--description", default="", help="free text")
    p.set_defaults(func=run)

    p = verbs.add_parser("remove", help="forget a saved device", epilog=epilog)
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=run)

    p = verbs.add_parser("rename", help="rename a saved device", epilog=epilog)
    p.add_argument("name", metavar="NAME")
    p.add_argument("new_name", metavar="NEW")
    p.set_defaults(func=run)

    p = verbs.add_parser(
        "import",
        help="import the old web app's devices.json",
        description='Import {"devices": [{"name", "room", "ip", "mac", "description",'
        ' "brand"}]}; names already saved are skipped.',
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=run)


@verb
def run(args: argparse.Namespace) -> int:
    """Dispatch to the action."""
    action = getattr(args, "devices_verb", None) or "list"
    store = ConfigStore()
    # DeviceExists / DeviceNotFound are ConfigUsageErrors: exit 2 by their class.
    return _ACTIONS[action](store, args)


def _json_out(data: Any) -> None:
    print(dumps(data, indent=2))


def _safe(value: object, limit: int | None = 80) -> str:
    """Outside text as Rich markup that shows it literally, on one harmless line."""
    return escape(display(value, limit))


def _device_json(device: SavedDevice, saved: set[str] | None = None) -> dict[str, Any]:
    data = asdict(device)
    data.pop("extra", None)
    data["address"] = device.address
    if saved is not None:
        data["credentials_saved"] = device.address in saved  # never the pair itself
    return data


def console() -> Console:
    """Rich on a terminal; plain, unwrapped text when piped. A saved name with
    ``:fire:`` in it is shown as typed (as by every other verb), not as an emoji."""
    if sys.stdout.isatty():
        return Console(emoji=False)
    return Console(no_color=True, width=200, soft_wrap=True, emoji=False)


def _list(store: ConfigStore, args: argparse.Namespace) -> int:
    config = store.load()
    saved = CredentialStore().addresses() if config.devices else set()
    if getattr(args, "json", False):
        _json_out([_device_json(d, saved) for d in config.devices])
        return 0
    out = console()
    if not config.devices:
        out.print(
            f"No saved devices ({_safe(store.path, None)})."
            " Add one with: tplink-tui devices add HOST",
            highlight=False,
        )
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    # TRANSPORT and LOGIN only when some device has one: a list of old plugs looks as before.
    newer = any(d.transport != "auto" or d.address in saved for d in config.devices)
    columns = ["NAME", "HOST", *(["TRANSPORT", "LOGIN"] if newer else []), "ROOM", "MAC"]
    for column in (*columns, "DESCRIPTION"):
        table.add_column(column, overflow="fold")
    for d in sorted(config.devices, key=lambda d: (d.room.casefold(), d.name.casefold())):
        login = "saved" if d.address in saved else "-"
        extra = (d.transport, login) if newer else ()
        values = (d.name, d.address, *extra, d.room, d.mac, d.description)
        table.add_row(*(_safe(v) for v in values))
    out.print(table, highlight=False)
    return 0


def _add(store: ConfigStore, args: argparse.Namespace) -> int:
    transport = auth.transport_of(args)
    try:
        host, port = parse_address(args.host, auth.default_port(transport))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.name is not None and not args.name.strip():
        raise UsageError("the device name must not be empty")
    credentials = _credentials_to_save(args)
    same_host = store.load().find(format_address(host, port))
    name = args.name.strip() if args.name is not None else ""
    unnamed: str | None = None  # why the device's own name is not used (said once saved)
    if not name:
        name, unnamed = _own_name(store, args, host, port, transport, credentials)
        name = name or args.host.strip()
    device = store.add_device(
        SavedDevice(
            name=name,
            host=host,
            port=port,
            room=args.room,
            description=args.description,
            transport=transport,
        )
    )
    if credentials is not None:
        CredentialStore().set(device.address, credentials)
    if same_host is not None and same_host.name.casefold() != device.name.casefold():
        print(
            f"tplink-tui: note: {display(device.address)} is also saved as"
            f" '{display(same_host.name)}'",
            file=sys.stderr,
        )
    if unnamed:
        print(f"tplink-tui: note: {unnamed}", file=sys.stderr)
    if getattr(args, "json", False):
        _json_out(_device_json(device, {device.address} if credentials else set()))
    else:
        login = " with its login" if credentials else ""
        console().print(
            f"Saved {_safe(device.name)} ({_safe(device.address)}){login}.", highlight=False
        )
    return 0


def _own_name(
    store: ConfigStore,
    args: argparse.Namespace,
    host: str,
    port: int,
    transport: str,
    credentials: Credentials | None,
) -> tuple[str | None, str | None]:
    """(the device's own alias, asked of it, or None; why not, for a note).

    So the list does not read ``127.0.0.1:41001``; a device that does not answer
    is still saved, under its address.
    """
    target = Target(host, port, transport=transport, credentials=credentials, prepared=True)
    target.port_given = ":" in args.host.rsplit("]", 1)[-1]
    ask = argparse.Namespace(**vars(args))
    ask.timeout = getattr(args, "timeout", None) or FETCH_TIMEOUT
    try:
        info = run_on(ask, target, lambda client: client.get_sysinfo())
    except TplinkError as exc:
        return None, (
            f"could not ask {display(target.address)} for its name ({display(exc)});"
            " saved under its address (rename it with `devices rename`)"
        )
    alias = info.alias.strip()
    if alias and store.load().get(alias) is not None:  # two plugs both called "Lamp"
        return f"{alias} ({format_address(host, port)})", None
    return alias or None, None


def _credentials_to_save(args: argparse.Namespace) -> Credentials | None:
    """--username with --password, KASA_PASSWORD or the password typed at a prompt.

    Asked before anything is saved, so a refused prompt leaves no half-added device.
    """
    username = getattr(args, "username", None)
    password = getattr(args, "password", None)
    if username is None:
        if password is not None:
            raise UsageError("--password needs --username")
        return None
    if password is None:
        password = os.environ.get(auth.ENV_PASSWORD) or None
    if password is None:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UsageError(
                f"--username needs a password: --password, ${auth.ENV_PASSWORD},"
                " or run it in a terminal to be asked"
            )
        password = getpass.getpass(f"Password for {display(username)}: ")
    return Credentials(username, password)


def _remove(store: ConfigStore, args: argparse.Namespace) -> int:
    device = store.remove_device(args.name)
    if store.load().find(device.address) is None:  # no other name for the same address
        CredentialStore().remove(device.address)
    if getattr(args, "json", False):
        _json_out(_device_json(device))
    else:
        console().print(f"Removed {_safe(device.name)} ({_safe(device.address)}).", highlight=False)
    return 0


def _rename(store: ConfigStore, args: argparse.Namespace) -> int:
    new = args.new_name.strip()
    if not new:
        raise UsageError("the new name must not be empty")
    device = store.rename_device(args.name, new)
    if getattr(args, "json", False):
        _json_out(_device_json(device))
    else:
        console().print(f"Renamed {_safe(args.name)} to {_safe(device.name)}.", highlight=False)
    return 0


def _import(store: ConfigStore, args: argparse.Namespace) -> int:
    result = store.import_legacy(args.file)
    if getattr(args, "json", False):
        _json_out({"added": [_device_json(d) for d in result], "skipped": result.skipped})
        return 0
    out = console()
    out.print(f"Imported {len(result)} device(s) from {_safe(args.file, None)}.", highlight=False)
    for device in result[:IMPORT_SHOWN]:
        out.print(f"  + {_safe(device.name)} ({_safe(device.address)})", highlight=False)
    if len(result) > IMPORT_SHOWN:
        out.print(f"  … and {len(result) - IMPORT_SHOWN} more (--json lists them all)")
    if result.skipped:
        shown = ", ".join(_safe(name) for name in result.skipped[:IMPORT_SHOWN])
        more = len(result.skipped) - IMPORT_SHOWN
        tail = f" … and {more} more" if more > 0 else ""
        out.print(f"Skipped {len(result.skipped)} already saved: {shown}{tail}", highlight=False)
    return 0


_ACTIONS = {
    "list": _list,
    "add": _add,
    "remove": _remove,
    "rename": _rename,
    "import": _import,
}
