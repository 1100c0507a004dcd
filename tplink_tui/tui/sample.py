"""A fixed, deterministic home for snapshot tests and README screenshots.

No sockets and no clock-driven values: snapshots are fed straight into the app,
so every run draws the same screen. (``--demo`` is the live equivalent.)
"""

from __future__ import annotations

import math
import time
from datetime import date
from typing import Any

from ..devices.models import (
    DeviceState,
    EnergyReading,
    EnergyStat,
    parse_realtime,
    parse_sysinfo,
)
from ..discovery import DiscoveredDevice, DiscoveryResult
from ..monitor import Monitor, Snapshot, Status
from ..present import DEFAULT_PORT
from ..store.config import ConfigStore, SavedDevice
from ..tariff import Tariff
from .app import TplinkApp
from .options import DashboardOptions
from .screens.discover import DiscoverScreen
from .screens.energy import EnergyReport, StatsLoader
from .state import WHOLE_DEVICE, DeviceView

TODAY = date(2026, 11, 22)
HISTORY = 90
# "Seen now" for this long after the feed, however slowly a loaded machine draws.
FRESH = 300.0


def _sysinfo(index: int, model: str, alias: str, on: bool | None, **extra: Any) -> dict[str, Any]:
    metered = model.startswith(("HS110", "KP115", "HS300"))
    info: dict[str, Any] = {
        "alias": alias,
        "model": model,
        "type": "IOT.SMARTPLUGSWITCH",
        "mac": f"50:C7:BF:0{index}:A{index}:3{index}",
        "deviceId": f"80065A1B2C3D4E5F60718293A4B5C6D7E8F9000{index}",
        "hwId": "A0E3CC8F5C1166B27A16D56BE262A6D3",
        "hw_ver": "2.0" if index % 2 else "1.0",
        "sw_ver": "1.5.6 Build 191125 Rel.083657",
        "rssi": -48 - 3 * index,
        "led_off": 0,
        "on_time": 3600 * (index + 2) + 600 * index if on else 0,
        "feature": "TIM:ENE" if metered else "TIM",
    }
    if on is not None:
        info["relay_state"] = int(on)
    info.update(extra)
    return info


def _children(device_id: str, names: list[str], states: list[bool]) -> dict[str, Any]:
    return {
        "child_num": len(names),
        "children": [
            {"id": f"{device_id}{i:02d}", "alias": n, "state": int(s), "on_time": 0}
            for i, (n, s) in enumerate(zip(names, states, strict=True))
        ],
    }


