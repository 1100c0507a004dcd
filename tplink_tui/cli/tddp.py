"""``tplink-tui tddp HOST (--read SUBTYPE | --write SUBTYPE --data HEX)``: the debug protocol.

One request to UDP 1040 (``--port``), the reply on UDP 61000 (``--reply-port``; 0
takes any free port, anything above 1023 needs no root). Prints the reply's header
and its data, as text when it is text and as hex otherwise; ``--json`` for scripts.
A reply made with another password is exit 6 (digest mismatch), silence exit 3.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.text import Text

from .. import untrusted
from ..errors import DeviceError, UsageError
from ..tddp import protocol
from ..tddp.client import Exchange, Request, request
from .common import print_json, resolve, stdout
from .main import EXIT_CODES_HELP, verb

EPILOG = (
    "examples:\n"
    "  tplink-tui tddp 192.168.0.20 --read 0A\n"
    "  tplink-tui tddp 192.168.0.20 --user admin --password secret --read 0x0e --json\n"
    "  tplink-tui tddp 192.168.0.20 --write 14 --data '636c6f7564...'\n\n"
    "SUBTYPE is hex (0A, 0x0a); what each one reads differs between devices.\n"
    "The simulator (simulate --tddp) answers 0A sysinfo, 0C clock, 0E Wi-Fi link,\n"
    "12 calibration (binary), 14 cloud server (writable).\n\n" + EXIT_CODES_HELP
)


def _byte(text: str) -> int:
    try:
        value = int(text.removeprefix("0x").removeprefix("0X"), 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a hex byte (e.g. 0A)") from None
    if not 0 <= value <= 0xFF:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (00-FF)")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range (0-65535)")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "tddp",
        help="read or write a subtype over TDDP, the TP-Link Device Debug Protocol (UDP)",
        description="Send one TDDP request (UDP 1040) and print the reply (received on"
        " UDP 61000): the 28-byte header and the data, decrypted (version 2: DES with"
        " the key from MD5(user + password)).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("host", metavar="HOST", help="a saved device name or an address")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--read", type=_byte, metavar="SUBTYPE", help="read a subtype (hex)")
    action.add_argument("--write", type=_byte, metavar="SUBTYPE", help="write a subtype (hex)")
    parser.add_argument("--data", metavar="HEX", help="with --write: the data, as hex")
    parser.add_argument(
        "--user",
        "--username",
        dest="tddp_user",
        default=protocol.DEFAULT_USER,
        metavar="U",
        help="the device's user (default admin)",
    )
    parser.add_argument(
        "--password",
        dest="tddp_password",
        default=protocol.DEFAULT_PASSWORD,
        metavar="P",
        help="the device's password (default admin)",
    )
    parser.add_argument(
        "--version",
        dest="tddp_version",
        type=int,
        choices=(1, 2),
        default=2,
        help="1: plain text, 2: DES (default 2)",
    )
    parser.add_argument(
        "--type",
        dest="tddp_type",
        type=_byte,
        metavar="T",
        help="the header's type (default 03 CMD_SPE_OPR to read, 01 SET_USR_CFG to write)",
    )
    parser.add_argument(
        "--port", type=_port, metavar="P", help=f"request port (default {protocol.REQUEST_PORT})"
    )
    parser.add_argument(
        "--reply-port",
        type=_port,
        default=protocol.REPLY_PORT,
        metavar="P",
        help=f"where the reply comes (default {protocol.REPLY_PORT}; 0: any free port)",
    )
    parser.set_defaults(func=run)


def _data(args: argparse.Namespace) -> bytes:
    if args.read is not None:
        if args.data is not None:
            raise UsageError("--data goes with --write, not --read")
        return b""
    if args.data is None:
        raise UsageError("--write needs --data HEX")
    compact = "".join(args.data.replace(":", " ").split()).removeprefix("0x")
    try:
        return bytes.fromhex(compact)
    except ValueError:
        raise UsageError("--data is not hex (pairs of hex digits)") from None


def _as_text(data: bytes) -> str | None:
    """The data as text when it is (trailing zero padding dropped), else None."""
    body = data.rstrip(b"\0")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t\r")
    return text if body and printable == len(text) else None


def header_dict(header: protocol.Header) -> dict[str, Any]:
    return {
        "version": header.version,
        "type": header.type,
        "type_name": protocol.TYPE_NAMES.get(header.type),
        "code": header.code,
        "reply_info": header.reply_info,
        "length": header.length,
        "packet_id": header.packet_id,
        "subtype": header.subtype,
        "reserved": header.reserved,
        "digest": header.digest.hex(),
    }


def _report(exchange: Exchange, host: str) -> dict[str, Any]:
    reply = exchange.reply
    text = _as_text(reply.data)
    return {
        "host": host,
        "reply_from": f"{exchange.reply_from[0]}:{exchange.reply_from[1]}",
        "reply_port": exchange.reply_port,
        "request": header_dict(exchange.request),
        "reply": header_dict(reply.header),
        "key_verified": reply.key_verified,
        "text": text,
        "hex": reply.data.rstrip(b"\0").hex() if text is None else None,
    }


def _print(report: dict[str, Any]) -> None:
    console = stdout()
    head = report["reply"]
    lines = [
        f"reply from {report['reply_from']} (to UDP port {report['reply_port']})",
        f"  version {head['version']}  type {head['type']:02x}"
        f" ({head['type_name'] or 'unknown'})  code {head['code']:02x}"
        f"  reply info {head['reply_info']:02x}"
        f" ({protocol.REPLY_NAMES.get(head['reply_info'], 'device-specific')})",
        f"  length {head['length']}  packet id {head['packet_id']:04x}"
        f"  subtype {head['subtype']:02x}  digest {head['digest']}"
        + ("" if report["key_verified"] or head["version"] == 1 else "  (key not verified)"),
    ]
    for line in lines:
        console.print(Text(line), soft_wrap=True)
    if report["text"] is not None:
        console.print(Text("data (text):", style="bold"))
        for line in report["text"].splitlines():
            console.print(Text("  " + untrusted.display(line, limit=None)), soft_wrap=True)
    elif report["hex"]:
        console.print(Text(f"data ({len(report['hex']) // 2} bytes, hex):", style="bold"))
        hexed = report["hex"]
        for start in range(0, len(hexed), 32):
            chunk = hexed[start : start + 32]
            console.print(Text("  " + " ".join(chunk[i : i + 2] for i in range(0, len(chunk), 2))))
    else:
        console.print(Text("no data", style="dim"))


@verb
def run(args: argparse.Namespace) -> int:
    target = resolve(args.host)
    port = args.port
    if port is None:
        literal_port = target.name is None and target.port_given
        port = target.port if literal_port else protocol.REQUEST_PORT
    data = _data(args)
    writing = args.write is not None
    default_type = protocol.TYPE_SET_USR_CFG if writing else protocol.TYPE_CMD_SPE_OPR
    ask = Request(
        subtype=args.write if writing else args.read,
        type=args.tddp_type if args.tddp_type is not None else default_type,
        data=data,
        version=args.tddp_version,
        username=args.tddp_user,
        password=args.tddp_password,
    )
    exchange = asyncio.run(
        request(target.host, ask, port=port, reply_port=args.reply_port, timeout=args.timeout)
    )
    info = exchange.reply.header.reply_info
    if info == protocol.REPLY_BAD_DIGEST and ask.version == protocol.VERSION_DES:
        raise protocol.DigestMismatch(
            f"{target.host}:{port}",
            "the device found a TDDP digest mismatch: wrong --user/--password",
        )
    report = _report(exchange, target.host)
    if args.json:
        print_json(report)
    else:
        _print(report)
    if info != protocol.REPLY_OK:
        raise DeviceError(
            info,
            protocol.REPLY_NAMES.get(info, "device-specific error"),
            "tddp",
            f"subtype {ask.subtype:02x}",
            host=f"{target.host}:{port}",
        )
    return 0
