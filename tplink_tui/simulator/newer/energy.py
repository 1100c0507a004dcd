"""The simulated ``get_energy_data``: a meter's history in the firmware's spans."""

from __future__ import annotations

from datetime import date, timedelta

from ..loads import Meter


def energy_spans(meter: Meter, first: date, last: date, interval: int, today: date) -> list[int]:
    """``get_energy_data``'s values; a span the firmware refuses raises ValueError.

    Days come from the seeded meter; hours split a day's energy evenly (the meter
    keeps no hourly history). Days after ``today`` count as zero, as on a device."""

    def day_wh(day: date) -> float:
        return meter.day_wh(day) if day <= today else 0.0

    if interval == 1440:
        if first.day != 1 or first.month % 3 != 1:
            raise ValueError("daily data starts on the first day of a quarter")
        days = [first + timedelta(days=i) for i in range(92)]
        return [round(day_wh(d)) for d in days if (d.month - 1) // 3 == (first.month - 1) // 3]
    if interval == 43200:
        if (first.month, first.day) != (1, 1):
            raise ValueError("monthly data starts on the first of January")
        totals = [0.0] * 12
        day = first
        while day.year == first.year and day <= today:
            totals[day.month - 1] += day_wh(day)
            day += timedelta(days=1)
        return [round(t) for t in totals]
    if interval == 60:
        if not 0 <= (last - first).days <= 8:
            raise ValueError("hourly data spans at most eight days")
        count = (last - first).days + 1
        return [round(day_wh(first + timedelta(days=i // 24)) / 24) for i in range(count * 24)]
    raise ValueError(f"no such interval: {interval}")
