"""Energy statistics in the smart dialect: ``get_energy_data`` per day or per month.

The old protocol asks for a month's days (``get_daystat``) or a year's months
(``get_monthstat``). The smart dialect asks for a span and an interval instead,
and the firmware only takes certain spans: daily data (interval 1440 minutes)
from the first day of a quarter, monthly data (43,200) from the first of January,
hourly data (60) over at most eight days. The answer is a list of Wh values, one
per interval from the start. Timestamps are the device's local midnight counted
as if it were UTC, as the Tapo app sends them.
"""

from __future__ import annotations

import calendar
import math
from datetime import date, timedelta
from typing import Any

from ..errors import ProtocolError, UsageError
from . import smart
from .models import EnergyStat

HOURLY, DAILY, MONTHLY = 60, 1440, 43200
MAX_ENTRIES = 400
"""More values than any span the firmware answers: a longer list is not believed."""


def check_period(year: int, month: int | None = None) -> None:
    """The year (and month) a caller asked for, or a UsageError naming it."""
    if not 2000 <= year <= 2100:
        raise UsageError(f"year {year} is out of range (2000-2100)")
    if month is not None and not 1 <= month <= 12:
        raise UsageError(f"month {month} is out of range (1-12)")


def quarter_span(year: int, month: int) -> tuple[date, date]:
    """The first and last day of the quarter holding ``month``."""
    first_month = 3 * ((month - 1) // 3) + 1
    first = date(year, first_month, 1)
    last_month = first_month + 2
    return first, date(year, last_month, calendar.monthrange(year, last_month)[1])


def _stamp(day: date) -> int:
    return calendar.timegm(day.timetuple())


def get_energy_data(first: date, last: date, interval: int) -> dict[str, Any]:
    """The request for ``interval``-minute values from ``first`` through ``last``."""
    end = _stamp(last + timedelta(days=1)) - 1 if interval != MONTHLY else _stamp(last)
    return smart.request(
        "get_energy_data",
        {"start_timestamp": _stamp(first), "end_timestamp": end, "interval": interval},
    )


def energy_values(result: Any) -> list[float]:
    """The ``data`` list of a ``get_energy_data`` result, in Wh, checked."""
    if not isinstance(result, dict):
        raise ProtocolError("energy data reply is not an object")
    data = result.get("data")
    if not isinstance(data, list):
        raise ProtocolError("energy data reply has no 'data' list")
    if len(data) > MAX_ENTRIES:
        raise ProtocolError(f"energy data reply has {len(data)} values, more than any span")
    values = []
    for value in data:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(f"energy data value should be a number, got {value!r}"[:120])
        if not math.isfinite(value) or value < 0 or value > 1e9:
            raise ProtocolError(f"energy data value {value!r} is out of range"[:120])
        values.append(float(value))
    return values


def daily_stats(values: list[float], first: date, year: int, month: int) -> list[EnergyStat]:
    """Daily Wh values from ``first`` as the days of one month (kWh), none in the future."""
    today = date.today()
    stats = []
    for offset, wh in enumerate(values):
        day = first + timedelta(days=offset)
        if (day.year, day.month) == (year, month) and day <= today:
            stats.append(EnergyStat(year, month, day.day, wh / 1000))
    return stats


def monthly_stats(values: list[float], year: int) -> list[EnergyStat]:
    """Monthly Wh values from January as a year's months (kWh), empty months left out.

    The old protocol's ``get_monthstat`` lists only months with energy; so does this."""
    return [
        EnergyStat(year, index + 1, None, wh / 1000)
        for index, wh in enumerate(values[:12])
        if wh > 0
    ]
