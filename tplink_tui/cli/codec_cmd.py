"""``decode`` and ``encode``: the wire cipher by hand, for captured traffic.

decode takes hex or base64 (an argument, or stdin), with or without the 4-byte
length header (auto-detected: a framed message starts with 00 and its header
matches the length; an encrypted JSON object always starts with d0). Several
framed messages back to back are split. On stdin, one payload per line works
too, which is what ``tshark -T fields -e udp.payload`` prints; TCP segments of one
framed message on consecutive lines are joined.

Reading pcap files directly is not built in (it needs a parsing dependency and TCP
reassembly); extract the payloads with tshark, for example::

    tshark -r cap.pcapng -Y 'udp.port==9999' -T fields -e udp.payload | tplink-tui decode
    tshark -r cap.pcapng -Y 'tcp.port==9999 && tcp.len>0' -T fields -e tcp.payload \\
        | tplink-tui decode
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sys
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text

from .. import codec, untrusted
from ..errors import ProtocolError, UsageError
from .common import print_json, stderr, stdout
from .main import EXIT_CODES_HELP, verb

_HEX_JUNK = re.compile(r"0x|\\x|[\s:,.-]", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-fA-F]*")

EPILOG = (
    "pcap: not read directly; extract payloads with tshark, e.g.\n"
    "  tshark -r cap.pcapng -Y 'udp.port==9999' -T fields -e udp.payload"
    " | tplink-tui decode\n\n" + EXIT_CODES_HELP
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decode = sub.add_parser(
        "decode",
        help="decrypt captured payloads (hex or base64) and pretty-print the JSON",
        description="Decrypt payloads given as hex or base64, as an argument or on stdin"
        " (one payload per line works too), with or without the 4-byte length header"
        " (auto-detected), and pretty-print the JSON.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    decode.add_argument("data", nargs="?", metavar="DATA", help="hex or base64; stdin if omitted")
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
    messages = decode_messages(_read_input(args.data), args.format)
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
