"""The simulated devices' clocks, and what runs by them: schedule rules and away mode.

A device's local time is the host's clock plus its ``clock_offset`` (``set_timezone``
moves it; so does ``TestClock`` in tests). ``RuleRunner`` looks at that clock every
half second and carries out what the rule tables say happened since the last look:
a schedule rule switches its outlets at its minute (clock time, or sunrise/sunset ±
its offset at the device's location), a one-off rule then disables itself, and an
away-mode window switches its outlets on and off at (seeded) random moments between
its start and end, ending off. A jump of the clock by ``set_timezone`` fires nothing;
``TestClock.advance`` fires what the skipped span held, in order.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .device import Outlet, SimulatedDevice
    from .rules import RuleTable

PERIOD = 0.5  # seconds between two looks at the clock
JUMP = timedelta(minutes=2)  # a longer step between looks is a clock change, not time passing
LOOKBACK = timedelta(days=1)  # TestClock.advance replays at most this much
Location = tuple[float, float] | None


# -- when rules happen -----------------------------------------------------------------


def sun_minute(day: date, location: Location, rising: bool) -> int | None:
    """Local minute of sunrise/sunset at ``location`` (the sunrise equation); None in
    polar day or night or without a location."""
    if location is None:
        return None
    lat, lon = location
    noon = datetime(day.year, day.month, day.day, 12).timestamp()
    n = round((noon / 86400 + 2440587.5) - 2451545.0 + 0.0008)
    j_star = n - lon / 360
    m = math.radians((357.5291 + 0.98560028 * j_star) % 360)
    c = 1.9148 * math.sin(m) + 0.02 * math.sin(2 * m) + 0.0003 * math.sin(3 * m)
    ecliptic = math.radians((math.degrees(m) + c + 180 + 102.9372) % 360)
    transit = 2451545.0 + j_star + 0.0053 * math.sin(m) - 0.0069 * math.sin(2 * ecliptic)
    declination = math.asin(math.sin(ecliptic) * math.sin(math.radians(23.4397)))
    phi = math.radians(lat)
    cos_w = (math.sin(math.radians(-0.833)) - math.sin(phi) * math.sin(declination)) / (
        math.cos(phi) * math.cos(declination)
    )
    if not -1 <= cos_w <= 1:
        return None
    half = math.degrees(math.acos(cos_w)) / 360
    julian = transit - half if rising else transit + half
    local = datetime.fromtimestamp((julian - 2440587.5) * 86400)
    return local.hour * 60 + local.minute


def _minute(rule: dict[str, Any], prefix: str, day: date, location: Location) -> int | None:
    option = rule.get(f"{prefix}time_opt", 0)
    if option == 0:
        value = rule.get(f"{prefix}min")
        return value if isinstance(value, int) and 0 <= value < 1440 else None
    if option in (1, 2):
        sun = sun_minute(day, location, rising=option == 1)
        offset = rule.get(f"{prefix}offset", 0)
        if sun is None or not isinstance(offset, int):
            return None
        return min(max(sun + offset, 0), 1439)
    return None


def _runs_on(rule: dict[str, Any], day: date) -> bool:
    if rule.get("repeat", 1) == 0:
        return (rule.get("year"), rule.get("month"), rule.get("day")) == (
            day.year,
            day.month,
            day.day,
        )
    wday = rule.get("wday") or [1] * 7
    return bool(wday[(day.weekday() + 1) % 7])  # the device's week starts on Sunday


def events(
    rule: dict[str, Any], after: datetime, until: datetime, location: Location
) -> Iterator[tuple[datetime, int]]:
    """(moment, action) of a schedule rule in (after, until], in order."""
    day = after.date()
    while day <= until.date():
        if _runs_on(rule, day):
            for prefix in ("s", "e"):
                action = rule.get(f"{prefix}act", -1)
                minute = _minute(rule, prefix, day, location)
                if action not in (0, 1) or minute is None:
                    continue
                at = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
                if after < at <= until:
                    yield at, action
        day += timedelta(days=1)


def away_window(rule: dict[str, Any], day: date) -> tuple[datetime, datetime] | None:
    """The away-mode window that starts on ``day`` (it may end the next day)."""
    start, end = _minute(rule, "s", day, None), _minute(rule, "e", day, None)
    if start is None or end is None or start == end or not _runs_on(rule, day):
        return None
    opens = datetime(day.year, day.month, day.day) + timedelta(minutes=start)
    closes = datetime(day.year, day.month, day.day) + timedelta(minutes=end)
    return opens, closes if end > start else closes + timedelta(days=1)


def away_segments(rule: dict[str, Any], day: date) -> list[tuple[datetime, datetime]]:
    """When the outlets are on in the window starting on ``day``: ``frequency`` random
    spells, one per equal slice of the window, the same for the same rule and day."""
    window = away_window(rule, day)
    if window is None:
        return []
    opens, closes = window
    frequency = rule.get("frequency", 5)
    count = min(max(frequency, 1), 30) if isinstance(frequency, int) else 5
    rng = random.Random(f"{rule.get('id')}/{day.isoformat()}")
    slot = (closes - opens) / count
    spells = []
    for i in range(count):
        begin = opens + slot * i + slot * rng.uniform(0.0, 0.3)
        spells.append((begin, begin + slot * rng.uniform(0.3, 0.6)))
    return spells


def away_state(rule: dict[str, Any], now: datetime) -> bool | None:
    """On/off that an away rule wants at ``now``; None outside its windows."""
    for day in (now.date() - timedelta(days=1), now.date()):
        window = away_window(rule, day)
        if window is not None and window[0] <= now < window[1]:
            return any(a <= now < b for a, b in away_segments(rule, day))
    return None


# -- carrying them out -------------------------------------------------------------------


def location(dev: SimulatedDevice) -> Location:
    return dev.identity.latitude, dev.identity.longitude


def targets(dev: SimulatedDevice) -> list[tuple[RuleTable, list[Outlet]]]:
    """Every rule table with the outlets its rules switch (as the verbs address them)."""
    found = []
    if dev.profile.is_strip:
        found = [(table, list(dev.relays)) for table in dev.parent_rules.values()]
    return found + [(table, [o]) for o in dev.relays for table in o.rules.values()]


class RuleRunner:
    """Looks at one device's clock every ``PERIOD`` and does what its rules say."""

    def __init__(self, dev: SimulatedDevice) -> None:
        self.dev = dev
        self.last: datetime | None = None
        self._handle: Any = None
        self._away: dict[tuple[int, str], bool | None] = {}  # what each window last wanted

    def start(self) -> None:
        """Start looking (idempotent; needs the device's event loop)."""
        loop = self.dev.loop
        if self._handle is None and loop is not None and not loop.is_closed():
            self.last = self.last or self.dev.local_now()
            self._handle = loop.call_later(PERIOD, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self.last = None, None

    def _tick(self) -> None:
        self._handle = None
        self.check()
        if any(t.rules for t, _ in targets(self.dev) if t.kind != "count_down"):
            self.start()  # nothing left to run: stop looking until a rule is added
        else:
            self.last = None

    def reset(self) -> None:
        """The clock was set: nothing between the old and the new time happens."""
        self.last = self.dev.local_now()

    def check(self, *, replay: bool = False) -> None:
        """Carry out what happened since the last look (``replay``: even across a jump)."""
        now = self.dev.local_now()
        last = self.last or now
        self.last = now
        if now < last or (now - last > JUMP and not replay):
            return
        after = max(last, now - LOOKBACK)
        due: list[tuple[datetime, int, dict[str, Any], list[Outlet]]] = []
        for table, outlets in targets(self.dev):
            if not table.enable or table.kind == "count_down":
                continue
            for rule in table.rules:
                if not rule.get("enable", 1):
                    continue
                if table.kind == "anti_theft":
                    self._away_step(table, rule, outlets, now)
                    continue
                for at, action in events(rule, after, now, location(self.dev)):
                    due.append((at, action, rule, outlets))
        due.sort(key=lambda item: item[0])
        for _, action, _, outlets in due:
            self.dev.set_relay(bool(action), outlets)
        once = {id(rule): rule for _, _, rule, _ in due if rule.get("repeat", 1) == 0}
        for rule in once.values():
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
            if next(events(rule, now, midnight, location(self.dev)), None) is None:
                rule["enable"] = 0  # a one-off rule is spent after its last switch

    def _away_step(
        self, table: RuleTable, rule: dict[str, Any], outlets: list[Outlet], now: datetime
    ) -> None:
        key = (id(table), str(rule.get("id")))
        wanted = away_state(rule, now)
        before = self._away.get(key)
        self._away[key] = wanted
        if wanted is None and before is not None:
            self.dev.set_relay(False, outlets)  # the window closed: lights out
        elif wanted is not None and wanted != before:
            self.dev.set_relay(wanted, outlets)


class TestClock:
    """Sets or moves simulated devices' local clocks (real time keeps running beneath).

    ``set`` is like setting a device's time: nothing in between fires. ``advance`` is
    time passing: every rule whose moment it steps over fires, in order, at once.
    """

    __test__ = False  # not a pytest class

    def __init__(self, *devices: SimulatedDevice) -> None:
        self.devices = list(devices)

    def set(self, when: datetime) -> None:
        for dev in self.devices:
            dev.clock_offset = when.timestamp() - time.time()
            dev.rule_runner.reset()

    def advance(self, seconds: float) -> None:
        for dev in self.devices:
            dev.clock_offset += seconds
            dev.rule_runner.check(replay=True)

    def now(self) -> datetime:
        return self.devices[0].local_now()
