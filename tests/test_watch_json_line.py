"""``watch --json``'s fast line is the general line, byte for byte, whatever the values.

``snapshot_json`` builds the object in one go and rounds through a cache; the
general ``dumps(snapshot_dict(...))`` (which ``info --json`` shares) is the
reference. Hostile strings, noisy floats, ±0.0, NaN, infinities, integers and
values over 64 bits must all come out the same.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tplink_tui.cli import common
from tplink_tui.cli import watch_json as watch
from tplink_tui.cli.common import Target
from tplink_tui.devices.models import DeviceState, EnergyReading, parse_sysinfo
from tplink_tui.monitor import Snapshot, Status
from tplink_tui.untrusted import dumps

HOSTILE = 'Lamp\x1b[2J"%s{0}\\\u202e\ud800\x7f'

values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0.0, -0.0, 0.1 + 0.2, 11.463000000000001, 1e-7, 5e-6, 1e16, 2.5e-7]),
)
readings = st.one_of(st.none(), st.builds(EnergyReading, values, values, values, values))
texts = st.one_of(st.text(max_size=12), st.just(HOSTILE))


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch._clock, "now", lambda: "2026-12-02T10:00:00.000+01:00")


def reference(target: Target, snap: Snapshot) -> str:
    return dumps(watch.snapshot_dict(target, snap), compact=True)


def strip_info(aliases: list[str]) -> Any:
    children = [
        {"id": f"X0{i}", "alias": alias, "state": i % 2, "on_time": i * 7}
        for i, alias in enumerate(aliases)
    ]
    return parse_sysinfo(
        {
            "model": "HS300(US)",
            "alias": aliases[0],
            "mac": "68:FF:7B:2A:3D:47",
            "feature": "TIM:ENE",
            "rssi": -60,
            "children": children,
        }
    )


def plug_info(alias: str) -> Any:
    return parse_sysinfo(
        {
            "model": "HS110(US)",
            "alias": alias,
            "mac": "50:C7:BF:00:00:01",
            "feature": "TIM:ENE",
            "relay_state": 1,
            "on_time": 42,
            "rssi": -50,
        }
    )


@settings(max_examples=300, deadline=None)
@given(alias=texts, meter=readings, name=st.one_of(st.none(), texts))
def test_plug_line_is_the_reference(alias: str, meter: EnergyReading | None, name: Any) -> None:
    target = Target("127.0.0.1", 9999, name=name, transport="xor")
    state = DeviceState(plug_info(alias), meter, {}, 0.0)
    snap = Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.ONLINE, state=state)
    assert watch.snapshot_json(target, snap) == reference(target, snap)


@settings(max_examples=300, deadline=None)
@given(
    aliases=st.lists(texts, min_size=1, max_size=6),
    per_outlet=st.lists(readings, min_size=6, max_size=6),
)
def test_strip_line_is_the_reference(
    aliases: list[str], per_outlet: list[EnergyReading | None]
) -> None:
    target = Target("127.0.0.1", 9999, transport="xor")
    outlet_energy = {i: r for i, r in enumerate(per_outlet[: len(aliases)]) if r is not None}
    state = DeviceState(strip_info(aliases), None, outlet_energy, 0.0)
    snap = Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.ONLINE, state=state)
    assert watch.snapshot_json(target, snap) == reference(target, snap)


@settings(max_examples=500, deadline=None)
@given(value=values)
def test_round6_is_round_to_6_places(value: Any) -> None:
    """The remembered rounding (both JSON paths use it) is ``round(x, 6)``: value, type, sign."""
    for _ in range(2):  # the first time rounds, the second remembers
        got, expected = common.round6(value), None if value is None else round(value, 6)
        assert type(got) is type(expected)
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == expected
        if isinstance(expected, float):
            assert math.copysign(1, got) == math.copysign(1, expected)


def test_the_rounding_cache_keeps_types_and_signs() -> None:
    """5 and 5.0, 0.0 and -0.0 are equal dict keys: the line must still tell them apart."""
    target = Target("127.0.0.1", 9999)
    for first, second in ((5.0, 5), (0.0, -0.0), (-0.0, 0.0), (True, 1.0)):
        for value in (first, second):
            state = DeviceState(plug_info("P"), EnergyReading(value, value, None, value), {}, 0.0)
            snap = Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.ONLINE, state=state)
            line = watch.snapshot_json(target, snap)
            assert line == reference(target, snap)
            assert json.loads(line)["power_w"] == value
            assert math.copysign(1, json.loads(line)["power_w"]) == math.copysign(1, value)


def test_noise_is_rounded_and_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_ROUNDED_MAX", 8)
    monkeypatch.setattr(common, "_ROUNDED", {})
    target = Target("127.0.0.1", 9999)
    for i in range(50):
        noisy = 0.1 * i + 0.2
        state = DeviceState(plug_info("P"), EnergyReading(noisy, None, None, None), {}, 0.0)
        snap = Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.ONLINE, state=state)
        line = watch.snapshot_json(target, snap)
        assert line == reference(target, snap)
        assert json.loads(line)["power_w"] == round(noisy, 6)
        assert len(common._ROUNDED) <= 8


def test_offline_and_errors_take_the_general_line() -> None:
    target = Target("127.0.0.1", 9999, name=HOSTILE)
    state = DeviceState(plug_info(HOSTILE), EnergyReading(1.0, 2.0, 3.0, 4.0), {}, 0.0)
    for snap in (
        Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.OFFLINE, state=state, error="gone"),
        Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.ONLINE, state=state, error=HOSTILE),
        Snapshot("127.0.0.1:9999", "127.0.0.1", 9999, Status.ONLINE),
    ):
        line = watch.snapshot_json(target, snap)
        assert line == reference(target, snap)
        assert "\x1b" not in line


@pytest.mark.parametrize("stamp", [1_764_000_000.0, 1_764_000_000.0005, 1_764_000_000.9999, 1.5])
def test_the_clock_is_isoformat_to_the_millisecond(
    monkeypatch: pytest.MonkeyPatch, stamp: float
) -> None:
    from datetime import datetime

    clock = watch._Clock()
    monkeypatch.setattr(watch.time, "time", lambda: stamp)
    expected = datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="milliseconds")
    assert clock.now() == expected
