"""Home Assistant MQTT discovery: the plugs appear in Home Assistant with no YAML.

Per relay (a plug) or outlet (a strip): a ``switch``; per meter: ``power`` (W,
measurement), ``energy`` (kWh, total_increasing: the device's counter resets on a
reboot, which that state class expects), ``voltage`` and ``current`` sensors (read
from the ``attributes`` JSON with a value template). Every
entity is available only while the bridge and the device both are
(``availability_mode: all``). Configs are retained at
``DISCOVERY/COMPONENT/NODE/OBJECT/config``; NODE comes from the MAC, so renaming
the device in the config keeps its entities.
"""

from __future__ import annotations

import re
from typing import Any

from .. import __version__, untrusted
from ..devices.models import DeviceState
from .hub import Device
from .options import MqttOptions
from .topics import Messages

_SENSORS = (
    # (object, name, device_class, state_class, unit, topic level, value template)
    ("power", "Power", "power", "measurement", "W", "power", None),
    ("energy", "Energy", "energy", "total_increasing", "kWh", "energy", None),
    ("voltage", "Voltage", "voltage", "measurement", "V", "attributes", "value_json.voltage_v"),
    ("current", "Current", "current", "measurement", "A", "attributes", "value_json.current_a"),
)


def node_id(device: Device, state: DeviceState) -> str:
    """``tplink_<mac hex>`` (the saved name's topic level when no MAC is known)."""
    mac = re.sub(r"[^0-9a-f]", "", state.sysinfo.mac.lower())
    return f"tplink_{mac}" if mac else f"tplink_{device.slug}"


def _device_block(device: Device, state: DeviceState, node: str) -> dict[str, Any]:
    info = state.sysinfo
    block: dict[str, Any] = {
        "identifiers": [node],
        "name": device.saved.name,
        "manufacturer": "TP-Link",
        "model": untrusted.display(info.model, 60),
        "sw_version": untrusted.display(info.sw_ver, 60),
        "hw_version": untrusted.display(info.hw_ver, 30),
    }
    if info.mac:
        block["connections"] = [["mac", info.mac.lower()]]
    if device.saved.room:
        block["suggested_area"] = device.saved.room
    return block


def discovery_messages(options: MqttOptions, device: Device, state: DeviceState) -> Messages:
    """Every discovery config for one device (empty when discovery is off)."""
    if not options.discovery_prefix:
        return {}
    node = node_id(device, state)
    block = _device_block(device, state, node)
    origin = {"name": "tplink-tui", "sw_version": __version__}
    base = f"{options.prefix}/{device.slug}"
    out: Messages = {}

    def entity(
        component: str, obj: str, level: str, name: str | None, leaf: str = "state", **extra: Any
    ) -> None:
        config = {
            "name": name,
            "unique_id": f"{node}_{obj}",
            "state_topic": f"{level}/{leaf}",
            "json_attributes_topic": f"{level}/attributes",
            "availability": [
                {"topic": options.availability},
                {"topic": f"{level}/availability"},
            ],
            "availability_mode": "all",
            "device": block,
            "origin": origin,
            **extra,
        }
        topic = f"{options.discovery_prefix}/{component}/{node}/{obj}/config"
        out[topic] = untrusted.dumps(config, compact=True)

    def switch(obj: str, level: str, name: str | None) -> None:
        entity(
            "switch",
            obj,
            level,
            name,
            command_topic=f"{level}/set",
            payload_on="ON",
            payload_off="OFF",
            state_on="ON",
            state_off="OFF",
        )

    def sensors(obj: str, level: str, label: str) -> None:
        for key, name, device_class, state_class, unit, leaf, template in _SENSORS:
            extra = {"value_template": "{{ " + template + " }}"} if template else {}
            entity(
                "sensor",
                f"{obj}_{key}",
                level,
                f"{label}{name}".strip(),
                leaf=leaf,
                device_class=device_class,
                state_class=state_class,
                unit_of_measurement=unit,
                **extra,
            )

    info = state.sysinfo
    if not info.is_strip:
        switch("relay", base, None)  # None: the entity takes the device's name
        if info.has_emeter:
            sensors("relay", base, "")
        return out
    for outlet in info.children:
        level = f"{base}/{outlet.index}"
        name = untrusted.display(outlet.alias, 60) or f"Outlet {outlet.index + 1}"
        switch(f"outlet{outlet.index}", level, name)
        if info.has_emeter:
            sensors(f"outlet{outlet.index}", level, f"{name} ")
    if info.has_emeter:
        sensors("total", base, "Total ")
    return out