def _load(kind: str, step: int) -> float:
    """A repeatable load curve: what each appliance draws at history step ``step``."""
    if kind == "fridge":
        return 92.0 + 6 * math.sin(step / 3) if (step // 12) % 2 == 0 else 1.4
    if kind == "desk":
        return 68.0 + 22 * math.sin(step / 7) + 9 * math.sin(step / 2.3)
    if kind == "monitor":
        return 26.0 + 1.5 * math.sin(step / 5)
    if kind == "laptop":
        return max(4.0, 60.0 - step * 0.55)
    if kind == "printer":
        return 310.0 if step % 40 == 7 else 2.5
    if kind == "router":
        return 7.2 + 0.3 * math.sin(step)
    if kind == "speakers":
        return 6.0 + 3 * abs(math.sin(step / 4))
    return 0.0


STRIP_NAMES = ["Monitor", "Laptop charger", "Lamp", "Printer", "Router", "Speakers"]
STRIP_LOADS = ["monitor", "laptop", "off", "printer", "router", "speakers"]
STRIP_ON = [True, True, False, True, True, True]


def sample_devices() -> list[tuple[SavedDevice, dict[str, Any], list[str]]]:
    """(saved entry, sysinfo, loads per outlet or for the plug)."""
    strip = _sysinfo(3, "HS300(US)", "Office strip", None, latitude_i=373098)
    strip.update(_children(strip["deviceId"], STRIP_NAMES, STRIP_ON))
    media = _sysinfo(4, "KP303(UK)", "Media", None, mic_type="IOT.SMARTPLUGSWITCH")
    media.update(_children(media["deviceId"], ["TV", "Console", "Soundbar"], [True, False, True]))
    return [
        (
            SavedDevice("Fridge", "127.0.0.1", 9901, room="Kitchen", transport="xor"),
            _sysinfo(1, "HS110(EU)", "Fridge", True),
            ["fridge"],
        ),
        (
            SavedDevice("Desk", "127.0.0.1", 9902, room="Office", transport="xor"),
            _sysinfo(2, "KP115(US)", "Desk", True),
            ["desk"],
        ),
        (
            SavedDevice("Office strip", "127.0.0.1", 9903, room="Office", transport="xor"),
            strip,
            STRIP_LOADS,
        ),
        (SavedDevice("Media", "127.0.0.1", 9904, room="Living room", transport="xor"), media, []),
        (
            SavedDevice("Lamp", "127.0.0.1", 9905, room="Bedroom", transport="xor"),
            _sysinfo(5, "HS105(US)", "Lamp", False),
            [],
        ),
        (
            SavedDevice("Heater", "127.0.0.1", 9906, room="Garage", transport="xor"),
            _sysinfo(6, "HS103(US)", "Heater", True),
            [],
        ),
    ]


def _reading(watts: float, volts: float, total: float) -> EnergyReading:
    return parse_realtime(
        {"power": watts, "voltage": volts, "current": watts / volts, "total": total}
    )


class StillMonitor(Monitor):
    """A monitor that never polls: the sample feeds it fixed snapshots."""

    def start(self) -> None:
        self._started = False

    def refresh(self, key: str | None = None) -> None:
        pass


def feed_sample(app: TplinkApp) -> None:
    """The startup hook: save the sample home and feed it fixed snapshots, then draw once."""
    controller = app.controller
    now = time.time()
    for saved, raw, loads in sample_devices():
        app.store.add_device(saved)
        view = controller.watch(saved)
        info = parse_sysinfo(raw)
        volts = 230.4 if "(EU)" in info.model or "(UK)" in info.model else 120.6
        for step in range(HISTORY):
            energy, outlets = None, {}
            if info.has_emeter and info.is_strip:
                outlets = {
                    i: _reading(_load(kind, step) if STRIP_ON[i] else 0.0, volts, 1.0 + i)
                    for i, kind in enumerate(loads)
                }
            elif info.has_emeter:
                energy = _reading(_load(loads[0], step), volts, 12.75)
            state = DeviceState(info, energy, outlets, now - (HISTORY - 1 - step) * 2.0)
            controller.on_snapshot(
                Snapshot(
                    view.key,
                    saved.host,
                    saved.port,
                    Status.ONLINE,
                    state,
                    last_seen=now + FRESH,
                    polls=step + 1,
                    fresh=True,
                )
            )
        if saved.name == "Heater":
            controller.on_snapshot(
                Snapshot(
                    view.key,
                    saved.host,
                    saved.port,
                    Status.OFFLINE,
                    view.state,
                    error=f"{view.key}: no reply within 3 s",
                    last_seen=now - 130,
                    offline_since=now - 125,
                    polls=HISTORY + 1,
                )
            )
        view.today_kwh = {"Fridge": 0.84, "Desk": 1.37, "Office strip": 0.96}.get(saved.name)
        view.today_checked = view.countdown_checked = time.monotonic()
        if saved.name == "Desk":  # a running timer: "off in 25 min" (rounded up to the minute)
            view.countdowns = {WHOLE_DEVICE: (now + 25 * 60 - 30, False)}
        if saved.name == "Office strip":
            view.countdowns = {2: (now + 90 * 60 - 30, True)}
    app.show_changes(controller.take_dirty())
    app.table.move_cursor(row=0)


def sample_stats(view: DeviceView, outlet: int | None) -> StatsLoader:
    """Fixed energy statistics for the energy view: a strip's outlets add up to the whole."""
    info = view.sysinfo
    outlets = [(o.index, o.alias) for o in info.children] if info and info.is_strip else []

    def share(scope: int | None) -> float:
        if not outlets:
            return 1.0
        return 1.0 if scope is None else (scope + 1) / sum(i + 1 for i, _ in outlets)

    async def load(today: date, scope: int | None, tariff: Tariff | None) -> EnergyReport:
        part = share(scope)
        first = 4  # installed on the 4th: the days before it have no data
        days = [
            EnergyStat(
                TODAY.year,
                TODAY.month,
                d,
                round(part * (1.1 + 0.5 * math.sin(d / 2)), 3) if d >= first else 0.0,
            )
            for d in range(1, TODAY.day + 1)
        ]
        months = [
            EnergyStat(TODAY.year, m, None, round(part * (30 + 9 * math.cos(m / 2)), 2))
            for m in range(1, TODAY.month + 1)
        ]
        ours = [EnergyStat(s.year, s.month, s.day, s.energy_kwh * 0.97) for s in days[-7:]]
        totals = {"24 h": 1.18 * part, "7 d": 7.9 * part, "30 d": 31.6 * part}
        return EnergyReport(days, months, None, ours, totals, outlets)

    return load


def sample_discovery(target: str, port: int, known: set[tuple[str, int]]) -> DiscoverScreen:
    """A discovery dialog whose scan finds three fixed devices (one already saved)."""
    found = [
        DiscoveredDevice("127.0.0.1", port, parse_sysinfo(_sysinfo(7 + i, model, alias, True)))
        for i, (port, model, alias) in enumerate(
            [
                (9901, "HS110(EU)", "Fridge"),
                (9907, "HS103(US)", "Garden lights"),
                (9908, "KP303(US)", "Workbench"),
            ]
        )
    ]

    async def scan(target: str, port: int, timeout: float) -> DiscoveryResult:
        return DiscoveryResult(found, new_protocol_hosts=["127.0.0.9"])

    return DiscoverScreen(target, DEFAULT_PORT, known, timeout=0.2, scanner=scan)


SAMPLE = DashboardOptions(
    label="sample · ",
    fixed_today=TODAY,
    discover_screen=sample_discovery,
    stats_loader=sample_stats,
    on_start=feed_sample,
)


class SampleApp(TplinkApp):
    """The dashboard on fixed data (``--demo`` is the live version): only a constructor."""

    def __init__(self, store: ConfigStore) -> None:
        super().__init__(
            store,
            monitor=StillMonitor(),
            discovery_target="127.255.255.255",
            history=False,
            options=SAMPLE,
        )
