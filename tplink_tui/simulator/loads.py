"""Loads behind each outlet, and the energy meter that watches them.

A load is a pure function of wall-clock time and a seed, so readings are
deterministic and cost a few arithmetic operations: nothing ticks in the
background. The meter integrates lazily, when it is read or the relay changes.
Daily history before the simulator started is synthesised from the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

HISTORY_DAYS = 30


def noise(seed: int, n: int) -> float:
    """A cheap integer hash of (seed, n) mapped to [0, 1)."""
    x = (seed * 0x9E3779B1 + n * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    x ^= x >> 15
    return x / 4294967296.0


def smooth(seed: int, t: float, period: float) -> float:
    """Value noise: a smooth random walk in [0, 1) changing over ``period`` seconds."""
    u = t / period
    n = math.floor(u)
    f = u - n
    f = f * f * (3 - 2 * f)
    a, b = noise(seed, n), noise(seed, n + 1)
    return a + (b - a) * f


def _cycle(t: float, seed: int, period: float) -> float:
    """Position in [0, 1) within a repeating cycle, phase-shifted by the seed."""
    return ((t + noise(seed, -1) * period) % period) / period


def _fridge(t: float, s: int) -> float:
    pos = _cycle(t, s, 1800.0)  # compressor: 12 min on, 18 min off
    if pos < 0.4:
        inrush = 260.0 if pos * 1800.0 < 3.0 else 0.0
        return 105.0 + 15.0 * smooth(s, t, 40.0) + inrush
    return 1.2 + 0.3 * noise(s, int(t))


def _heater(t: float, s: int) -> float:
    pos = _cycle(t, s, 600.0)  # thermostat: half on
    return 1480.0 + 30.0 * smooth(s, t, 20.0) if pos < 0.5 else 1.5


def _charger(t: float, s: int) -> float:
    pos = _cycle(t, s, 3600.0)  # a phone charges for 20 minutes an hour
    if pos < 1 / 3:
        return 4.0 + 14.0 * (1.0 - 3.0 * pos) + 0.5 * noise(s, int(t))
    return 0.3 + 0.1 * noise(s, int(t))


def _printer(t: float, s: int) -> float:
    slot = int(t // 600)
    if noise(s, slot) < 0.1 and t - slot * 600 < 30:
        return 320.0 + 80.0 * noise(s, int(t))
    return 2.4 + 0.2 * noise(s, int(t))


@dataclass(frozen=True, slots=True)
class Load:
    """What is plugged in: watts over time, power factor, typical hours on a day."""

    name: str
    watts: Callable[[float, int], float]
    mean_w: float
    power_factor: float
    hours_on: float


LOADS: dict[str, Load] = {
    load.name: load
    for load in (
        Load("fridge", _fridge, 43.0, 0.85, 24.0),
        Load("tv", lambda t, s: 70.0 + 40.0 * smooth(s, t, 7.0), 90.0, 0.95, 5.0),
        Load("lamp", lambda t, s: 9.0 + 0.3 * noise(s, int(t)), 9.1, 0.9, 6.0),
        Load("charger", _charger, 4.0, 0.6, 24.0),
        Load("laptop", lambda t, s: 18.0 + 45.0 * smooth(s, t, 60.0) ** 2, 33.0, 0.9, 10.0),
        Load("monitor", lambda t, s: 22.0 + 6.0 * smooth(s, t, 15.0), 25.0, 0.9, 9.0),
        Load("printer", _printer, 4.2, 0.8, 24.0),
        Load("router", lambda t, s: 7.0 + 0.6 * noise(s, int(t)), 7.3, 0.8, 24.0),
        Load("speakers", lambda t, s: 4.0 + 20.0 * smooth(s, t, 5.0) ** 3, 9.0, 0.85, 8.0),
        Load("console", lambda t, s: 60.0 + 90.0 * smooth(s, t, 20.0), 105.0, 0.95, 3.0),
        Load("soundbar", lambda t, s: 10.0 + 25.0 * smooth(s, t, 4.0) ** 2, 18.0, 0.9, 5.0),
        Load("computer", lambda t, s: 55.0 + 80.0 * smooth(s, t, 5.0) ** 2, 80.0, 0.95, 9.0),
        Load("heater", _heater, 740.0, 1.0, 4.0),
        Load("kettle", lambda t, s: 0.0 if _cycle(t, s, 1800.0) > 0.1 else 2000.0, 200.0, 1.0, 1.0),
        Load("idle", lambda t, s: 0.0, 0.0, 1.0, 0.0),
    )
}

DEFAULT_LOADS = ("lamp", "tv", "charger", "monitor", "router", "laptop", "fridge", "speakers")


def voltage(nominal: float, seed: int, t: float) -> float:
    """Mains voltage: a slow drift of about 1 % plus a little flicker."""
    drift = (smooth(seed, t, 45.0) - 0.5) * 0.02 * nominal
    return nominal + drift + (noise(seed, int(t * 4)) - 0.5) * 0.004 * nominal


class Meter:
    """Energy counters of one outlet: total since boot, daily and runtime history."""

    __slots__ = ("_erased", "_last", "_live_s", "_live_wh", "load", "seed", "start", "total_wh")

    def __init__(self, load: Load, seed: int, now: float) -> None:
        self.load = load
        self.seed = seed
        # Counting since the last reboot, some days ago.
        self.total_wh = load.mean_w * (12 + 200 * noise(seed, 5))
        self._last = now
        self.start = datetime.fromtimestamp(now)
        self._live_wh: dict[date, float] = {}
        self._live_s: dict[date, float] = {}
        self._erased = False

    def power(self, t: float, on: bool) -> float:
        return self.load.watts(t, self.seed) if on else 0.0

    def advance(self, now: float, on: bool) -> None:
        """Account for the time since the last call; call before a relay change."""
        dt = now - self._last
        if dt <= 0:
            return
        self._last = now
        if not on:
            return
        mean = self.load.watts(now - dt / 2, self.seed) if dt < 120 else self.load.mean_w
        wh = mean * dt / 3600.0
        self.total_wh += wh
        today = date.fromtimestamp(now)
        self._live_wh[today] = self._live_wh.get(today, 0.0) + wh
        self._live_s[today] = self._live_s.get(today, 0.0) + dt

    def reboot(self, now: float) -> None:
        """Counting restarts from zero; the time the device was down is not metered."""
        self.total_wh = 0.0
        self._last = now

    def erase(self) -> None:
        """erase_emeter_stat: daily and monthly history and the running total."""
        self._erased = True
        self._live_wh.clear()
        self.total_wh = 0.0

    def erase_runtime(self) -> None:
        self._live_s.clear()

    # -- history -------------------------------------------------------------

    def _synth(self, day: date, scale: float, salt: int) -> float:
        """A plausible daily value before the simulator started."""
        start = self.start.date()
        if day > start or self._erased:
            return 0.0
        first_use = start - timedelta(days=60 + self.seed % 300)
        if day < first_use:
            return 0.0
        if salt and self.load.hours_on >= 24:
            value = scale  # always on: a full day of runtime
        else:
            value = scale * (0.7 + 0.6 * noise(self.seed + salt, day.toordinal()))
        if day == start:
            t = self.start
            value *= (t.hour * 3600 + t.minute * 60 + t.second) / 86400
        return value

    def day_wh(self, day: date) -> float:
        return self._synth(day, self.load.mean_w * 24, 0) + self._live_wh.get(day, 0.0)

    def day_minutes(self, day: date) -> int:
        synth = self._synth(day, self.load.hours_on * 60, 7)
        return min(1440, round(synth + self._live_s.get(day, 0.0) / 60))

    def days(self, year: int, month: int, today: date, value: Callable[[date], float]) -> list:
        """(day, value) pairs for the month, only within the kept history window."""
        first = max(date(year, month, 1), today - timedelta(days=HISTORY_DAYS))
        out = []
        day = first
        while day.month == month and day.year == year and day <= today:
            out.append((day, value(day)))
            day += timedelta(days=1)
        return out

    def months(self, year: int, today: date, value: Callable[[date], float]) -> list:
        """(month, total) pairs for the year, months with nothing left out."""
        out = []
        for month in range(1, 13):
            day, total = date(year, month, 1), 0.0
            while day.month == month and day <= today:
                total += value(day)
                day += timedelta(days=1)
            if total > 0:
                out.append((month, total))
        return out
