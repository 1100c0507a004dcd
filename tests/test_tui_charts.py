"""The power chart and the energy view: real axes, shared scales, ranges, whole strip, Wh."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from rich.table import Table
from test_tui_app import wait_for
from textual.widgets import Static, Switch

from tplink_tui.devices.client import DeviceClient
from tplink_tui.monitor import Monitor
from tplink_tui.simulator import Simulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.history import HistoryStore
from tplink_tui.store.history_db import Reading
from tplink_tui.tariff import Tariff
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.chart_data import ChartSeries
from tplink_tui.tui.sample import TODAY, SampleApp
from tplink_tui.tui.screens.energy import EnergyScreen, device_stats, energy_text
from tplink_tui.tui.widgets.detail import OutletRow
from tplink_tui.tui.widgets.energy_bars import EnergyBars, energy_unit
from tplink_tui.tui.widgets.power_chart import PowerChart, ago

SIZE = (120, 36)


def sample(tmp_path: Path) -> SampleApp:
    return SampleApp(ConfigStore(tmp_path / "config.json"))


def chart_of(app: TplinkApp) -> PowerChart:
    return app.detail.query_one("#power-chart", PowerChart)


async def test_a_strip_is_one_chart_on_one_scale(tmp_path: Path) -> None:
    app = sample(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")  # the Office strip
        await wait_for(pilot, lambda: chart_of(app).chart is not None)
        await wait_for(pilot, lambda: chart_of(app).built)  # built on a thread
        chart = chart_of(app)
        assert chart.chart is not None
        series = chart.chart.series
        assert sorted(series) == [0, 1, 2, 3, 4, 5]  # every outlet, overlaid
        assert all(series[i] for i in (0, 1, 3, 4, 5))
        # One scale: the axis reaches the printer's 310 W peak, so the router's 7 W is low.
        drawn = chart.render().plain  # type: ignore[union-attr]
        assert "400 W" in drawn and "0 W" in drawn and "100 W" in drawn
        assert "-5m" in drawn and "now" in drawn  # the time axis
        builds = chart.builds
        chart.render()
        chart.render()
        assert chart.builds == builds  # a repaint with the same data is a cache hit


async def test_range_keys_and_the_history_behind_them(simulator: Simulator, tmp_path: Path) -> None:
    plug = await simulator.add("hs110", "Fridge")
    key = f"{plug.host}:{plug.port}"
    history_path = tmp_path / "history.sqlite3"
    now = time.time()
    with HistoryStore(history_path) as store:  # 40 minutes ago a 500 W kettle ran
        store.insert(Reading(key, None, now - 2400 + 10 * i, 500.0) for i in range(30))
    config = ConfigStore(tmp_path / "config.json")
    config.add_device(SavedDevice("Fridge", plug.host, plug.port))
    app = TplinkApp(config, monitor=Monitor(interval=0.2, timeout=0.5), history_path=history_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.views[key].online)
        app.select_device(key)
        await wait_for(pilot, lambda: chart_of(app).chart is not None)
        live = chart_of(app).chart
        assert live is not None and live.span == 300 and live.top() < 500
        await pilot.press("2")  # 1 hour, from the history
        assert app.controller.chart_range == 1
        await wait_for(
            pilot,
            lambda: (
                (c := chart_of(app).chart) is not None and c.source == "history" and c.top() == 500
            ),
        )
        shown = chart_of(app).chart
        assert shown is not None and shown.span == 3600 and shown.source == "history"
        assert "2:1h" in str(app.detail.query_one("#power-label").render())
        await pilot.press("right_square_bracket")
        assert app.controller.chart_range == 2
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.controller.chart_range == 0
        await pilot.press("4")
        assert app.controller.chart_range == 3
        await wait_for(pilot, lambda: (c := chart_of(app).chart) is not None and c.span == 604800)


async def test_a_build_draws_the_data_its_key_was_taken_from(tmp_path: Path) -> None:
    """The selection moving on and back while a chart builds on its thread: the picture
    kept under a device's key is that device's (the sample's Desk once showed the
    Fridge's curve this way, and kept it, as the key matched)."""
    now = time.time()
    low = ChartSeries(300.0, now, {-1: [(now - 9, 10.0), (now, 10.0)]}, {-1: "Lamp"})
    high = ChartSeries(300.0, now, {-1: [(now - 9, 300.0), (now, 300.0)]}, {-1: "Lamp"})
    app = sample(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chart = chart_of(app)
        chart.show(low)
        await wait_for(pilot, lambda: chart.built)
        with chart._lock:  # the build thread waits here, as behind a slow build
            chart.show(high)
            chart.render()  # the build for the 300 W key is asked for ...
            await pilot.pause(0.2)
            chart.show(low)  # ... and the data moves back before it runs
        time.sleep(0.5)  # the loop busy: the thread draws now, the widget shows `low`
        chart.show(high)
        await wait_for(pilot, lambda: chart.built)
        drawn = chart.render().plain  # type: ignore[union-attr]
        assert "300 W" in drawn and "10 W" not in drawn


def test_axis_words() -> None:
    assert [ago(s) for s in (0, -30, -300, -5400, -86400 * 2)] == [
        "now",
        "-30s",
        "-5m",
        "-1.5h",
        "-2d",
    ]
    assert energy_unit([0.2, 0.9]) == ("Wh", 1000.0)
    assert energy_unit([0.2, 1.4]) == ("kWh", 1.0)
    assert energy_text(0.6) == "600 Wh" and energy_text(0.0032) == "3.2 Wh"
    assert energy_text(12.345) == "12.35 kWh"


async def test_energy_view_whole_strip_then_each_outlet(tmp_path: Path) -> None:
    app = sample(tmp_path)
    app.controller.tariff = Tariff(0.30, "EUR")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "e")  # the strip, from the list: the whole strip
        await wait_for(pilot, lambda: isinstance(app.screen, EnergyScreen))
        screen = app.screen
        assert isinstance(screen, EnergyScreen)
        await wait_for(pilot, lambda: screen.report is not None)
        await pilot.pause(0.1)
        assert screen.scope is None
        await pilot.pause(0.2)
        days = screen.query_one("#energy-days", EnergyBars)
        assert days.labels[0] == "4"  # from the first day with data, not the 1st
        whole = sum(days.values)
        assert "whole strip" in str(screen.query_one("#energy-scope").render())
        totals = str(screen.query_one("#energy-totals").render())
        assert "EUR" in totals and "Today" in totals and "This month" in totals
        table = screen.query_one("#energy-table", Static).content
        assert isinstance(table, Table)
        assert [c.header for c in table.columns] == ["day", "energy", "cost"]
        assert all("EUR" in str(cell) for cell in table.columns[2].cells)
        parts = []
        for outlet in range(6):
            await pilot.press("right")
            await wait_for(pilot, lambda o=outlet: screen.scope == o)  # type: ignore[misc]
            await pilot.pause(0.15)
            parts.append(sum(days.values))
            assert f"outlet {outlet}" in str(screen.query_one("#energy-scope").render())
        assert sum(parts) == pytest.approx(whole, rel=0.01)
        await pilot.press("h")  # our history instead of the device's counters
        assert screen.ours
        await pilot.press("escape")
        assert not isinstance(app.screen, EnergyScreen)
    assert TODAY.day == 22


async def test_whole_strip_statistics_add_up_the_outlets(simulator: Simulator) -> None:
    strip = await simulator.add("hs300", "Office strip")
    client = DeviceClient(strip.host, strip.port, 2.0)
    try:
        await client.get_sysinfo()
        load = device_stats(client, None)
        today = date.today()
        whole = await load(today, None, None)
        assert [i for i, _ in whole.outlets] == [0, 1, 2, 3, 4, 5]
        assert whole.device_error is None
        parts = [await load(today, i, None) for i in range(6)]
        total = sum(s.energy_kwh for s in whole.device_days)
        assert total == pytest.approx(
            sum(s.energy_kwh for p in parts for s in p.device_days), rel=1e-6
        )
    finally:
        client.connection.abort()


async def test_energy_view_opens_on_the_focused_outlet(tmp_path: Path) -> None:
    app = sample(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await wait_for(pilot, lambda: len(app.query(OutletRow)) == 6)
        rows = list(app.query(OutletRow))
        rows[2].query_one(Switch).focus()
        await pilot.pause()
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EnergyScreen))
        screen = app.screen
        assert isinstance(screen, EnergyScreen) and screen.scope == 2
        await wait_for(pilot, lambda: screen.report is not None)
        assert "outlet 2" in str(screen.query_one("#energy-scope").render())
