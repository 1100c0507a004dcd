"""The smart dialect: builders, error mapping, and every newer profile parsed into models.

Profiles are read over real HTTP on 127.0.0.1 through the KLAP or AES transport.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tplink_tui.devices import smart
from tplink_tui.devices.models import SysInfo
from tplink_tui.errors import DeviceError, ProtocolError
from tplink_tui.simulator.loads import Load
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerDevice, NewerSimulator
from tplink_tui.transports import AuthenticationError, Credentials
from tplink_tui.transports.aes import AesTransport
from tplink_tui.transports.klap import KlapTransport

CREDS = Credentials(TEST_USERNAME, TEST_PASSWORD)


def test_set_device_info_encodes_the_nickname() -> None:
    body = smart.set_device_info(device_on=False, nickname="Küche")
    assert body["method"] == "set_device_info"
    assert body["params"]["device_on"] is False
    assert base64.b64decode(body["params"]["nickname"]).decode() == "Küche"
    with pytest.raises(ValueError):
        smart.set_device_info()


def test_read_only_sees_through_batches_and_children() -> None:
    on = smart.set_device_info(device_on=True)
    assert smart.is_read_only(smart.multiple_request([smart.get_device_info()]))
    assert not smart.is_read_only(smart.multiple_request([smart.get_device_info(), on]))
    assert smart.is_read_only(smart.control_child("X", smart.get_emeter_data()))
    assert not smart.is_read_only(smart.control_child("X", on))
    assert smart.is_read_only(smart.component_nego())


def test_error_codes_map_to_project_errors() -> None:
    with pytest.raises(DeviceError) as info:
        smart.check({"error_code": -1002, "msg": "Request method not supported"}, "x", "h:80")
    assert info.value.err_code == -1002 and "Request method not supported" in str(info.value)
    with pytest.raises(DeviceError, match="unknown method"):
        smart.check({"error_code": -1002}, "x")
    with pytest.raises(AuthenticationError, match="h:80: authentication failed"):
        smart.check({"error_code": -1501}, "login_device", "h:80")
    with pytest.raises(smart.SessionExpired):
        smart.check({"error_code": 9999})
    with pytest.raises(ProtocolError):
        smart.check({"error_code": "0"})
    assert smart.check({"error_code": 0, "result": {"a": 1}}) == {"a": 1}


def test_multiple_results_raise_at_the_first_error() -> None:
    reply = {
        "error_code": 0,
        "result": {
            "responses": [
                {"method": "get_device_info", "error_code": 0, "result": {"model": "P110"}},
                {"method": "get_nope", "error_code": -1002},
            ]
        },
    }
    with pytest.raises(DeviceError) as info:
        smart.multiple_results(reply)
    assert info.value.method == "get_nope"


def test_units() -> None:
    assert smart.parse_energy_usage({"current_power": 12345}).power_w == pytest.approx(12.345)
    assert smart.parse_current_power({"current_power": 12}).power_w == 12.0
    r = smart.parse_emeter_data(
        {"power_mw": 1500, "voltage_mv": 230100, "current_ma": 20, "energy_wh": 2500}
    )
    assert (r.power_w, r.voltage_v, r.current_a, r.total_kwh) == pytest.approx(
        (1.5, 230.1, 0.02, 2.5)
    )
    with pytest.raises(ProtocolError):
        smart.parse_emeter_data({"power_mw": "lots"})


def test_children_sorted_by_position_and_night_light_skipped() -> None:
    b = base64.b64encode
    result = {
        "child_device_list": [
            {
                "device_id": "B",
                "position": 2,
                "nickname": b(b"Two").decode(),
                "device_on": True,
                "category": "plug.powerstrip.sub-plug",
            },
            {
                "device_id": "L",
                "position": 0,
                "nickname": b(b"Light").decode(),
                "device_on": False,
                "category": "plug.powerstrip.sub-bulb",
            },
            {
                "device_id": "A",
                "position": 1,
                "nickname": "not base64!",
                "device_on": False,
                "type": "SMART.TAPOPLUG",
            },
        ]
    }
    outlets = smart.parse_children(result)
    assert [(o.index, o.id, o.alias, o.is_on) for o in outlets] == [
        (0, "A", "not base64!", False),
        (1, "B", "Two", True),
    ]


@pytest.fixture
async def sim() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


async def _call(t: KlapTransport | AesTransport, body: dict[str, Any]) -> Any:
    reply = smart.decode(await t.request(smart.encode(body), retry_safe=smart.is_read_only(body)))
    return reply


def _transport(dev: NewerDevice) -> KlapTransport | AesTransport:
    cls = KlapTransport if dev.encrypt_type == "KLAP" else AesTransport
    return cls(dev.host, dev.port, credentials=CREDS)


async def _read(t: KlapTransport | AesTransport) -> smart.DeviceState:
    batch = smart.multiple_request([smart.get_device_info(), smart.component_nego()])
    info, comps = smart.multiple_results(await _call(t, batch))
    components = smart.parse_components(comps)
    children: tuple[smart.OutletInfo, ...] = ()
    if "child_device" in components:
        children = smart.parse_children(smart.check(await _call(t, smart.get_child_device_list())))
    sysinfo: SysInfo = smart.parse_device_info(info, children, components)
    energy, per_outlet = None, {}
    if sysinfo.has_emeter and not children:
        energy = smart.parse_emeter_data(smart.check(await _call(t, smart.get_emeter_data())))
    for o in children:
        reply = await _call(t, smart.control_child(o.id, smart.get_emeter_data()))
        if sysinfo.has_emeter:
            per_outlet[o.index] = smart.parse_emeter_data(smart.child_result(reply))
    return smart.parse_state(sysinfo, energy, per_outlet)


@pytest.mark.parametrize(
    ("model", "outlets", "metered", "kind"),
    [
        ("kp125m", 0, True, "SMART.KASAPLUG"),
        ("ep25", 0, True, "SMART.KASAPLUG"),
        ("p110", 0, True, "SMART.TAPOPLUG"),
        ("p300", 3, False, "SMART.TAPOPLUG"),
        ("p316m", 6, True, "SMART.TAPOPLUG"),
    ],
)
async def test_every_profile_parses_into_the_models(
    sim: NewerSimulator, model: str, outlets: int, metered: bool, kind: str
) -> None:
    dev = await sim.add(model, alias="Test Plug", night_light=outlets > 0)
    t = _transport(dev)
    try:
        state = await _read(t)
    finally:
        await t.close()
    info = state.sysinfo
    assert info.alias == "Test Plug" and info.device_type == kind
    assert info.model == dev.profile.model and info.device_id == dev.device_id
    assert ":" in info.mac and info.mac == info.mac.upper()
    assert info.has_emeter is metered
    assert len(info.children) == outlets  # the night light is not an outlet
    if outlets:
        assert info.relay_on is None
        assert [o.alias for o in info.children] == [f"Plug {i + 1}" for i in range(outlets)]
        assert [o.id for o in info.children] == [o.device_id for o in dev.state.outlets]  # type: ignore[union-attr]
        assert len(state.outlet_energy) == (outlets if metered else 0)
    else:
        assert info.relay_on is True
    if metered:
        total = state.energy or state.outlets_total()
        assert total is not None and total.voltage_v is not None
        assert 100 < total.voltage_v < 250  # V, not mV
        assert state.power_w is not None and 0 <= state.power_w < 5000  # W, not mW


async def test_strip_outlet_switched_by_id(sim: NewerSimulator) -> None:
    dev = await sim.add("p316m")
    t = _transport(dev)
    state = await _read(t)
    third = state.sysinfo.children[2]
    reply = await _call(t, smart.control_child(third.id, smart.set_device_info(device_on=False)))
    smart.child_result(reply)
    after = await _read(t)
    await t.close()
    assert [o.is_on for o in after.sysinfo.children] == [True, True, False, True, True, True]


async def test_unknown_method_is_a_device_error_with_its_message(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m")
    t = _transport(dev)
    reply = await _call(t, smart.request("get_nonsense"))
    await t.close()
    with pytest.raises(DeviceError) as info:
        smart.check(reply, "get_nonsense", "h")
    assert info.value.err_code == -1002


async def test_energy_usage_in_milliwatts_matches_current_power(sim: NewerSimulator) -> None:
    dev = await sim.add("p110", seed=3)
    dev.state.outlets[0].meter.load = Load("flat", lambda t, s: 42.0, 42.0, 1.0, 24.0)
    t = _transport(dev)
    usage = smart.parse_energy_usage(smart.check(await _call(t, smart.get_energy_usage())))
    power = smart.parse_current_power(smart.check(await _call(t, smart.get_current_power())))
    await t.close()
    assert usage.power_w == pytest.approx(42.0) and power.power_w == pytest.approx(42.0)


def test_ssid_is_decoded() -> None:
    assert smart.ssid({"ssid": base64.b64encode(b"Home").decode()}) == "Home"
    assert json.dumps(smart.get_device_info())
