"""``decode`` and ``encode``: the wire cipher by hand, for captured traffic.

decode takes hex or base64 (an argument, or stdin), with or without the 4-byte
length header (auto-detected: a framed message starts with 00 and its header
matches the length; an encrypted JSON object always starts with d0). Several
framed messages back to back are split. On stdin, one payload per line works
too, which is what ``tshark -T fields -e udp.payload`` prints; TCP segments of one
framed message on consecutive lines are joined.

A pcap or pcapng capture (a file, or ``-`` for stdin: told apart by its magic
number) is read whole by ``tplink_tui.capture``: TCP conversations on the device
ports reassembled, every message decrypted and printed in time order with its
direction and addresses, discovery datagrams too (``capture_cmd`` below).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text

from .. import codec, untrusted
from ..address import parse_address
from ..capture import CaptureError, decode_capture, is_capture
from ..capture import text as capture_text
from ..errors import ProtocolError, UsageError
from .common import print_json, stderr, stdout
from .main import EXIT_CODES_HELP, verb

_HEX_JUNK = re.compile(r"0x|\\x|[\s:,.-]", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-fA-F]*")

EPILOG = (
    "captures: tplink-tui decode cap.pcapng [--port P] [--follow HOST] [--json]\n"
    "  (also '-' for a capture on stdin, e.g. tcpdump -i eth0 -w - port 9999 | ...)\n"
    "  exit 5 only when no message at all could be decoded\n\n" + EXIT_CODES_HELP
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decode = sub.add_parser(
        "decode",
        help="decrypt captured payloads (hex or base64) and pretty-print the JSON",
        description="Decrypt payloads given as hex or base64, as an argument or on stdin"
        " (one payload per line works too), with or without the 4-byte length header"
        " (auto-detected), and pretty-print the JSON. A pcap or pcapng capture file"
        " prints the whole conversation: every message in time order, with direction"
        " and addresses.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    decode.add_argument(
        "data",
        nargs="?",
        metavar="DATA|FILE",
        help="hex or base64, or a pcap/pcapng capture file ('-': stdin); stdin if omitted",
    )
    decode.add_argument(
        "--port",
        type=int,
        action="append",
        metavar="P",
        help="captures: a device port (repeatable; default 9999; UDP 20002 always)",
    )
    decode.add_argument(
        "--follow", metavar="HOST", help="captures: only this device (host or host:port)"
    )
    decode.add_argument(
        "--format",
        choices=("auto", "hex", "base64"),
        default="auto",
        help="input encoding (default: auto; hex wins when both fit)",
    )
    decode.set_defaults(func=run_decode)

    encode = sub.add_parser(
        "encode",
        help="encrypt a JSON request for the wire (hex or base64)",
        description="Encrypt JSON (argument or stdin, compacted first) as the devices"
        " expect it: without a header for UDP, with --framed for TCP.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    encode.add_argument("data", nargs="?", metavar="JSON", help="the JSON; stdin if omitted")
    encode.add_argument(
        "--framed", action="store_true", help="prefix the 4-byte length header (TCP)"
    )
    encode.add_argument("--base64", action="store_true", help="print base64 instead of hex")
    encode.set_defaults(func=run_encode)


# -- decoding ----------------------------------------------------------------------


def parse_bytes(text: str, fmt: str = "auto") -> bytes:
    """Hex (spaces, colons, 0x allowed) or base64 to bytes; UsageError if neither."""
    stripped = text.strip()
    if not stripped:
        raise UsageError("no data to decode")
    if fmt in ("auto", "hex"):
        compact = _HEX_JUNK.sub("", stripped)
        if compact and _HEX.fullmatch(compact) and len(compact) % 2 == 0:
            return bytes.fromhex(compact)
        if fmt == "hex":
            raise UsageError("not hex: expected pairs of hex digits")
    try:
        return base64.b64decode("".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("input is neither hex nor base64") from None


def _is_hex_line(line: str) -> bool:
    compact = _HEX_JUNK.sub("", line)
    return bool(compact) and bool(_HEX.fullmatch(compact)) and len(compact) % 2 == 0


def _announced(data: bytes) -> int | None:
    """The body length a framed message would announce, or None if it cannot be framed."""
    if len(data) < codec.HEADER_SIZE or data[0] != 0:
        return None
    return codec.parse_header(data[: codec.HEADER_SIZE])


def split_messages(data: bytes) -> list[tuple[bool, bytes]]:
    """Split into (framed, ciphertext) pieces: back-to-back frames, or one raw payload."""
    pieces: list[tuple[bool, bytes]] = []
    rest = data
    while rest:
        length = _announced(rest)
        if length is None or length > len(rest) - codec.HEADER_SIZE:
            break
        end = codec.HEADER_SIZE + length
        pieces.append((True, rest[codec.HEADER_SIZE : end]))
        rest = rest[end:]
    if rest:
        if pieces:
            raise ProtocolError(
                f"{len(rest)} bytes left over after {len(pieces)} framed message(s)"
            )
        return [(False, data)]
    return pieces


def chunks_to_messages(chunks: list[bytes]) -> list[tuple[bool, bytes]]:
    """Join consecutive chunks (TCP segments) until a framed message is complete."""
    pieces: list[tuple[bool, bytes]] = []
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        length = _announced(buffer)
        if length is not None and length > len(buffer) - codec.HEADER_SIZE:
            continue  # a frame still waiting for its next segment
        pieces.extend(split_messages(buffer))
        buffer = b""
    if buffer:
        length = _announced(buffer)
        raise ProtocolError(
            f"incomplete framed message: header announces {length} bytes,"
            f" {len(buffer) - codec.HEADER_SIZE} present"
        )
    return pieces


def _read_input(data: str | None) -> str:
    if data is not None and data != "-":
        return data
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("give the data as an argument or on stdin")
    return sys.stdin.read()


def decode_messages(text: str, fmt: str = "auto") -> list[tuple[bool, Any]]:
    """Every message in ``text`` as (framed, parsed JSON).

    Hex is unambiguous, so hex that does not decrypt to JSON is a protocol error
    (exit 5). Almost any short word is valid base64, so in auto mode a base64
    reading that does not decrypt to JSON means the input was neither (exit 2).
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and fmt != "base64" and all(_is_hex_line(line) for line in lines):
        pieces = chunks_to_messages([parse_bytes(line, "hex") for line in lines])
        guessed_base64 = False
    else:
        guessed_base64 = fmt == "auto" and not _is_hex_line(text.strip())
        pieces = split_messages(parse_bytes(text, fmt))
    messages = []
    for framed, ciphertext in pieces:
        plaintext = codec.decrypt(ciphertext)
        try:
            value = untrusted.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            if guessed_base64:
                raise UsageError(
                    "input is neither hex nor base64 of a TP-Link payload"
                    " (as base64 it does not decrypt to JSON)"
                ) from None
            preview = plaintext[:16].hex(" ")
            raise ProtocolError(
                f"the decrypted {'framed ' if framed else ''}payload ({len(ciphertext)} bytes)"
                f" is not JSON (it starts {preview}); is this port-9999 traffic?"
            ) from None
        messages.append((framed, value))
    return messages


