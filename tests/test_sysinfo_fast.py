"""The fast sysinfo and meter parsers (plain types, fields carried over from the last poll)
gives exactly what the careful one gives, or falls back to it: same errors too."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tplink_tui.devices.models import (
    EnergyReading,
    SysInfo,
    _careful_sysinfo,
    _scaled,
    parse_realtime,
    parse_sysinfo,
)
from tplink_tui.errors import ProtocolError
from tplink_tui.simulator.device import SimulatedDevice
from tplink_tui.simulator.profiles import PROFILES

SAMPLES = [
    SimulatedDevice(profile, seed=seed).sysinfo()
    for profile in PROFILES.values()
    for seed in (1, 2)
    if not getattr(profile, "newer", False)
]
NASTY: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**63,
    -(2**63) - 1,
    10**30,
    1.5,
    math.nan,
    math.inf,
    "",
    "x",
    "HS110(EU)",
    "TIM:ENE",
    "aa-bb-cc-dd-ee-ff",
    [],
    {},
    [{}],
    {"type": -1},
]
KEYS = sorted({key for sample in SAMPLES for key in sample} | {"mic_type", "latitude_i"})
CHILD_KEYS = ["id", "alias", "state", "on_time", "next_action"]
METER_PAIRS = [
    ("power", "power_mw"),
    ("voltage", "voltage_mv"),
    ("current", "current_ma"),
    ("total", "total_wh"),
]
METER_KEYS = [key for pair in METER_PAIRS for key in pair]


def outcome(parse: Any, *args: Any) -> SysInfo | str:
    try:
        return parse(*args)
    except ProtocolError as exc:
        return f"error: {exc}"


def same(a: SysInfo | str, b: SysInfo | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a == b and a.raw is b.raw


edits = st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(NASTY)), max_size=3)
child_edits = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from(CHILD_KEYS), st.sampled_from(NASTY)), max_size=2
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(SAMPLES))), edits, child_edits, edits)
# equal but not alike: a bool latitude after an int one (0 == False) is not carried over
@example(0, [("latitude", False)], [], [("latitude", 0)])
@example(0, [("longitude", 1.0)], [], [("longitude", True)])
def test_fast_equals_careful(
    index: int,
    changes: list[tuple[str, Any]],
    child_changes: list[tuple[int, str, Any]],
    before_changes: list[tuple[str, Any]],
) -> None:
    data = {**SAMPLES[index]}
    for key, value in changes:
        data[key] = value
    children = data.get("children")
    if isinstance(children, list):
        data["children"] = children = [dict(c) if isinstance(c, dict) else c for c in children]
        for slot, key, value in child_changes:
            if slot < len(children) and isinstance(children[slot], dict):
                children[slot][key] = value
    careful = outcome(_careful_sysinfo, data)
    assert same(outcome(parse_sysinfo, data), careful)
    # With the last poll's sysinfo (itself possibly from odd data) to carry fields over.
    before = {**SAMPLES[index]}
    for key, value in before_changes:
        before[key] = value
    previous = outcome(parse_sysinfo, before)
    if isinstance(previous, SysInfo):
        assert same(outcome(parse_sysinfo, data, previous), careful)


def test_unchanged_identity_is_carried_over() -> None:
    first = parse_sysinfo(SAMPLES[0])
    later = {**SAMPLES[0], "rssi": -70, "on_time": 12}
    again = parse_sysinfo(later, first)
    assert again.rssi == -70 and again.on_time == 12 and again.raw is later
    assert again.features is first.features and again.mac == first.mac
    renamed = parse_sysinfo({**later, "alias": "Renamed"}, first)
    assert renamed.alias == "Renamed"


METER_VALUES = st.one_of(
    st.sampled_from([None, True, 0, -1, 2**63, 10**30, 1.5, math.nan, "7"]),
    st.integers(),
    st.floats(),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(METER_KEYS), METER_VALUES, max_size=8))
def test_fast_realtime_equals_careful(data: dict[str, Any]) -> None:
    try:
        fast: object = parse_realtime(data)
    except ProtocolError as exc:
        fast = str(exc)
    try:
        careful: object = EnergyReading(
            *(_scaled(data, old, new, 1e-3) for old, new in METER_PAIRS)
        )
    except ProtocolError as exc:
        careful = str(exc)
    assert repr(fast) == repr(careful)
