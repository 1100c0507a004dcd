"""The demo home: a handful of plugs and strips with names, rooms and real loads.

The dashboard's ``--demo`` and ``tplink-tui simulate --demo`` start it, so a
person without plugs sees a fridge cycling, a TV drawing power and a heater in
the garage whose Wi-Fi drops out now and then.
"""

from __future__ import annotations

from dataclasses import dataclass

from .device import SimulatedDevice
from .newer import TEST_PASSWORD, TEST_USERNAME, NewerDevice, NewerSimulator, SmartDevice
from .simulator import Simulator


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """One device of the demo home."""

    model: str
    alias: str
    room: str
    loads: tuple[str, ...]
    outlets: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()
    on: bool | tuple[bool, ...] = True


DEMO_HOME: tuple[DemoDevice, ...] = (
    DemoDevice("hs110", "Fridge", "Kitchen", ("fridge",)),
    DemoDevice("kp115", "Desk", "Office", ("computer",)),
    DemoDevice(
        "hs300",
        "Office strip",
        "Office",
        ("monitor", "laptop", "lamp", "printer", "router", "speakers"),
        outlets=("Monitor", "Laptop charger", "Lamp", "Printer", "Router", "Speakers"),
        on=(True, True, False, True, True, True),
    ),
    DemoDevice(
        "kp303",
        "Media",
        "Living room",
        ("tv", "console", "soundbar"),
        outlets=("TV", "Console", "Soundbar"),
        on=(True, False, True),
    ),
    DemoDevice("hs105", "Lamp", "Bedroom", ("lamp",), on=False),
    DemoDevice("hs103", "Heater", "Garage", ("heater",), faults=("flap=45/8",)),
)


async def start_demo_home(
    sim: Simulator,
    *,
    seed: int = 2024,
    addr_base: str | None = None,
    port: int = 0,
    base_port: int | None = None,
) -> list[SimulatedDevice]:
    """Start every demo device; on free ports of the simulator's host by default.

    With ``addr_base`` (for example ``127.0.0.2``) the devices get consecutive
    addresses sharing ``port``, like plugs on a LAN; with ``base_port`` consecutive
    ports ``base_port``, ``base_port + 1``, ... of the simulator's host.
    """
    import ipaddress

    if addr_base is not None and base_port is not None:
        raise ValueError("choose addr_base (one port) or base_port (one address), not both")
    devices: list[SimulatedDevice] = []
    for i, spec in enumerate(DEMO_HOME):
        host = str(ipaddress.ip_address(addr_base) + i) if addr_base else None
        shared = devices[0].port if (addr_base and devices) else port
        if base_port is not None:
            shared = base_port + i
        devices.append(
            await sim.add(
                spec.model,
                spec.alias,
                host=host,
                port=shared,
                seed=seed * 100 + i,
                loads=spec.loads,
                outlets=spec.outlets or None,
                faults=spec.faults,
                on=spec.on,
                room=spec.room,
            )
        )
    return devices


NEWER_DEMO_HOME: tuple[DemoDevice, ...] = (
    DemoDevice(
        "p316m",
        "Workshop strip",
        "Workshop",
        (),
        outlets=("Saw", "Drill charger", "Lamp", "Radio", "Compressor", "Fan"),
    ),
    DemoDevice("kp125m", "Dehumidifier", "Basement", ()),
)
"""The demo home's newer plugs (KLAP, the documented test login unless told otherwise)."""


async def start_newer_demo_home(
    sim: NewerSimulator,
    *,
    seed: int = 2024,
    username: str = TEST_USERNAME,
    password: str = TEST_PASSWORD,
    base_port: int | None = None,
) -> list[NewerDevice]:
    """Start the demo's newer devices, on free ports or ``base_port``, +1, ..."""
    devices = []
    for i, spec in enumerate(NEWER_DEMO_HOME):
        device = await sim.add(
            spec.model,
            alias=spec.alias,
            username=username,
            password=password,
            seed=seed * 100 + 80 + i,
            port=0 if base_port is None else base_port + i,
        )
        state = device.state
        if isinstance(state, SmartDevice):
            for outlet, name in zip(state.outlets, spec.outlets, strict=False):
                outlet.nickname = name
        devices.append(device)
    return devices
