"""Exporting the history: every stored row of every tier, merged in time order.

Its own connection, so a long export (``tplink-tui history export``) streams rows
lazily without holding the store's lock that the dashboard's queries need.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from ..tariff import Tariff
from .history_db import WHOLE_DEVICE, describe_error, to_ms

__all__ = ["HistoryRow", "export_rows", "priced_rows"]

MAX_GAP = 120.0  # s: raw readings further apart are not joined (as the history's integrals)


class HistoryRow(NamedTuple):
    """One exported row. ``resolution`` is 0 for a raw reading, else the bucket in s."""

    device: str
    outlet: int | None
    ts: float
    power_w: float | None
    voltage_v: float | None
    current_a: float | None
    total_kwh: float | None
    resolution: int


def export_rows(
    path: Path,
    timeout: float,
    device: str | None = None,
    outlet: int | None = None,
    since: float | None = None,
    until: float | None = None,
) -> Iterator[HistoryRow]:
    """Every stored row, by device, outlet and time; lazily, on its own connection.

    ``outlet=None`` means every outlet (and the whole device); pass -1 for only
    the whole-device readings.
    """
    lo = -(2**62) if since is None else to_ms(since)
    hi = 2**62 if until is None else to_ms(until)
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise describe_error(path, exc) from None
    try:
        query = "SELECT id, device, outlet FROM series WHERE 1"
        args: list[object] = []
        if device is not None:
            query += " AND device = ?"
            args.append(device)
        if outlet is not None:
            query += " AND outlet = ?"
            args.append(int(outlet))
        selected = conn.execute(query + " ORDER BY device, outlet", args).fetchall()
        for sid, dev, out in selected:
            tiers = [
                _tier_rows(conn, table, resolution, sid, dev, out, lo, hi)
                for table, resolution in (("hour", 3600), ("minute", 60), ("raw", 0))
            ]
            yield from heapq.merge(*tiers, key=lambda r: r.ts)
    except sqlite3.Error as exc:
        raise describe_error(path, exc) from None
    finally:
        conn.close()


def _tier_rows(
    conn: sqlite3.Connection,
    table: str,
    resolution: int,
    sid: int,
    device: str,
    outlet: int,
    lo: int,
    hi: int,
) -> Iterator[HistoryRow]:
    out = None if outlet == WHOLE_DEVICE else outlet
    cursor = conn.execute(
        f"SELECT ts, power_mw, voltage_mv, current_ma, total_mwh FROM {table}"
        " WHERE series = ? AND ts >= ? AND ts <= ? ORDER BY ts",
        (sid, lo, hi),
    )
    for ts, p, v, a, total in cursor:
        yield HistoryRow(
            device,
            out,
            ts / 1000,
            _unit(p, 1000),
            _unit(v, 1000),
            _unit(a, 1000),
            _unit(total, 1e6),
            resolution,
        )


def _unit(value: int | float | None, scale: float) -> float | None:
    return None if value is None else value / scale


def priced_rows(
    rows: Iterator[HistoryRow], tariff: Tariff, max_gap: float = MAX_GAP
) -> Iterator[tuple[HistoryRow, float | None, float | None]]:
    """Each row with the energy it stands for (kWh) and its cost at that moment's price.

    A bucket mean stands for its bucket (mean power x bucket length); a raw reading
    for the time until the next reading of the same series, when that is within
    ``max_gap`` (the last reading of a series, or one before a gap, stands for 0).
    A row without power has no energy and no cost. Lazy: one row of look-ahead.
    """
    previous: HistoryRow | None = None
    for row in rows:
        if previous is not None:
            yield _priced(previous, row, tariff, max_gap)
        previous = row
    if previous is not None:
        yield _priced(previous, None, tariff, max_gap)


def _priced(
    row: HistoryRow, following: HistoryRow | None, tariff: Tariff, max_gap: float
) -> tuple[HistoryRow, float | None, float | None]:
    if row.power_w is None:
        return row, None, None
    if row.resolution:
        seconds = float(row.resolution)
    elif (
        following is not None
        and (following.device, following.outlet) == (row.device, row.outlet)
        and 0 < following.ts - row.ts <= max_gap
    ):
        seconds = following.ts - row.ts
    else:
        seconds = 0.0
    kwh = row.power_w * seconds / 3.6e6
    return row, kwh, tariff.cost(kwh, datetime.fromtimestamp(row.ts))
