"""Day and month energy statistics over the smart dialect (``get_energy_data``).

The client asks for the spans the firmware takes (a quarter's days, a year's
months) and reports them as the old protocol's day and month lists; a strip
with no outlet named is summed over its outlets. Checked against the simulated
meter's own numbers, over real HTTP, and through the CLI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest
from cli_helpers import addr, cli, cli_json, error_line
from test_newer_cli import LOGIN, NewerThread, transport

from tplink_tui import DeviceClient, NotSupported, ProtocolError
from tplink_tui.devices import smart_energy
from tplink_tui.errors import UsageError
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerDevice, NewerSimulator
from tplink_tui.simulator.newer.energy import energy_spans
from tplink_tui.simulator.newer.profiles import NEWER_PROFILES
from tplink_tui.simulator.newer.smart_device import SmartDevice
from tplink_tui.transports import Credentials

GOOD = Credentials(TEST_USERNAME, TEST_PASSWORD)


@pytest.fixture
async def sim() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


@pytest.fixture
def newer() -> Iterator[NewerThread]:
    thread = NewerThread()
    try:
        yield thread
    finally:
        thread.close()


def client_for(dev: NewerDevice) -> DeviceClient:
    return DeviceClient(dev.host, dev.port, 2.0, credentials=GOOD)


def state(dev: NewerDevice) -> SmartDevice:
    assert isinstance(dev.state, SmartDevice)
    return dev.state


def expected_days(device: SmartDevice, index: int, year: int, month: int) -> dict[int, float]:
    meter = device.outlets[index].meter
    today = date.today()
    days = [date(year, month, d) for d in range(1, 32) if _valid(year, month, d)]
    return {d.day: round(meter.day_wh(d)) / 1000 for d in days if d <= today}


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("model", ["kp125m", "ep25", "p110"])
async def test_plug_days_and_months_match_the_meter(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)
    today = date.today()
    async with client_for(dev) as client:
        days = await client.day_stats(today.year, today.month)
        months = await client.month_stats(today.year)
    got = {s.day: s.energy_kwh for s in days}
    want = expected_days(state(dev), 0, today.year, today.month)
    assert set(got) == set(want) and got[today.day] > 0
    for day, kwh in want.items():
        assert got[day] == pytest.approx(kwh, abs=0.002)  # today keeps counting
    assert all(s.year == today.year and s.month == today.month for s in days)
    this_month = next(s for s in months if s.month == today.month)
    assert this_month.day is None
    assert this_month.energy_kwh == pytest.approx(sum(got.values()), abs=0.01)
    assert all(s.energy_kwh > 0 for s in months)  # empty months left out, as get_monthstat


async def test_a_past_month_in_another_quarter(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m", seed=29)  # its meter's history reaches back 350 days
    today = date.today()
    back = today.year * 12 + today.month - 1 - 4  # four months ago: another quarter
    year, month = divmod(back, 12)
    month += 1
    async with client_for(dev) as client:
        days = await client.day_stats(year, month)
    want = expected_days(state(dev), 0, year, month)
    assert [s.day for s in days] == sorted(want)  # every day of a past month
    assert {s.day: s.energy_kwh for s in days} == pytest.approx(want)
    assert all(s.energy_kwh > 0 for s in days)


async def test_strip_outlet_and_whole_strip(sim: NewerSimulator) -> None:
    dev = await sim.add("p316m")
    today = date.today()
    async with client_for(dev) as client:
        per_outlet = [await client.day_stats(today.year, today.month, i) for i in range(6)]
        whole = await client.day_stats(today.year, today.month)
        by_name = await client.day_stats(today.year, today.month, "Plug 3")
        months = await client.month_stats(today.year)
        outlet_months = await client.month_stats(today.year, 0)
    assert by_name == per_outlet[2]
    for index, stats in enumerate(per_outlet):
        want = expected_days(state(dev), index, today.year, today.month)
        assert {s.day: s.energy_kwh for s in stats} == pytest.approx(want, abs=0.002)
    summed = {s.day: s.energy_kwh for s in whole}
    for day in summed:
        parts = sum(next(s.energy_kwh for s in stats if s.day == day) for stats in per_outlet)
        assert summed[day] == pytest.approx(parts, abs=0.01)
    assert sum(s.energy_kwh for s in months) > sum(s.energy_kwh for s in outlet_months) > 0


async def test_no_meter_old_firmware_and_bad_periods(sim: NewerSimulator) -> None:
    strip = await sim.add("p300")
    async with client_for(strip) as client:
        with pytest.raises(NotSupported, match="energy meter"):
            await client.day_stats(2026, 5)
    plug = await sim.add("p110")
    del state(plug)._methods["get_energy_data"]  # firmware without the method
    async with client_for(plug) as client:
        with pytest.raises(NotSupported, match="statistics"):
            await client.month_stats(2026)
        with pytest.raises(UsageError):
            await client.day_stats(2026, 13)
        with pytest.raises(UsageError):
            await client.month_stats(1999)
        assert (await client.update()).sysinfo.model == "P110"  # the session still works


@pytest.mark.parametrize(
    "data",
    [None, "lots", [1, "two"], [1, -5], [float("inf")], list(range(500)), [True]],
    ids=["missing", "string", "text entry", "negative", "infinite", "too long", "bool"],
)
async def test_garbage_data_is_a_protocol_error(sim: NewerSimulator, data: object) -> None:
    dev = await sim.add("kp125m")
    state(dev)._methods["get_energy_data"] = lambda outlet, params: {"data": data}
    async with client_for(dev) as client:
        with pytest.raises(ProtocolError, match=dev.host):
            await client.day_stats(2026, 5)
        assert (await client.get_sysinfo()).model == "KP125M"


def test_request_spans_match_the_firmware_rules() -> None:
    first, last = smart_energy.quarter_span(2026, 5)
    assert (first, last) == (date(2026, 4, 1), date(2026, 6, 30))
    assert smart_energy.quarter_span(2024, 12) == (date(2024, 10, 1), date(2024, 12, 31))
    params = smart_energy.get_energy_data(first, last, smart_energy.DAILY)["params"]
    # 2026-04-01 00:00 and 2026-06-30 23:59:59, local time counted as UTC
    assert params == {"start_timestamp": 1775001600, "end_timestamp": 1782863999, "interval": 1440}


def test_simulated_spans_refuse_what_firmware_refuses() -> None:
    meter = SmartDevice(NEWER_PROFILES["p110"], seed=3).outlets[0].meter
    today = date(2026, 5, 10)
    daily = energy_spans(meter, date(2026, 4, 1), date(2026, 6, 30), 1440, today)
    assert len(daily) == 91 and daily[40:] == [0] * 51  # May 11 on is in the future
    assert len(energy_spans(meter, date(2026, 1, 1), date(2026, 12, 1), 43200, today)) == 12
    hourly = energy_spans(meter, date(2026, 5, 1), date(2026, 5, 2), 60, today)
    assert len(hourly) == 48
    for first, last, interval in [
        (date(2026, 5, 1), date(2026, 6, 30), 1440),
        (date(2026, 2, 1), date(2026, 12, 1), 43200),
        (date(2026, 5, 1), date(2026, 5, 20), 60),
        (date(2026, 5, 1), date(2026, 5, 1), 5),
    ]:
        with pytest.raises(ValueError):
            energy_spans(meter, first, last, interval, today)


def test_cli_month_and_year(newer: NewerThread, capsys: pytest.CaptureFixture[str]) -> None:
    today = date.today()
    plug = newer.add("kp125m")
    args = (addr(plug), *transport(plug), *LOGIN)
    month = f"{today.year}-{today.month:02d}"
    data = cli_json(capsys, "energy", *args, "--month", month)
    assert data["days"][-1]["day"] == today.day and data["total_kwh"] > 0
    months = cli_json(capsys, "energy", *args, "--year", str(today.year))
    assert months["months"] and months["total_kwh"] >= data["total_kwh"]
    strip = newer.add("p316m")
    sargs = (addr(strip), *transport(strip), *LOGIN)
    one = cli_json(capsys, "energy", *sargs, "--month", month, "--outlet", "1")
    assert one["outlet"]["index"] == 1 and one["days"]
    code, out, err = cli(capsys, "energy", *sargs, "--month", month)
    assert code == 0 and "total" in out, err
    bare = newer.add("p300")
    code, out, err = cli(capsys, "energy", addr(bare), *transport(bare), *LOGIN, "--year", "2026")
    assert code == 1 and out == ""
    error_line(err)


def test_dashboard_discovery_ports_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dashboard's scan ports come from the environment; a bad one is one line, exit 2."""
    from tplink_tui.cli.main import main
    from tplink_tui.tui import app as app_module

    seen: dict[str, object] = {}

    def fake_run(self: app_module.TplinkApp) -> None:  # no terminal here: record, don't draw
        seen["port"] = self.discovery_port
        seen["klap"] = self.dialogs.new_protocol_port
        seen["target"] = self.discovery_target

    monkeypatch.setattr(app_module.TplinkApp, "run", fake_run)
    monkeypatch.setenv("TPLINK_TUI_DISCOVERY_TARGET", "127.255.255.255")
    monkeypatch.setenv("TPLINK_TUI_DISCOVERY_PORT", "19999")
    monkeypatch.setenv("TPLINK_TUI_KLAP_PORT", "20202")
    assert main([]) == 0
    assert seen == {"port": 19999, "klap": 20202, "target": "127.255.255.255"}
    monkeypatch.setenv("TPLINK_TUI_KLAP_PORT", "70000")
    assert main([]) == 2
    error_line(capsys.readouterr().err)
