"""Parsing sysinfo and meter replies from every model family and firmware variant."""

from __future__ import annotations

from typing import Any

import pytest
from wire_fakes import (
    STRIP_ID,
    hs100,
    hs103,
    hs105,
    hs107,
    hs110_v1,
    hs300,
    kp115,
    kp303,
    new_meter,
    old_meter,
)

from tplink_tui.devices.models import (
    DeviceState,
    EnergyReading,
    normalize_mac,
    parse_realtime,
    parse_stats,
    parse_sysinfo,
)
from tplink_tui.errors import ProtocolError

# -- plugs ------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [hs100, hs105, hs103], ids=["HS100", "HS105", "HS103"])
def test_relay_only_plugs(factory: Any) -> None:
    raw = factory()
    info = parse_sysinfo(raw)
    assert info.model == raw["model"]
    assert info.model_family == raw["model"].split("(")[0]
    assert info.alias == raw["alias"]
    assert info.device_type == "IOT.SMARTPLUGSWITCH"
    assert info.mac == "50:C7:BF:00:00:01"
    assert info.device_id == raw["deviceId"]
    assert info.sw_ver == "1.5.6 Build 191125 Rel.083657"
    assert info.rssi == -61
    assert info.led_on is True
    assert info.relay_on is bool(raw["relay_state"])
    assert info.is_on is bool(raw["relay_state"])
    assert not info.has_emeter
    assert not info.is_strip
    assert info.children == ()
    assert info.latitude == pytest.approx(52.37)
    assert info.longitude == pytest.approx(4.9)
    assert info.raw is raw


def test_hs103_has_no_dev_name() -> None:
    info = parse_sysinfo(hs103())
    assert info.dev_name == ""
    assert info.on_time == 42


def test_hs110_old_meter() -> None:
    info = parse_sysinfo(hs110_v1())
    assert info.has_emeter
    assert info.features == {"TIM", "ENE"}
    assert info.latitude == 52.37 and info.longitude == 4.9
    reading = parse_realtime(old_meter(power=12.5))
    assert reading == EnergyReading(power_w=12.5, voltage_v=231.5, current_a=0.11, total_kwh=1.234)


def test_kp115_new_meter_mic_type_and_mic_mac() -> None:
    info = parse_sysinfo(kp115())
    assert info.device_type == "IOT.SMARTPLUGSWITCH"
    assert info.mac == "1C:3B:F3:00:01:15"
    assert info.has_emeter
    reading = parse_realtime(new_meter(power_mw=12500))
    assert reading.power_w == pytest.approx(12.5)
    assert reading.voltage_v == pytest.approx(231.5)
    assert reading.current_a == pytest.approx(0.11)
    assert reading.total_kwh == pytest.approx(1.234)


def test_both_meter_formats_normalise_to_the_same_units() -> None:
    old = parse_realtime(old_meter(power=12.5))
    new = parse_realtime(new_meter(power_mw=12500))
    for key, value in old.as_dict().items():
        assert new.as_dict()[key] == pytest.approx(value)


def test_meter_with_slot_id_and_partial_fields() -> None:
    assert parse_realtime(new_meter(power_mw=0, slot_id=3)).power_w == 0
    partial = parse_realtime({"power_mw": 1500, "err_code": 0})
    assert partial.power_w == pytest.approx(1.5)
    assert partial.voltage_v is None and partial.total_kwh is None
    # Old float field wins when a firmware sends both.
    assert parse_realtime({"power": 2.0, "power_mw": 9999}).power_w == 2.0


def test_type_preferred_over_mic_type_and_mac_over_mic_mac() -> None:
    raw = hs100()
    raw.update(mic_type="IOT.OTHER", mic_mac="AA-BB-CC-DD-EE-FF")
    info = parse_sysinfo(raw)
    assert info.device_type == "IOT.SMARTPLUGSWITCH"
    assert info.mac == "50:C7:BF:00:00:01"


def test_normalize_mac() -> None:
    assert normalize_mac("50-c7-bf-00-00-01") == "50:C7:BF:00:00:01"
    assert normalize_mac("50:c7:bf:00:00:01") == "50:C7:BF:00:00:01"
    assert normalize_mac(None) == ""