@verb
def run_decode(args: argparse.Namespace) -> int:
    raw, source = _capture_or_text(args.data)
    if raw is not None:
        return _print_capture(args, raw)
    if args.port or args.follow:
        raise UsageError("--port and --follow are for capture files")
    messages = decode_messages(source, args.format)
    if args.json or not stdout().is_terminal:
        values = [value for _, value in messages]
        print_json(values[0] if len(values) == 1 else values)
        return 0
    console = stdout()
    err = stderr()
    for framed, value in messages:
        if len(messages) > 1 or args.verbose:
            err.print(f"[dim]— {'framed (TCP)' if framed else 'no header (UDP)'}[/]")
        # Colour as rich's print_json does, but from our escaped text: its own
        # dumps would write C1 controls and bidi overrides from the payload raw.
        text = Text(untrusted.dumps(value, indent=2))
        JSONHighlighter().highlight(text)
        console.print(text, soft_wrap=True)
    return 0


# -- captures ----------------------------------------------------------------------

_CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp")


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except (OSError, ValueError):  # a long hex string is no file name
        return False


def _capture_or_text(data: str | None) -> tuple[bytes | None, str]:
    """A capture's bytes (file or stdin, told by its magic number), or the text to decode."""
    if data is not None and data != "-":
        if not _is_file(data):
            if data.lower().endswith(_CAPTURE_SUFFIXES):
                raise UsageError(f"no such capture file: {data}")
            return None, data
        try:
            raw = Path(data).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {data}: {exc.strerror or exc}") from None
        if not is_capture(raw):
            raise CaptureError(f"{data}: not a pcap or pcapng capture (and nothing decoded)")
        return raw, ""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("give the data as an argument or on stdin")
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return None, sys.stdin.read()
    raw = buffer.read()
    if is_capture(raw):
        return raw, ""
    return None, raw.decode("utf-8", errors="replace")


def _follow(text: str | None) -> tuple[str, int | None] | None:
    if text is None:
        return None
    try:
        host, port = parse_address(text, default_port=0)
        host = str(ipaddress.ip_address(host))  # as the capture writes it
    except ValueError as exc:
        raise UsageError(f"--follow: {exc} (an IP address, as in the capture)") from None
    return host, port or None


def _print_capture(args: argparse.Namespace, raw: bytes) -> int:
    """The conversation, in time order; exit 5 only when not one message decoded."""
    ports = args.port or [9999]
    for port in ports:
        if not 0 < port <= 65535:
            raise UsageError(f"--port {port} is out of range (1-65535)")
    capture = decode_capture(raw, ports, _follow(args.follow))
    console = stdout()
    for event in capture.events:
        if args.json:
            sys.stdout.write(untrusted.dumps(event.as_json(), compact=True) + "\n")
            continue
        style = "bold green" if event.to_device else "bold cyan"
        console.print(Text(capture_text.headline(event), style=style), soft_wrap=True)
        text = Text(capture_text.body(event))
        if event.error is None:
            JSONHighlighter().highlight(text)
        else:
            text.stylize("red")
        console.print(text, soft_wrap=True)
    sys.stdout.flush()
    summary = capture_text.summary(capture)
    if args.verbose or not args.json:
        stderr().print(Text(summary, style="dim"))
    if capture.decoded == 0:
        where = "/".join(str(p) for p in ports)
        if not capture.events:
            raise CaptureError(
                f"no TP-Link traffic on port {where} in the capture ({summary});"
                " --port P for another port"
            )
        raise CaptureError(f"not one message could be decoded ({summary})")
    return 0


# -- encoding ----------------------------------------------------------------------


@verb
def run_encode(args: argparse.Namespace) -> int:
    text = _read_input(args.data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    wire = codec.frame(plaintext) if args.framed else codec.encrypt(plaintext)
    encoded = base64.b64encode(wire).decode() if args.base64 else wire.hex()
    if args.json:
        print_json(
            {
                "framed": args.framed,
                "length": len(wire),
                "hex": wire.hex(),
                "base64": base64.b64encode(wire).decode(),
            }
        )
    else:
        sys.stdout.write(encoded + "\n")
    return 0
