"""The energy meter module (``emeter``) and the runtime statistics of ``schedule``.

Both report per day (``get_daystat {year, month}``) and per month
(``get_monthstat {year}``) from the outlet's ``Meter``. With several child ids a
strip answers for the first one only, as real strips do.
"""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING

from .args import Args, Handler, Reply, Targets, chosen, int_arg
from .loads import voltage

if TYPE_CHECKING:
    from .device import Outlet, SimulatedDevice


def _reading(dev: SimulatedDevice, outlets: list[Outlet], slot: int | None) -> Reply:
    now = time.time()
    volts = voltage(dev.profile.nominal_voltage, dev.seed, now)
    watts = amps = total = 0.0
    for o in outlets:
        o.meter.advance(now, o.is_on)
        w = o.meter.power(now, o.is_on)
        watts += w
        amps += w / volts / o.meter.load.power_factor
        total += o.meter.total_wh
    if dev.profile.meter == "old":
        return {
            "current": round(amps, 6),
            "voltage": round(volts, 6),
            "power": round(watts, 6),
            "total": round(total / 1000, 3),
        }
    reading = {
        "voltage_mv": round(volts * 1000),
        "current_ma": round(amps * 1000),
        "power_mw": round(watts * 1000),
        "total_wh": round(total),
    }
    if slot is not None:
        reading["slot_id"] = slot
    return reading


def get_realtime(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    # A strip answers one outlet per request, however many ids were sent;
    # without context it reports the sum of its outlets (no slot_id).
    if targets:
        return _reading(dev, targets[:1], targets[0].index)
    return _reading(dev, dev.relays, None)


def _energy(dev: SimulatedDevice, wh: float) -> Reply:
    if dev.profile.meter == "old":
        return {"energy": round(wh / 1000, 3)}
    return {"energy_wh": round(wh)}


def _stat_outlets(dev: SimulatedDevice, targets: Targets) -> list[Outlet]:
    return targets[:1] if targets else dev.relays


def _stats(
    dev: SimulatedDevice, targets: Targets, args: Args, runtime: bool, by_day: bool
) -> Reply:
    year = int_arg(args, "year", 2000, 2100)
    month = int_arg(args, "month", 1, 12) if by_day else 0
    outlets = _stat_outlets(dev, targets)
    now = time.time()
    for o in outlets:
        o.meter.advance(now, o.is_on)
    today = dev.local_now().date()
    meter = outlets[0].meter

    def value(day: date) -> float:
        if runtime:
            return max(o.meter.day_minutes(day) for o in outlets)
        return sum(o.meter.day_wh(day) for o in outlets)

    def shape(v: float) -> Reply:
        return {"time": round(v)} if runtime else _energy(dev, v)

    if by_day:
        days = meter.days(year, month, today, value)
        items = [{"year": year, "month": month, "day": d.day, **shape(v)} for d, v in days]
        return {"day_list": items}
    months = meter.months(year, today, value)
    return {"month_list": [{"year": year, "month": m, **shape(v)} for m, v in months]}


def emeter_daystat(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    return _stats(dev, targets, args, runtime=False, by_day=True)


def emeter_monthstat(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    return _stats(dev, targets, args, runtime=False, by_day=False)


def erase_emeter_stat(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    now = time.time()
    for o in chosen(dev, targets):
        o.meter.advance(now, o.is_on)
        o.meter.erase()
    return {}


def get_vgain_igain(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    return {"vgain": 13462, "igain": 16835}


def erase_runtime_stat(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    for o in chosen(dev, targets):
        o.meter.erase_runtime()
    return {}


EMETER: dict[str, Handler] = {
    "get_realtime": get_realtime,
    "get_daystat": emeter_daystat,
    "get_monthstat": emeter_monthstat,
    "erase_emeter_stat": erase_emeter_stat,
    "get_vgain_igain": get_vgain_igain,
}

RUNTIME: dict[str, Handler] = {
    "get_daystat": lambda d, t, a: _stats(d, t, a, runtime=True, by_day=True),
    "get_monthstat": lambda d, t, a: _stats(d, t, a, runtime=True, by_day=False),
    "erase_runtime_stat": erase_runtime_stat,
}
