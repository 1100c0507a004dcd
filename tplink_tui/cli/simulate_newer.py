"""``simulate``'s newer devices: KLAP/AES plugs and strips beside the old XOR ones.

The newer models (``tplink_tui.simulator.newer``) serve HTTP on their own loopback
ports and answer 20002 discovery; this module starts them, applies ``--fault``
to them (the old ``Faults`` vocabulary where it makes sense over HTTP, plus the
one-shot HTTP faults), and writes their JSON line (with ``transport``; never the password).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from ..simulator.home import start_newer_demo_home
from ..simulator.newer import NEWER_PROFILES, NewerDevice, NewerSimulator
from ..simulator.newer.faults import NEWER_ONE_SHOTS, NEWER_WIRE_FAULTS, is_newer_spec
from ..simulator.newer.smart_device import SmartDevice

__all__ = [
    "NEWER_FAULTS",
    "SHARED_FAULTS",
    "apply_newer_fault",
    "describe_newer",
    "device_alias",
    "fault_applies",
    "is_newer",
    "is_newer_fault",
    "start_listed_and_demo",
    "start_newer",
]

NEWER_FAULTS = NEWER_ONE_SHOTS
"""One-shot faults only the newer devices have (``NAME`` or ``NAME=N`` times)."""
SHARED_FAULTS = NEWER_WIRE_FAULTS
"""Old-simulator faults the newer devices honour too (parsed by ``Faults``)."""


def is_newer(model: str) -> bool:
    return model.strip().lower() in NEWER_PROFILES


def is_newer_fault(spec: str) -> bool:
    """A fault only the newer devices know (the old ones would refuse it)."""
    name, _, count = spec.partition("=")
    return name in NEWER_FAULTS and (not count or count.isdigit())


def fault_applies(device_is_newer: bool, spec: str) -> bool:
    """Whether an untargeted ``--fault`` goes to this kind of device."""
    if device_is_newer:
        return is_newer_spec(spec)
    return not is_newer_fault(spec)


def apply_newer_fault(device: NewerDevice, spec: str) -> None:
    """``http_500=2`` (the next two requests answer HTTP 500), or an old fault that
    makes sense over HTTP (``delay=S``, ``no_reply``, ``offline``, ``flap=UP/DOWN``...)."""
    device.faults.set(spec)


def device_alias(device: NewerDevice) -> str:
    state = device.state
    return state.nickname if isinstance(state, SmartDevice) else state.alias


async def start_newer(
    sim: NewerSimulator,
    specs: Sequence[tuple[str, str | None]],
    *,
    username: str,
    password: str,
    seed: int,
    base_port: int | None = None,
) -> list[NewerDevice]:
    """Start the newer models in order; on free ports, or ``base_port``, +1, ..."""
    devices = []
    for i, (model, alias) in enumerate(specs):
        devices.append(
            await sim.add(
                model,
                alias=alias,
                username=username,
                password=password,
                seed=seed * 100 + 50 + i,
                port=0 if base_port is None else base_port + i,
            )
        )
    return devices


def describe_newer(device: NewerDevice) -> dict[str, Any]:
    """The JSON line printed for a newer device (the same keys as an old one, plus how
    to reach it: transport, login version, username)."""
    state = device.state
    if isinstance(state, SmartDevice):
        outlets = (
            [{"id": o.device_id, "alias": o.nickname} for o in state.outlets]
            if device.profile.is_strip
            else []
        )
        mac = state.mac.replace("-", ":")
    else:
        outlets = [{"id": o.id, "alias": o.alias} for o in state.outlets]
        mac = state.mac
    return {
        "model": device.profile.model,
        "profile": device.profile.key,
        "host": device.host,
        "port": device.port,
        "alias": device_alias(device),
        "device_id": device.device_id,
        "mac": mac,
        "outlets": outlets,
        "transport": device.encrypt_type.lower(),
        "login_version": device.login_version,
        "dialect": device.profile.dialect,
        "username": device.credentials.username,
    }


def check_newer_host(host: str) -> None:
    """Newer devices are loopback only (their simulator refuses anything else)."""
    from ..simulator.newer.server import check_loopback

    try:
        check_loopback(host)
    except ValueError as exc:
        raise UsageError(f"newer models: {exc}") from None


async def start_listed_and_demo(
    args: argparse.Namespace,
    newer_sim: NewerSimulator,
    specs: Sequence[tuple[int, str, str | None]],
    demo_old: int,
    listed_old: int,
) -> tuple[list[NewerDevice], list[NewerDevice]]:
    """The demo's newer devices and the listed newer models, then the 20002 listener.

    With --base-port the demo's newer plugs follow the demo's old ones and the listed
    newer models follow the listed old ones; a lone newer model takes --port.
    """
    base = args.base_port
    demo: list[NewerDevice] = []
    if args.demo:
        demo = await start_newer_demo_home(
            newer_sim,
            seed=args.seed or 2024,
            username=args.username,
            password=args.password,
            base_port=None if base is None else base + demo_old,
        )
    first = None if base is None else base + demo_old + len(demo) + listed_old
    if first is None and args.port and len(specs) == 1 and not (demo or listed_old):
        first = args.port
    listed = await start_newer(
        newer_sim,
        [(m, a) for _, m, a in specs],
        username=args.username,
        password=args.password,
        seed=args.seed,
        base_port=first,
    )
    await newer_sim.listen_discovery(args.klap_port)
    return demo, listed
