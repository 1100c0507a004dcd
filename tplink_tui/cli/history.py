"""``tplink-tui history``: export the recorded energy history, and prune it.

The database is ``history.sqlite3`` in ``$TPLINK_TUI_DATA_DIR`` when set, else in
the user data folder (platformdirs).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from .. import untrusted
from ..address import format_address, parse_address
from ..errors import ConfigError, UsageError
from ..store.config import ConfigStore
from ..store.history import HistoryRow, HistoryStore, Retention, default_history_path
from ..store.history_export import priced_rows
from ..tariff import Tariff
from .main import verb

FIELDS = (
    "device",
    "outlet",
    "time",
    "ts",
    "power_w",
    "voltage_v",
    "current_a",
    "total_kwh",
    "resolution_s",
)
COST_FIELDS = ("kwh", "cost", "currency")  # with a tariff in the settings
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}

_EPILOG = """\
times: ISO dates or times (2024-05-01, 2024-05-01T18:30, with or without a UTC
offset; local time when none), relative ages (90m, 24h, 7d, 2w), 'now', or unix
seconds.

columns: device (host:port), outlet (empty for the whole device; 0-based), time
(ISO, local), ts (unix s), power_w, voltage_v, current_a, total_kwh (the device's
own counter), resolution_s (0 for a raw reading, 60 or 3600 for a bucket mean).
with a tariff in the settings (the dashboard's $ key), also kwh (the energy the
row stands for: a bucket its length, a raw reading the time to the next one,
gaps over 2 min not joined), cost (kwh at that moment's price) and currency.

the database is {path} (set TPLINK_TUI_DATA_DIR to use another folder).
exit codes: 0 success, 2 usage error, 4 the database cannot be used.
"""


def parse_time(text: str, now: float | None = None) -> float:
    """Unix seconds from an ISO date/time, a relative age like ``24h``, 'now' or a number.

    UsageError (a ValueError) when it is none of those.
    """
    now = time.time() if now is None else now
    value = text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.match(value)
    if match:
        return now - float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise UsageError(f"cannot read the time {text!r}: not a finite number of seconds")
        return number
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"cannot read the time {text!r}: use an ISO date/time such as 2024-05-01T18:30,"
            " or an age such as 24h or 7d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive means local time
    return moment.timestamp()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``history export`` and ``history prune``."""
    epilog = _EPILOG.format(path=default_history_path())
    parser = subparsers.add_parser(
        "history",
        help="export or prune the recorded energy history",
        description="The energy history recorded while the dashboard or watch polls.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="history_verb", metavar="ACTION", required=True)

    p = verbs.add_parser(
        "export",
        help="write recorded readings to stdout as CSV or JSON",
        description="Write recorded readings to stdout, oldest first per device and outlet.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", metavar="NAME_OR_HOST", help="a saved name or host[:port]")
    p.add_argument(
        "--outlet",
        type=int,
        metavar="N",
        help="0-based strip outlet; -1 for the whole-device readings (default: all)",
    )
    p.add_argument("--since", metavar="TIME", help="start time (see below)")
    p.add_argument("--until", metavar="TIME", help="end time (see below)")
    p.add_argument(
        "--format",
        choices=("csv", "json"),
        default=None,
        help="output format (default csv; json with --json)",
    )
    p.set_defaults(func=run)

    p = verbs.add_parser(
        "prune",
        help="downsample old readings and drop expired ones",
        description="Fold raw readings older than --raw-hours into 1-minute means, minute"
        " means older than --minute-days into hourly means, and drop hourly means older"
        " than --hour-days (kept forever by default).",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    default = Retention()
    p.add_argument("--raw-hours", type=float, default=default.raw / 3600, metavar="H")
    p.add_argument("--minute-days", type=float, default=default.minute / 86400, metavar="D")
    p.add_argument("--hour-days", type=float, default=None, metavar="D")
    p.set_defaults(func=run)


@verb
def run(args: argparse.Namespace) -> int:
    """Dispatch to export or prune."""
    if getattr(args, "history_verb", None) == "prune":
        return _prune(args)
    return _export(args)


def resolve_device(text: str) -> str:
    """The history key (host:port) for a saved device name or a host[:port]."""
    try:
        saved = ConfigStore().load().find(text)
    except ConfigError:
        saved = None  # a broken config must not stop an export by host
    if saved is not None:
        return saved.address
    try:
        host, port = parse_address(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return format_address(host, port)


def _export(args: argparse.Namespace) -> int:
    now = time.time()
    since = parse_time(args.since, now) if args.since else None
    until = parse_time(args.until, now) if args.until else None
    if since is not None and until is not None and until < since:
        raise UsageError("--until is before --since")
    device = resolve_device(args.device) if args.device else None
    fmt = args.format or ("json" if getattr(args, "json", False) else "csv")
    tariff = _tariff()
    path = default_history_path()
    rows: Iterator[HistoryRow] = iter(())
    store: HistoryStore | None = None
    if path.exists():
        store = HistoryStore(path)
        if device is not None and not any(d == device for d, _ in store.series()):
            print(f"tplink-tui: note: no history recorded for {device}", file=sys.stderr)
        rows = store.export(device=device, outlet=args.outlet, since=since, until=until)
    else:
        print(f"tplink-tui: note: no history yet ({path} does not exist)", file=sys.stderr)
    try:
        (_write_json if fmt == "json" else _write_csv)(rows, sys.stdout, tariff)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, less) went away: not an error. Keep Python from complaining.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        if store is not None:
            store.close()
    return 0


def _tariff() -> Tariff | None:
    """The saved tariff, if any (a broken config only means no cost columns)."""
    try:
        return ConfigStore().load().settings.tariff
    except ConfigError:
        return None


def _record(row: HistoryRow) -> dict[str, Any]:
    return {
        "device": row.device,
        "outlet": row.outlet,
        "time": datetime.fromtimestamp(row.ts).astimezone().isoformat(timespec="milliseconds"),
        "ts": row.ts,
        "power_w": row.power_w,
        "voltage_v": row.voltage_v,
        "current_a": row.current_a,
        "total_kwh": row.total_kwh,
        "resolution_s": row.resolution,
    }


def _records(rows: Iterator[HistoryRow], tariff: Tariff | None) -> Iterator[dict[str, Any]]:
    if tariff is None:
        yield from (_record(row) for row in rows)
        return
    for row, kwh, cost in priced_rows(rows, tariff):
        record = _record(row)
        record.update(
            kwh=None if kwh is None else round(kwh, 9),
            cost=None if cost is None else round(cost, 9),
            currency=tariff.currency,
        )
        yield record


def _write_csv(rows: Iterator[HistoryRow], out: TextIO, tariff: Tariff | None = None) -> None:
    fields = FIELDS + (COST_FIELDS if tariff is not None else ())
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in _records(rows, tariff):
        writer.writerow(record)


def _write_json(rows: Iterator[HistoryRow], out: TextIO, tariff: Tariff | None = None) -> None:
    """One JSON array, streamed: a year of history never sits in memory."""
    out.write("[")
    first = True
    for record in _records(rows, tariff):
        out.write("\n  " if first else ",\n  ")
        out.write(untrusted.dumps(record))
        first = False
    out.write("\n]\n" if not first else "]\n")


def _prune(args: argparse.Namespace) -> int:
    given = (args.raw_hours, args.minute_days, args.hour_days)
    if not all(math.isfinite(v) for v in given if v is not None):
        raise UsageError("--raw-hours, --minute-days and --hour-days must be finite numbers")
    if args.raw_hours <= 0 or args.minute_days * 24 < args.raw_hours:
        raise UsageError("need 0 < --raw-hours <= --minute-days * 24")
    if args.hour_days is not None and args.hour_days < args.minute_days:
        raise UsageError("--hour-days must be at least --minute-days")
    retention = Retention(
        raw=args.raw_hours * 3600,
        minute=args.minute_days * 86400,
        hourly=None if args.hour_days is None else args.hour_days * 86400,
    )
    with HistoryStore(retention=retention) as store:
        stats = store.prune()
        counts = store.counts()
    result = {
        "raw_aggregated": stats.raw_aggregated,
        "minute_aggregated": stats.minute_aggregated,
        "hour_deleted": stats.hour_deleted,
        "seconds": round(stats.seconds, 3),
        "rows": {k: counts[k] for k in ("raw", "minute", "hour")},
        "bytes": counts["bytes"],
        "path": str(store.path),
    }
    if getattr(args, "json", False):
        print(untrusted.dumps(result, indent=2))
    else:
        print(
            f"Pruned {store.path}: {stats.raw_aggregated} raw readings folded into minutes,"
            f" {stats.minute_aggregated} minute means into hours,"
            f" {stats.hour_deleted} hourly means dropped ({stats.seconds:.2f} s).\n"
            f"Now {counts['raw']} raw, {counts['minute']} minute, {counts['hour']} hourly rows;"
            f" {counts['bytes'] / 1e6:.1f} MB."
        )
    return 0
