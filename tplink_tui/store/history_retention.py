"""History retention: how long each tier keeps rows, and folding rows down a tier.

``raw`` rows are folded into 1-minute buckets after ``Retention.raw``, minute
buckets into hourly ones after ``Retention.minute``; hourly rows are kept unless
``Retention.hourly`` is set. A bucket stores the energy of the segments that
*start* in it, computed from the rows it replaces, so an integral is the same
before and after a fold (``HistoryStore.prune`` runs these, one series at a time).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = [
    "HOUR_MS",
    "MINUTE_MS",
    "MINUTE_TO_HOUR",
    "RAW_TO_MINUTE",
    "TIERS",
    "PruneStats",
    "Retention",
    "fold",
]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
TIERS = (("hour", HOUR_MS), ("minute", MINUTE_MS))
"""The bucket tables with their bucket length in ms, coarsest first."""


@dataclass(frozen=True)
class Retention:
    """How long each tier keeps data, in seconds (``hourly=None``: forever).

    Raw rows dominate the size (200 devices at 1 Hz write 17 M rows a day), so raw
    is kept only for what the live views need; minute means cover two weeks of
    detail and hourly means keep the long view: about 0.45 GB a year for 200
    devices polled every second, half that at the default 2 s.
    """

    raw: float = 6 * 3600
    minute: float = 14 * 86400
    hourly: float | None = None

    def __post_init__(self) -> None:
        if self.raw <= 0 or self.minute < self.raw:
            raise ValueError("retention: need 0 < raw <= minute")
        if self.hourly is not None and self.hourly < self.minute:
            raise ValueError("retention: hourly must be None or >= minute")


@dataclass
class PruneStats:
    """What one prune() did (row counts)."""

    raw_aggregated: int = 0
    minute_aggregated: int = 0
    hour_deleted: int = 0
    seconds: float = 0.0


# --------------------------------------------------------------------------- SQL

_MERGE = """
ON CONFLICT (series, ts) DO UPDATE SET
    {means},
    total_mwh = coalesce(excluded.total_mwh, total_mwh),
    energy_wh = energy_wh + excluded.energy_wh,
    counter_wh = counter_wh + excluded.counter_wh,
    n = n + excluded.n
"""
_MEAN = (
    "{c} = CASE WHEN excluded.{c} IS NULL THEN {c} WHEN {c} IS NULL THEN excluded.{c}"
    " ELSE round(({c} * n + excluded.{c} * excluded.n) * 1.0 / (n + excluded.n)) END"
)
_MERGE_SQL = _MERGE.format(
    means=",\n    ".join(_MEAN.format(c=c) for c in ("power_mw", "voltage_mv", "current_ma"))
)
_COLUMNS = "series, ts, n, power_mw, voltage_mv, current_ma, total_mwh, energy_wh, counter_wh"

# Raw -> minute. lead() sees one row past the cutoff so the segment crossing it is
# counted in the last bucket; the bare total_mwh comes from the row with max(ts).
RAW_TO_MINUTE = f"""
INSERT INTO minute ({_COLUMNS})
SELECT :sid, bucket, n, power_mw, voltage_mv, current_ma, total_mwh, energy_wh, counter_wh
FROM (
    SELECT ts - ts % {MINUTE_MS} AS bucket, count(*) AS n,
        round(avg(power_mw)) AS power_mw, round(avg(voltage_mv)) AS voltage_mv,
        round(avg(current_ma)) AS current_ma, max(ts) AS last_ts, total_mwh,
        total(seg_energy) AS energy_wh, total(seg_counter) AS counter_wh
    FROM (
        SELECT ts, power_mw, voltage_mv, current_ma, total_mwh,
            CASE WHEN next_ts - ts <= :gap
                THEN (power_mw + next_power) * (next_ts - ts) / 7.2e9 END AS seg_energy,
            CASE WHEN next_total >= total_mwh THEN (next_total - total_mwh) / 1000.0
                WHEN next_total < total_mwh THEN next_total / 1000.0 END AS seg_counter
        FROM (
            SELECT ts, power_mw, voltage_mv, current_ma, total_mwh,
                lead(ts) OVER w AS next_ts, lead(power_mw) OVER w AS next_power,
                lead(total_mwh) OVER w AS next_total
            FROM (
                SELECT ts, power_mw, voltage_mv, current_ma, total_mwh FROM raw
                WHERE series = :sid AND ts < :cutoff
                UNION ALL
                SELECT * FROM (
                    SELECT ts, power_mw, voltage_mv, current_ma, total_mwh FROM raw
                    WHERE series = :sid AND ts >= :cutoff ORDER BY ts LIMIT 1
                )
            )
            WINDOW w AS (ORDER BY ts)
        )
        WHERE ts < :cutoff
    )
    GROUP BY bucket
) WHERE true
{_MERGE_SQL}
"""

MINUTE_TO_HOUR = f"""
INSERT INTO hour ({_COLUMNS})
SELECT :sid, bucket, n, power_mw, voltage_mv, current_ma, total_mwh, energy_wh, counter_wh
FROM (
    SELECT ts - ts % {HOUR_MS} AS bucket, sum(n) AS n,
        round(sum(power_mw * n) * 1.0 / sum(CASE WHEN power_mw IS NOT NULL THEN n END))
            AS power_mw,
        round(sum(voltage_mv * n) * 1.0 / sum(CASE WHEN voltage_mv IS NOT NULL THEN n END))
            AS voltage_mv,
        round(sum(current_ma * n) * 1.0 / sum(CASE WHEN current_ma IS NOT NULL THEN n END))
            AS current_ma,
        max(ts) AS last_ts, total_mwh,
        total(energy_wh) AS energy_wh, total(counter_wh) AS counter_wh
    FROM minute WHERE series = :sid AND ts < :cutoff
    GROUP BY bucket
) WHERE true
{_MERGE_SQL}
"""


def fold(
    conn: sqlite3.Connection, sid: int, table: str, cutoff: int, sql: str, params: dict[str, int]
) -> int:
    """Move one series' rows of ``table`` older than ``cutoff`` (ms) down a tier.

    ``sql`` is ``RAW_TO_MINUTE`` or ``MINUTE_TO_HOUR``; one transaction, so the tiers
    never overlap in time. Returns the rows folded (0 without opening a transaction
    when there are none, the common case)."""
    probe = f"SELECT 1 FROM {table} WHERE series = ? AND ts < ? LIMIT 1"
    if conn.execute(probe, (sid, cutoff)).fetchone() is None:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(sql, {"sid": sid, "cutoff": cutoff, **params})
    deleted: int = conn.execute(
        f"DELETE FROM {table} WHERE series = ? AND ts < ?", (sid, cutoff)
    ).rowcount
    conn.execute("COMMIT")
    return deleted