def test_latitude_i_and_longitude_i() -> None:
    raw = hs100()
    raw.update(latitude_i=-338688, longitude_i=1512093)
    info = parse_sysinfo(raw)
    assert info.latitude == pytest.approx(-33.8688)
    assert info.longitude == pytest.approx(151.2093)


def test_missing_optional_fields() -> None:
    info = parse_sysinfo({"model": "HS100(US)"})
    assert info.alias == "" and info.mac == "" and info.dev_name == ""
    assert info.rssi is None and info.latitude is None and info.longitude is None
    assert info.led_on is None and info.relay_on is None and info.on_time is None
    assert info.device_type == "" and info.features == frozenset()
    assert info.is_on is False


def test_null_values_count_as_missing() -> None:
    raw = hs100()
    raw.update(rssi=None, alias=None, latitude_i=None, mac=None, mic_mac="AA-BB-CC-00-00-01")
    info = parse_sysinfo(raw)
    assert info.rssi is None and info.alias == "" and info.latitude is None
    assert info.mac == "AA:BB:CC:00:00:01"


# -- strips -----------------------------------------------------------------------------


def test_hs300_strip() -> None:
    raw = hs300()
    assert "relay_state" not in raw
    info = parse_sysinfo(raw)
    assert info.is_strip and info.has_emeter
    assert info.relay_on is None
    assert len(info.children) == 6
    assert [o.index for o in info.children] == list(range(6))
    assert [o.id for o in info.children] == [f"{STRIP_ID}{i:02d}" for i in range(6)]
    assert [o.short_id for o in info.children] == ["00", "01", "02", "03", "04", "05"]
    assert [o.is_on for o in info.children] == [False, True] * 3
    assert info.children[2].alias == "Socket 3"
    assert info.children[2].on_time == 200
    assert info.children[0].next_action == {"type": -1}
    assert info.outlets_on == 3
    assert info.is_on  # any outlet on


def test_strip_all_off_is_off() -> None:
    raw = hs300()
    for child in raw["children"]:
        child["state"] = 0
    assert parse_sysinfo(raw).is_on is False


@pytest.mark.parametrize("factory", [kp303, hs107], ids=["KP303", "HS107"])
def test_unmetered_strips(factory: Any) -> None:
    info = parse_sysinfo(factory())
    assert info.is_strip and not info.has_emeter
    assert len(info.children) == info.raw["child_num"]


def test_child_ids_that_are_not_hex() -> None:
    info = parse_sysinfo(hs300(["outlet-A", "outlet-B", "zz", "Ω-01", "7", "x"]))
    assert [o.id for o in info.children] == ["outlet-A", "outlet-B", "zz", "Ω-01", "7", "x"]
    assert info.children[0].short_id == "-A"
    assert info.children[5].short_id == "x"


def test_numeric_child_id_becomes_a_string() -> None:
    raw = hs300()
    raw["children"][0]["id"] = 1234
    assert parse_sysinfo(raw).children[0].id == "1234"


def test_child_without_alias_gets_a_default_name() -> None:
    raw = hs300()
    del raw["children"][1]["alias"]
    assert parse_sysinfo(raw).children[1].alias == "Outlet 1"


def test_strip_realtime_with_slot_id() -> None:
    reading = parse_realtime(new_meter(power_mw=4200, slot_id=2))
    assert reading.power_w == pytest.approx(4.2)


def test_device_state_power() -> None:
    plug = DeviceState(parse_sysinfo(hs110_v1()), energy=parse_realtime(old_meter(7.0)))
    assert plug.power_w == 7.0
    strip = DeviceState(
        parse_sysinfo(hs300()),
        outlet_energy={0: EnergyReading(power_w=1.0), 3: EnergyReading(power_w=2.5)},
    )
    assert strip.power_w == 3.5
    assert DeviceState(parse_sysinfo(hs100())).power_w is None


