"""Fault injection: the ways a real plug (or a network) lets a client down.

``Faults`` is a plain dataclass read on every request, so a test can flip a
field at any time (``device.faults.delay = 0.5``). ``offline`` and ``flap``
change the listening sockets; the device subscribes to those two fields.

Spec strings (the CLI's ``--fault``): ``NAME`` or ``NAME=VALUE``, for example
``delay=0.5``, ``no_reply``, ``bad_length=2000000``, ``flap=5``,
``err_code=emeter.get_realtime:-3`` (module[.method][:code]), ``flap=45/10``
(45 s online, 10 s offline).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from .. import codec

HUGE_LENGTH = 16 * 1024 * 1024  # a length prefix far beyond any client's limit


@dataclass(slots=True)
class InjectedError:
    """Answer ``module`` (or just ``module.method``) with this err_code."""

    module: str
    method: str | None = None
    code: int = -3
    msg: str = "injected error"

    @classmethod
    def parse(cls, text: str) -> InjectedError:
        where, _, code = text.partition(":")
        module, _, method = where.partition(".")
        if not module:
            raise ValueError(f"err_code needs module[.method][:code], got {text!r}")
        try:
            value = int(code) if code else -3
        except ValueError:
            raise ValueError(f"err_code: {code!r} is not an integer") from None
        return cls(module, method or None, value)


@dataclass
class Faults:
    """What is wrong with a device right now. All off by default."""

    delay: float = 0.0  # seconds before each reply
    no_reply: bool = False  # read requests, never answer
    hang_mid_frame: bool = False  # header and half the body, then stall
    close_mid_frame: bool = False  # header, then close the connection
    garbage: bool = False  # a correct length prefix and random bytes
    bad_length: int | None = None  # announce this many bytes instead of the real count
    non_utf8: bool = False  # body decrypts to bytes that are not UTF-8
    non_json: bool = False  # body decrypts to text that is not JSON
    not_object: bool = False  # body decrypts to a JSON array
    error: InjectedError | None = None  # err_code on a chosen module/method
    offline: bool = False  # refuse connections, ignore datagrams
    flap: float | None = None  # alternate online/offline every this many seconds
    flap_offline: float | None = None  # ... but stay offline only this long (default: flap)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in ("offline", "flap"):
            listener = getattr(self, "_listener", None)
            if listener is not None:
                listener()

    def subscribe(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener`` whenever ``offline`` or ``flap`` changes."""
        object.__setattr__(self, "_listener", listener)

    def clear(self) -> None:
        """Back to a healthy device."""
        for f in fields(self):
            setattr(self, f.name, f.default)

    def set(self, spec: str) -> None:
        """Apply one spec string such as ``delay=0.5`` or ``err_code=system:-1``."""
        name, has_value, value = spec.strip().partition("=")
        name = name.strip().replace("-", "_")
        if name == "err_code":
            self.error = InjectedError.parse(value)
            return
        kind = _KINDS.get(name)
        if kind is None:
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(FAULT_NAMES)})")
        if kind is bool:
            if has_value and value.lower() not in ("1", "true", "yes", "on", "0", "false", "no"):
                raise ValueError(f"fault {name} takes no value or a boolean, got {value!r}")
            setattr(self, name, not has_value or value.lower() in ("1", "true", "yes", "on"))
            return
        if name == "bad_length" and not has_value:
            self.bad_length = HUGE_LENGTH
            return
        if name == "flap" and "/" in value:
            value, _, down = value.partition("/")
            self.set(f"flap_offline={down}")
        try:
            number = kind(value)
        except ValueError:
            raise ValueError(f"fault {name} needs a number, got {value!r}") from None
        if number < 0 or (name.startswith("flap") and number == 0):
            raise ValueError(f"fault {name} must be positive, got {value!r}")
        setattr(self, name, number)

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> Faults:
        faults = cls()
        for spec in specs:
            faults.set(spec)
        return faults

    @property
    def corrupts(self) -> bool:
        return self.garbage or self.non_utf8 or self.non_json or self.not_object


_KINDS: dict[str, type] = {
    "delay": float,
    "no_reply": bool,
    "hang_mid_frame": bool,
    "close_mid_frame": bool,
    "garbage": bool,
    "bad_length": int,
    "non_utf8": bool,
    "non_json": bool,
    "not_object": bool,
    "offline": bool,
    "flap": float,
    "flap_offline": float,
}
FAULT_NAMES = (*_KINDS, "err_code")

NON_UTF8_BODY = b'{"system":{"get_sysinfo":{"alias":"\xff\xfe\xc3("}}}'
NON_JSON_BODY = b"<html><body>not json</body></html>"
NOT_OBJECT_BODY = b'["system","get_sysinfo"]'


def corrupt_body(plaintext: bytes, faults: Faults, rng: random.Random) -> bytes:
    """The encrypted body to send, after body-level faults."""
    if faults.garbage:
        return rng.randbytes(max(16, min(len(plaintext), 256)))
    if faults.non_utf8:
        plaintext = NON_UTF8_BODY
    elif faults.non_json:
        plaintext = NON_JSON_BODY
    elif faults.not_object:
        plaintext = NOT_OBJECT_BODY
    return codec.encrypt(plaintext)


def inject_error(reply: dict[str, Any], request: dict[str, Any], error: InjectedError) -> None:
    """Replace the targeted part of a reply with the injected err_code, in place."""
    if error.module not in request:
        return
    payload = {"err_code": error.code, "err_msg": error.msg}
    if error.method is None:
        reply[error.module] = payload
        return
    methods = request.get(error.module)
    if isinstance(methods, dict) and error.method in methods:
        section = reply.setdefault(error.module, {})
        if isinstance(section, dict):
            section[error.method] = payload
