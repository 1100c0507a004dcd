"""``send``: the old command-line client's flags, as a drop-in.

``send -t HOST [-p PORT] (-c CMD | -j JSON) [-o CHILD_ID]`` sends one request and
prints the decrypted reply as JSON. For a newer (smart) device ``-j`` takes its own
dialect, ``{"method": ..., "params": ...}``; ``-o`` wraps it in ``control_child``.
A reply carrying a non-zero ``err_code`` is printed too, then raised as the
``DeviceError`` it is (exit 1).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text

from .. import untrusted
from ..devices import catalog
from ..devices.client import DeviceClient, find_error
from ..errors import UsageError
from ..present import DEFAULT_PORT
from .common import add_yes, confirm, print_json, resolve, run_on, stdout
from .main import EXIT_CODES_HELP, verb

# Methods that need a confirmation whether they come from -c or -j.
_DANGEROUS_METHODS = {
    ("system", "reboot"),
    ("system", "reset"),
    ("emeter", "erase_emeter_stat"),
    ("schedule", "erase_runtime_stat"),
}
_DANGEROUS_SMART = {"device_reboot", "device_reset", "multipleRequest"}
"""Smart methods that ask first (a batch may hide either, so it asks too)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "send",
        help="send one command or raw JSON request, print the reply (old client's flags)",
        description="Send one request and print the decrypted reply as JSON. The flags are"
        " those of the old command-line client. reboot, reset, energy_reset and"
        " runtime_reset (by -c or inside -j) ask first; --yes skips the question.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-t", "--target", metavar="HOST", required=True, help="saved device name or host[:port]"
    )
    parser.add_argument(
        "-p", "--port", type=int, metavar="PORT", help=f"port (default {DEFAULT_PORT})"
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "-c", "--command", metavar="CMD", choices=sorted(catalog.COMMANDS), help=_commands_help()
    )
    what.add_argument("-j", "--json-request", metavar="JSON", help="a raw JSON request object")
    parser.add_argument(
        "-o",
        "--outlet",
        metavar="CHILD_ID",
        help="send to one strip outlet: child id, 0-based index, 2-digit short id or name",
    )
    add_yes(parser)
    parser.set_defaults(func=run)


def _commands_help() -> str:
    return "one of: " + ", ".join(catalog.COMMANDS)


def parse_request(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"-j is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict) or not value:
        raise UsageError('-j must be a JSON object such as {"system":{"get_sysinfo":{}}}')
    if is_smart(value):
        if not isinstance(value.get("params", {}), dict | list):
            raise UsageError('-j: a smart request\'s "params" must be an object')
        return value
    if not all(isinstance(v, dict) or v is None for v in value.values()):
        raise UsageError('-j must map modules to objects: {"module":{"method":{args}}}')
    return value


def is_smart(request: dict[str, Any]) -> bool:
    """A newer device's request: ``{"method": "get_device_info", "params": {...}}``."""
    return isinstance(request.get("method"), str)


def is_dangerous(request: dict[str, Any]) -> bool:
    if is_smart(request):
        return request["method"] in _DANGEROUS_SMART
    for module, methods in request.items():
        if isinstance(methods, dict) and any((module, m) in _DANGEROUS_METHODS for m in methods):
            return True
    return False


@verb
def run(args: argparse.Namespace) -> int:
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"-p {args.port}: port must be 1-65535")
    target = resolve(args.target, args.port)
    if args.command is not None:
        request = catalog.COMMANDS[args.command]
        label = args.command
    else:
        request = parse_request(args.json_request)
        label = "the request"
    if (args.command in catalog.DANGEROUS) or is_dangerous(request):
        confirm(args, f"Send {label} to {target.label}")

    async def action(client: DeviceClient) -> dict[str, Any]:
        body = request
        if args.outlet is not None:
            outlet = await client.resolve_outlet(args.outlet)
            if is_smart(request):
                params = {"device_id": outlet.id, "requestData": request}
                body = {"method": "control_child", "params": params}
            else:
                body = {**request, "context": {"child_ids": [outlet.id]}}
        return await client.raw(body)

    reply = run_on(args, target, action)
    if args.json or not stdout().is_terminal:
        print_json(reply)
    else:
        console = stdout()
        console.print(JSONHighlighter()(Text(untrusted.dumps(reply, indent=2))), soft_wrap=True)
    error = find_error(reply, target.address)
    if error is not None:
        raise error
    return 0
