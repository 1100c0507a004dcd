"""``tplink-tui simulate``: serve simulated plugs and strips on loopback until stopped.

Prints one JSON line per device, then ``{"ready": true}``, so a script (or a
test) can start it, read where the devices are, and talk to them. SIGINT and
SIGTERM stop it cleanly (exit 0, every socket closed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import ListenError, UsageError
from ..present import DEFAULT_PORT, format_address
from ..simulator import PROFILES, Faults, SimulatedDevice, Simulator
from ..simulator.home import (
    DEMO_HOME,
    NEWER_DEMO_HOME,
    start_demo_home,
)
from ..simulator.newer import (
    NEWER_PROFILES,
    TEST_PASSWORD,
    TEST_USERNAME,
    NewerDevice,
    NewerSimulator,
)
from ..simulator.profiles import get_profile
from ..simulator.tddp import TddpConfig
from . import simulate_newer as newer
from .main import verb

PROG = "tplink-tui simulate"

DESCRIPTION = """\
Serve simulated plugs and strips that speak the real protocol (TCP and UDP) on
loopback. Prints one JSON line per device, then {"ready": true}; runs until
interrupted."""

EPILOG = f"""\
models (XOR on TCP/UDP 9999): {", ".join(k for k in PROFILES if k not in NEWER_PROFILES)}
newer models (KLAP/AES over HTTP, need --username/--password, answer 20002
discovery on --klap-port): {", ".join(NEWER_PROFILES)}
  their login is --username/--password (default {TEST_USERNAME} / {TEST_PASSWORD})

faults (--fault SPEC[@DEVICE], DEVICE = 0-based index or alias, default all):
  delay=S  no_reply  hang_mid_frame  close_mid_frame  garbage  bad_length[=N]
  non_utf8  non_json  not_object  err_code=MODULE[.METHOD][:CODE]  offline
  flap=S[/S_OFFLINE]
  newer models: drop_handshake[=N]  garbage_handshake[=N]  http_500[=N]