# -- wrong types: a ProtocolError that names the field ----------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alias", 5),
        ("model", ["HS100"]),
        ("rssi", "-60"),
        ("relay_state", "1"),
        ("led_off", "0"),
        ("mac", 12),
        ("type", {}),
        ("latitude_i", 1.5),
        ("latitude", "52"),
        ("feature", ["TIM"]),
        ("on_time", "10"),
        ("sw_ver", 1.5),
    ],
)
def test_wrong_type_names_the_field(field: str, value: Any) -> None:
    raw = hs100()
    raw[field] = value
    with pytest.raises(ProtocolError, match=repr(field)):
        parse_sysinfo(raw)


@pytest.mark.parametrize(
    ("children", "match"),
    [
        ({"id": "x"}, "children"),
        (["not an object"], "outlet 0"),
        ([{"alias": "no id"}], "id"),
        ([{"id": None}], "id"),
        ([{"id": True}], "id"),
        ([{"id": "00", "state": "on"}], "'state'"),
        ([{"id": "00", "alias": 3}], "'alias'"),
    ],
)
def test_bad_children(children: Any, match: str) -> None:
    raw = hs300()
    raw["children"] = children
    with pytest.raises(ProtocolError, match=match):
        parse_sysinfo(raw)


@pytest.mark.parametrize("data", [None, [], "sysinfo", 3, {"alias": "no model"}, {"model": ""}])
def test_not_a_sysinfo(data: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_sysinfo(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"power": "12"}, "'power'"),
        ({"voltage_mv": [1]}, "'voltage_mv'"),
        ({"current": True}, "'current'"),
        ({"total_wh": {}}, "'total_wh'"),
        ([], "object"),
        (None, "object"),
    ],
)
def test_bad_meter_reading(data: Any, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_realtime(data)


@pytest.mark.parametrize(
    "data",
    [
        {"power_mw": 10**400},
        {"power": 10**400},
        {"total_wh": -(10**320)},
    ],
    ids=["huge-mw", "huge-w", "huge-negative"],
)
def test_out_of_range_meter_numbers_are_protocol_errors(data: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError, match="meter field"):
        parse_realtime(data)


def test_out_of_range_coordinates_are_protocol_errors() -> None:
    raw = hs100()
    raw["latitude_i"] = 10**400
    with pytest.raises(ProtocolError, match="latitude_i"):
        parse_sysinfo(raw)


# -- statistics -------------------------------------------------------------------------


def test_daystat_kwh_format() -> None:
    data = {
        "day_list": [
            {"year": 2024, "month": 5, "day": 1, "energy": 0.25},
            {"year": 2024, "month": 5, "day": 2, "energy": 1.5},
        ],
        "err_code": 0,
    }
    stats = parse_stats(data, "day_list")
    assert [(s.year, s.month, s.day) for s in stats] == [(2024, 5, 1), (2024, 5, 2)]
    assert [s.energy_kwh for s in stats] == [0.25, 1.5]


def test_daystat_wh_format() -> None:
    data = {"day_list": [{"year": 2024, "month": 5, "day": 1, "energy_wh": 250}]}
    (stat,) = parse_stats(data, "day_list")
    assert stat.energy_kwh == pytest.approx(0.25)


def test_monthstat_both_formats() -> None:
    kwh = parse_stats({"month_list": [{"year": 2024, "month": 3, "energy": 12.0}]}, "month_list")
    wh = parse_stats({"month_list": [{"year": 2024, "month": 3, "energy_wh": 12000}]}, "month_list")
    assert kwh[0].day is None and wh[0].day is None
    assert kwh[0].energy_kwh == pytest.approx(wh[0].energy_kwh) == pytest.approx(12.0)


def test_stats_missing_list_or_energy() -> None:
    assert parse_stats({"err_code": 0}, "day_list") == []
    (stat,) = parse_stats({"day_list": [{"year": 2024, "month": 1, "day": 3}]}, "day_list")
    assert stat.energy_kwh == 0.0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], "object"),
        ({"day_list": {}}, "list"),
        ({"day_list": [3]}, "entry"),
        ({"day_list": [{"day": 1, "energy": 1.0}]}, "year or month"),
        ({"day_list": [{"year": "2024", "month": 1}]}, "'year'"),
        ({"day_list": [{"year": 2024, "month": 1, "energy": "1"}]}, "'energy'"),
    ],
)
def test_bad_stats(data: Any, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_stats(data, "day_list")
