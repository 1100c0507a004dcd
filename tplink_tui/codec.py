"""The Kasa wire format: XOR autokey cipher and TCP framing. Pure functions, no I/O.

The running key is always the *ciphertext* byte, in both directions:
``c[i] = p[i] ^ k; k = c[i]`` and ``p[i] = c[i] ^ k; k = c[i]`` with k0 = 171.
Decryption is therefore one big-integer XOR of the ciphertext with itself shifted
by one byte; encryption is a running XOR, a prefix XOR over one big integer.
"""

from __future__ import annotations

import json
import struct
from itertools import accumulate
from operator import xor
from typing import Any

from . import untrusted
from .errors import ProtocolError

# orjson, a compiled parser about 3x json's speed, from a process's FAST_JSON_AFTER-th
# request or reply on; json stays the reference and fallback. Its import (~20 M
# instructions, 12 to 26 ms here) saves ~7 µs a plug's reply: worth it after a few
# thousand replies, which a poller reaches in seconds and a one-shot verb never does
# (info on a strip: 16 calls). A Monitor takes it at once (prefer_fast_json).
# _orjson: None while not chosen yet, then the module, or False when it is missing.
FAST_JSON_AFTER = 64
_orjson: Any = None
_json_calls = 0


def prefer_fast_json() -> None:
    """Choose orjson now (if installed): for pollers, before their sockets take the
    open-files limit (an import needs a file too) and so that no poll pays for it."""
    global _orjson
    if _orjson is None:
        _orjson = untrusted.fast_json() or False


def _choose_json() -> Any:
    """Count one json call; the FAST_JSON_AFTER-th chooses orjson if it is installed.

    Returns what this call uses: orjson, or False for json."""
    global _json_calls
    _json_calls += 1
    if _json_calls < FAST_JSON_AFTER:
        return False
    prefer_fast_json()
    return _orjson


# orjson reads an integer beyond 64 bits as a float (json: an exact int), so text
# with 20 digits in a row after anything but a quote goes the json way (a string
# of zeros, as in a firmware id, does not). Digits to "0", '"' stays, all else to
# " ": then one substring search (a regex is 5x slower).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= i <= 0x39 else 0x22 if i == 0x22 else 0x20 for i in range(256))
_LONG_NUMBER = b" " + b"0" * 20

INITIAL_KEY = 171
HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size
_KEY_BYTE = bytes((INITIAL_KEY,))


def encrypt(plaintext: bytes | str) -> bytes:
    """Encrypt a payload (str is encoded as UTF-8) without a length prefix.

    The ciphertext is a running XOR: c[i] = 171 ^ p[0] ^ ... ^ p[i]. From 24 bytes
    on, a prefix XOR over the payload as one big integer (log2(n) shift-and-XOR
    steps) beats ``accumulate`` (2x at 100 B, 5x at 2 kB and 70 kB).
    """
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    n = len(data)
    if n < 24:
        return bytes(accumulate(data, xor, initial=INITIAL_KEY))[1:]
    x = int.from_bytes(data, "big")
    shift, bits = 8, 8 * n
    while shift < bits:
        x ^= x >> shift
        shift <<= 1
    return (x ^ int.from_bytes(_KEY_BYTE * n, "big")).to_bytes(n, "big")


def decrypt(ciphertext: bytes) -> bytes:
    """Decrypt a payload without a length prefix."""
    n = len(ciphertext)
    if n == 0:
        return b""
    x = int.from_bytes(ciphertext, "big")
    return (x ^ (x >> 8) ^ (INITIAL_KEY << (8 * n - 8))).to_bytes(n, "big")


def frame(plaintext: bytes | str) -> bytes:
    """Encrypt and prefix with the 4-byte big-endian length of the encrypted body."""
    body = encrypt(plaintext)
    return HEADER.pack(len(body)) + body


def unframe(data: bytes) -> bytes:
    """Decrypt one complete TCP message (header + body) and return the plaintext."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"message too short for a header: {len(data)} bytes")
    (length,) = HEADER.unpack_from(data)
    body = data[HEADER_SIZE:]
    if length != len(body):
        raise ProtocolError(f"length prefix says {length} bytes, body has {len(body)}")
    return decrypt(body)


def parse_header(header: bytes) -> int:
    """Return the body length announced by a 4-byte header."""
    if len(header) != HEADER_SIZE:
        raise ProtocolError(f"incomplete header: {len(header)} of {HEADER_SIZE} bytes")
    return int(HEADER.unpack(header)[0])


def encode_request(request: dict[str, Any]) -> bytes:
    """JSON-encode a request compactly, as UTF-8 bytes."""
    fast = _orjson if _orjson is not None else _choose_json()
    if fast:
        try:
            return bytes(fast.dumps(request))
        except (TypeError, ValueError):  # e.g. a lone surrogate, an int over 64 bits
            pass
    return json.dumps(request, separators=(",", ":"), ensure_ascii=False).encode()


def decode_json(plaintext: bytes) -> dict[str, Any]:
    """Parse a decrypted reply; anything but a JSON object is a ProtocolError.

    Lone surrogates (``"\\ud800"`` is valid JSON, but no UTF-8) are replaced here,
    so no model, file or screen ever holds one. Valid UTF-8 text cannot contain a
    surrogate, so only a ``\\ud8..`` escape can make one: a bytes search decides.

    orjson parses strict JSON (RFC 8259) only, so whatever it accepts ``json``
    would read the same; anything else (NaN, integers over 64 bits, lone
    surrogates, deep nesting, a BOM) goes the ``json`` way below, errors included.
    """
    fast = _orjson if _orjson is not None else _choose_json()
    if fast and _LONG_NUMBER not in plaintext.translate(_DIGITS_ONLY):
        try:
            parsed = fast.loads(plaintext)
        except ValueError:
            pass
        else:
            if isinstance(parsed, dict):
                return parsed
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"reply is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = text[:40].encode("unicode_escape").decode()
        raise ProtocolError(f"reply is not JSON ({exc.msg} at {exc.pos}): {snippet!r}") from None
    except RecursionError:
        raise ProtocolError("reply JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit limit
        raise ProtocolError(f"reply is not usable JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"reply is JSON {type(value).__name__}, expected an object")
    # One search in the common case (no escapes at all), the exact check otherwise.
    if b"\\u" in plaintext and untrusted.may_hold_surrogates(plaintext):
        try:
            value = untrusted.repair_surrogates(value)
        except RecursionError:
            raise ProtocolError("reply JSON is nested too deeply") from None
    return value


def datagram(request: dict[str, Any]) -> bytes:
    """A UDP message: the encrypted JSON with no length prefix."""
    return encrypt(encode_request(request))
