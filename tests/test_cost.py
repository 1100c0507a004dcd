"""What the power costs: the tariff setting, its arithmetic, the export's cost columns."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from cli_helpers import cli

from tplink_tui.errors import ConfigError
from tplink_tui.store.config import ConfigStore
from tplink_tui.store.history import HistoryStore, default_history_path
from tplink_tui.store.history_db import Reading
from tplink_tui.tariff import Tariff, TariffError, parse_tariff, parse_tariff_text

NIGHT = Tariff(0.30, "EUR", night_price=0.10, night_start="22:00", night_end="06:00")


def test_tariff_text_and_json_round_trip() -> None:
    assert parse_tariff_text("0.30 EUR") == Tariff(0.30, "EUR")
    assert parse_tariff_text("0,25 €") == Tariff(0.25, "€")
    assert parse_tariff_text("0.30 EUR night 0.10 22:00-06:00") == NIGHT
    assert parse_tariff_text("") is None and parse_tariff_text("none") is None
    assert parse_tariff(NIGHT.to_dict()) == NIGHT
    assert NIGHT.describe() == "0.3 EUR/kWh, night 0.1 (22:00-06:00)"


@pytest.mark.parametrize(
    "text",
    ["cheap", "-1 EUR", "0.3 EUR night 0.1 25:00-06:00", "0.3 EUR night 0.1 06:00-06:00", "5000"],
)
def test_bad_tariff_text_says_what_is_wrong(text: str) -> None:
    with pytest.raises(TariffError):
        parse_tariff_text(text)


def test_night_rate_wraps_midnight_and_splits_spans() -> None:
    assert NIGHT.price_at(datetime(2026, 11, 22, 23, 30)) == 0.10
    assert NIGHT.price_at(datetime(2026, 11, 22, 5, 59)) == 0.10
    assert NIGHT.price_at(datetime(2026, 11, 22, 6, 0)) == 0.30
    pieces = list(NIGHT.spans(datetime(2026, 11, 22, 20, 0), datetime(2026, 11, 23, 8, 0)))
    assert [(a.hour, b.hour, p) for a, b, p in pieces] == [
        (20, 22, 0.30),
        (22, 6, 0.10),
        (6, 8, 0.30),
    ]

    def one_kw(since: float, until: float) -> float:  # a 1 kW load: kWh = hours
        return (until - since) / 3600

    cost = NIGHT.cost_between(one_kw, datetime(2026, 11, 22, 20), datetime(2026, 11, 23, 8))
    assert cost == pytest.approx(2 * 0.30 + 8 * 0.10 + 2 * 0.30)
    assert Tariff(0.3, "EUR").money(0.004) == "0.004 EUR"
    assert Tariff(0.3, "EUR").money(1.234) == "1.23 EUR"


def test_tariff_is_saved_in_the_settings_and_checked(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.json")
    assert store.load().settings.tariff is None  # default: no tariff, no cost anywhere
    assert "tariff" not in json.dumps(store.load().to_dict())
    store.update_settings(tariff=NIGHT.to_dict())
    assert ConfigStore(tmp_path / "config.json").load().settings.tariff == NIGHT
    with pytest.raises(ConfigError, match=r"tariff\.price"):
        store.update_settings(tariff={"price": "a lot"})
    assert store.load().settings.tariff == NIGHT  # the bad change was not written
    store.update_settings(tariff=None)
    assert store.load().settings.tariff is None


def test_a_broken_tariff_in_the_file_is_one_readable_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"settings": {"tariff": {"price": 0.3, "currency": "1 2"}}}))
    with pytest.raises(ConfigError, match=r"settings\.tariff\.currency"):
        ConfigStore(path).load()


def _record_history(now: float) -> None:
    """A 100 W reading every 60 s for 10 min: 10 intervals of 100 W x 60 s (1/60 kWh)."""
    with HistoryStore(default_history_path()) as store:
        store.insert(
            Reading("127.0.0.1:9999", None, now - 600 + 60 * i, 100.0, 230.0, 0.43, 1.0)
            for i in range(11)
        )


def test_export_has_cost_columns_only_with_a_tariff(capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    _record_history(now)
    code, out, err = cli(capsys, "history", "export")
    assert code == 0, err
    assert "cost" not in out.splitlines()[0]
    ConfigStore().update_settings(tariff={"price": 0.30, "currency": "EUR"})
    code, out, err = cli(capsys, "history", "export")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 11 and rows[0]["currency"] == "EUR"
    assert float(rows[0]["kwh"]) == pytest.approx(100 * 60 / 3.6e6)
    assert float(rows[-1]["kwh"]) == 0  # the last reading stands for no time yet
    total = sum(float(r["cost"]) for r in rows)
    assert total == pytest.approx(10 * 100 * 60 / 3.6e6 * 0.30)
    code, out, err = cli(capsys, "history", "export", "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    assert sum(r["cost"] for r in records) == pytest.approx(total)
    assert {"kwh", "cost", "currency"} <= set(records[0])


async def test_the_dashboard_asks_for_the_tariff_and_shows_a_cost_column(tmp_path: Path) -> None:
    from test_tui_app import wait_for
    from textual.widgets import Input

    from tplink_tui.tui.sample import SampleApp

    store = ConfigStore(tmp_path / "config.json")
    app = SampleApp(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        assert "cost" not in [str(k.value) for k in app.table.columns]  # default: none
        await pilot.press("dollar_sign")
        await wait_for(pilot, lambda: isinstance(app.focused, Input))
        box = app.focused
        assert isinstance(box, Input)
        box.value = "cheap"
        await pilot.press("enter")  # refused, with the reason, nothing saved
        assert isinstance(app.focused, Input) and app.controller.tariff is None
        box.value = "0.30 EUR"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.controller.tariff == Tariff(0.30, "EUR"))
        await wait_for(pilot, lambda: "cost" in [str(k.value) for k in app.table.columns])
        columns = [str(k.value) for k in app.table.columns]
        desk = next(k for k, v in app.views.items() if v.name == "Desk")
        assert app.table.get_row(desk)[columns.index("cost")].plain == "0.41 EUR"  # 1.37 kWh
        await wait_for(pilot, lambda: store.load().settings.tariff == Tariff(0.30, "EUR"))