examples:
  tplink-tui simulate hs110=Fridge hs300=Office
  tplink-tui simulate hs110=Fridge p316m=Office kp125m --password hunter2
  tplink-tui simulate --count 20 --model hs300 --base-port 10000
  tplink-tui simulate --count 5 --model hs105 --addr-base 127.0.0.2 --port 9999
  tplink-tui simulate --demo --fault delay=2@Fridge"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the simulate options to a parser (the subcommand's, or a standalone one)."""
    parser.add_argument(
        "models", nargs="*", metavar="MODEL[=ALIAS]", help="devices to start, e.g. hs110=Fridge"
    )
    parser.add_argument("--count", type=int, metavar="N", help="start N devices of --model")
    parser.add_argument("--model", default="hs110", metavar="M", help="model for --count")
    parser.add_argument("--demo", action="store_true", help="start the built-in demo home")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    place = parser.add_mutually_exclusive_group()
    place.add_argument("--base-port", type=int, metavar="P", help="devices on ports P, P+1, ...")
    place.add_argument(
        "--addr-base", metavar="ADDR", help="devices on ADDR, ADDR+1, ... sharing --port"
    )
    parser.add_argument(
        "--port", type=int, metavar="P", help=f"port (with --addr-base, default {DEFAULT_PORT})"
    )
    parser.add_argument("--seed", type=int, default=0, help="identity and load seed")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="inject a fault (see below)"
    )
    parser.add_argument(
        "--discovery-port",
        type=int,
        metavar="P",
        help="a broadcast to 127.255.255.255:P reaches every device (default: the shared"
        " or base port, else a free one, shown on stderr)",
    )
    parser.add_argument(
        "--klap-port",
        type=int,
        default=20002,
        metavar="P",
        help="UDP port where the newer models answer discovery (default 20002)",
    )
    parser.add_argument(
        "--username",
        default=TEST_USERNAME,
        metavar="U",
        help=f"login of the newer models (default {TEST_USERNAME})",
    )
    parser.add_argument(
        "--password",
        default=TEST_PASSWORD,
        metavar="P",
        help=f"password of the newer models (default {TEST_PASSWORD})",
    )
    parser.add_argument(
        "--tddp",
        action="store_true",
        help="each device also answers TDDP (debug protocol) on a UDP port of its own,"
        " printed as tddp_port",
    )
    parser.add_argument("--tddp-user", default="admin", metavar="U", help="TDDP user (admin)")
    parser.add_argument(
        "--tddp-password", default="admin", metavar="P", help="TDDP password (admin)"
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "simulate",
        help="serve simulated plugs and strips on loopback",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    configure(parser)
    parser.set_defaults(func=run)
    return parser


def _device_specs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    specs: list[tuple[str, str | None]] = []
    for item in args.models:
        model, _, alias = item.partition("=")
        specs.append((model, alias.strip() or None))
    if args.count is not None:
        if args.count < 1:
            raise UsageError("--count must be at least 1")
        specs += [(args.model, None)] * args.count
    for model, _ in specs:
        if newer.is_newer(model):
            continue
        try:
            get_profile(model)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if not specs and not args.demo:
        raise UsageError("give at least one MODEL, --count N or --demo")
    return specs


def _check_port(value: int | None, name: str, span: int = 1) -> None:
    if value is not None and not (value >= 0 and value + span - 1 <= 65535):
        raise UsageError(f"{name} {value} is out of range (0-65535 for every device)")


def _plan(args: argparse.Namespace, count: int) -> dict[str, Any]:
    """Where devices go: keyword arguments for Simulator.start_many / start_demo_home."""
    _check_port(args.port, "--port")
    _check_port(args.base_port, "--base-port", count)
    _check_port(args.discovery_port, "--discovery-port")
    _check_port(args.klap_port, "--klap-port")
    if args.addr_base is not None:
        try:
            first = ipaddress.ip_address(args.addr_base)
            last = first + max(count - 1, 0)
        except (ValueError, OverflowError):
            raise UsageError(f"--addr-base {args.addr_base!r} is not a usable address") from None
        if first.is_loopback != last.is_loopback:
            raise UsageError("--addr-base range leaves 127.0.0.0/8")
        port = DEFAULT_PORT if args.port is None else args.port
        return {"addr_base": args.addr_base, "port": port}
    if args.base_port is not None:
        return {"base_port": args.base_port}
    if args.port is not None and count > 1:
        raise UsageError("--port places one device; use --base-port P or --addr-base for several")
    return {"port": args.port or 0}


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _apply_faults(devices: Sequence[SimulatedDevice | NewerDevice], specs: Sequence[str]) -> None:
    """Each --fault on its device(s); to all, each kind of device takes only its own faults."""
    for spec in specs:
        fault, _, target = spec.partition("@")
        chosen = list(devices)
        if target:
            if target.isdigit():
                if int(target) >= len(devices):
                    raise UsageError(f"--fault {spec}: no device {target}")
                chosen = [devices[int(target)]]
            else:
                chosen = [d for d in devices if _alias(d) == target]
                if not chosen:
                    raise UsageError(f"--fault {spec}: no device named {target!r}")
        for device in chosen:
            is_new = isinstance(device, NewerDevice)
            if not target and not newer.fault_applies(is_new, fault):
                continue  # a fault for the other kind of device
            try:
                if isinstance(device, NewerDevice):
                    newer.apply_newer_fault(device, fault)
                else:
                    device.faults.set(fault)
            except ValueError as exc:
                raise UsageError(f"--fault {spec}: {exc}") from None


def _alias(device: SimulatedDevice | NewerDevice) -> str:
    return newer.device_alias(device) if isinstance(device, NewerDevice) else device.alias


def describe(device: SimulatedDevice) -> dict[str, Any]:
    """The JSON line printed for a device."""
    line: dict[str, Any] = {
        "model": device.model,
        "profile": device.profile.key,
        "host": device.host,
        "port": device.port,
        "alias": device.alias,
        "device_id": device.device_id,
        "mac": device.mac,
        "outlets": [{"id": o.id, "alias": o.alias} for o in device.outlets],
        "transport": "xor",
    }
    if device.room:
        line["room"] = device.room
    return line


async def _serve(args: argparse.Namespace) -> int:
    specs = _device_specs(args)
    old = [(i, m, a) for i, (m, a) in enumerate(specs) if not newer.is_newer(m)]
    new = [(i, m, a) for i, (m, a) in enumerate(specs) if newer.is_newer(m)]
    demo_new = NEWER_DEMO_HOME if args.demo else ()
    placement = _plan(args, len(specs) + (len(DEMO_HOME) + len(demo_new) if args.demo else 0))
    for spec in args.fault:  # validate before binding anything
        fault = spec.partition("@")[0]
        if newer.is_newer_fault(fault):
            continue
        try:
            Faults().set(fault)
        except ValueError as exc:
            raise UsageError(f"--fault {spec}: {exc}") from None
    if new or demo_new:
        newer.check_newer_host(args.host)
    shared = placement.get("port") if "addr_base" in placement else placement.get("base_port")
    if _is_wildcard(args.host) and "addr_base" not in placement:
        # A device bound to 0.0.0.0:P hears broadcasts on P itself; a discovery
        # listener on 127.255.255.255:P would collide with it ("address in use").
        shared = None
    discovery = args.discovery_port if args.discovery_port is not None else (shared or 0)
    needs_klap = any(get_profile(m).klap_only for _, m, _ in old)
    sim = Simulator(
        args.host,
        seed=args.seed,
        discovery_port=discovery,
        klap_port=args.klap_port if needs_klap else None,
        tddp=TddpConfig(args.tddp_user, args.tddp_password) if args.tddp else None,
    )
    newer_sim = NewerSimulator(args.host) if (new or demo_new) else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            demo: list[SimulatedDevice] = []
            if args.demo:
                demo = await start_demo_home(sim, seed=args.seed or 2024, **placement)
            listed: list[SimulatedDevice] = []
            if old:
                # The listed models go after the demo home, on the next addresses or ports.
                if demo and "addr_base" in placement:
                    base = ipaddress.ip_address(placement["addr_base"]) + len(demo)
                    placement = {**placement, "addr_base": str(base)}
                elif demo and "base_port" in placement:
                    # after the demo's newer plugs too: ports follow the printed order
                    skip = len(demo) + len(demo_new)
                    placement = {**placement, "base_port": placement["base_port"] + skip}
                listed = await sim.start_many(
                    [m for _, m, _ in old], aliases=[a for _, _, a in old], **placement
                )
            demo_newer: list[NewerDevice] = []
            listed_newer: list[NewerDevice] = []
            if newer_sim is not None:
                demo_newer, listed_newer = await newer.start_listed_and_demo(
                    args, newer_sim, new, len(demo), len(listed)
                )
            # The listed models print in the order given, after the demo home.
            order: dict[int, SimulatedDevice | NewerDevice] = {
                i: d for (i, _, _), d in zip(old, listed, strict=True)
            }
            order.update({i: d for (i, _, _), d in zip(new, listed_newer, strict=True)})
            devices: list[SimulatedDevice | NewerDevice] = [*demo, *demo_newer]
            devices += [order[i] for i in sorted(order)]
        for warning in {str(w.message) for w in caught}:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
        _apply_faults(devices, args.fault)
        for device in devices:
            if isinstance(device, NewerDevice):
                line = newer.describe_newer(device)
                line["discovery_port"] = newer_sim.discovery_port if newer_sim else None
            else:
                line = describe(device)
                if (tddp_port := sim.tddp_port(device)) is not None:
                    line["tddp_port"] = tddp_port
            print(json.dumps(line))
        print(json.dumps({"ready": True}), flush=True)
        where = _discovery(sim)
        if newer_sim is not None:
            where += f"; newer models: {_newer_discovery(newer_sim)}"
        print(
            f"{PROG}: {len(devices)} devices; discovery: {where}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    except OSError as exc:
        # A busy port or an address this host lacks: like serve, another --port,
        # --base-port or --addr-base fixes it.
        raise ListenError(f"cannot start the devices: {exc}") from exc
    finally:
        await sim.stop()
        if newer_sim is not None:
            await newer_sim.stop()
    return 0


def _newer_discovery(sim: NewerSimulator) -> str:
    port = sim.discovery_port
    return "off" if port is None else format_address(sim.broadcast, port)


def _discovery(sim: Simulator) -> str:
    """Where one broadcast reaches every device (``off`` without a listener)."""
    port = sim.discovery_port
    return "off" if port is None else format_address(sim.broadcast, port)


@verb
def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0  # stopping is what Ctrl-C is for here, not an interruption


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
