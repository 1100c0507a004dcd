"""Prometheus ``GET /metrics`` from the monitor's latest snapshots (no device round trip).

One prefix (``tplink_``), units in the names, ``_total`` on the counter. Every
series has the labels ``device`` (the saved name), ``outlet`` (a strip outlet's
0-based index, "" for the whole device), ``room`` and ``model``. An offline device
keeps only ``tplink_device_up 0``: a stale reading is not exported as a fresh one.
Label values from the device pass ``untrusted.display`` (no control characters).

``device_samples`` is the one definition of what a device exports. Two writers use
it: ``SnapshotCollector``, a prometheus-client collector (``generate_latest`` of a
registry holding it is the reference text), and ``MetricsText``, which serves
``/metrics``: the same bytes (a test holds the two equal), each device's lines
rendered as its poll lands (about 50 µs), so a scrape only joins them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ..devices.models import EnergyReading
from ..monitor import Snapshot, Status
from ..untrusted import display
from .app import HUB
from .hub import Device, Hub

# (family, type, help), in the order they are written.
FAMILIES = (
    ("tplink_power_watts", "gauge", "Power drawn now (W)."),
    ("tplink_voltage_volts", "gauge", "Mains voltage (V)."),
    ("tplink_current_amperes", "gauge", "Current drawn now (A)."),
    ("tplink_relay_on", "gauge", "1 when the relay (or outlet) is on."),
    ("tplink_device_up", "gauge", "1 when the device answered its last poll."),
    ("tplink_rssi_dbm", "gauge", "Wi-Fi signal strength (dBm)."),
    ("tplink_on_seconds", "gauge", "Seconds since the relay (or outlet) was switched on."),
    (
        "tplink_energy_kilowatt_hours",
        "counter",
        "Energy counted by the device since its reset (kWh).",
    ),
    ("tplink_device", "info", "Model, MAC and firmware."),
    ("tplink_outlet", "info", "A strip outlet's id and name."),
)
_SUFFIX = {"counter": "_total", "info": "_info", "gauge": ""}
Labels = dict[str, str]
Sample = tuple[str, Labels, float]  # (family, labels, value)


def _text(value: object) -> str:
    return display(value, 100)


def _reading(out: list[Sample], labels: Labels, reading: EnergyReading | None) -> None:
    if reading is None:
        return
    for family, value in (
        ("tplink_power_watts", reading.power_w),
        ("tplink_voltage_volts", reading.voltage_v),
        ("tplink_current_amperes", reading.current_a),
        ("tplink_energy_kilowatt_hours", reading.total_kwh),
    ):
        if value is not None:
            out.append((family, labels, round(value, 6)))  # no float noise


def device_samples(device: Device, snap: Snapshot) -> list[Sample]:
    """Everything one device exports, from its latest snapshot."""
    state = snap.state
    name, room = device.saved.name, device.saved.room
    model = _text(state.sysinfo.model) if state is not None else ""
    whole = {"device": name, "outlet": "", "room": room, "model": model}
    up = snap.status is Status.ONLINE
    out: list[Sample] = [("tplink_device_up", whole, 1.0 if up else 0.0)]
    if not up or state is None:
        return out
    info = state.sysinfo
    identity = {
        "device": name,
        "room": room,
        "model": model,
        "mac": _text(info.mac),
        "firmware": _text(info.sw_ver),
        "hardware": _text(info.hw_ver),
        "alias": _text(info.alias),
    }
    out.append(("tplink_device", identity, 1.0))
    _reading(out, whole, state.energy if not info.is_strip else state.outlets_total())
    out.append(("tplink_relay_on", whole, 1.0 if info.is_on else 0.0))
    if info.rssi is not None:
        out.append(("tplink_rssi_dbm", whole, float(info.rssi)))
    if info.on_time is not None and not info.is_strip:
        out.append(("tplink_on_seconds", whole, float(info.on_time)))
    for outlet in info.children:
        labels = {**whole, "outlet": str(outlet.index)}
        out.append(
            ("tplink_outlet", {**labels, "id": _text(outlet.id), "alias": _text(outlet.alias)}, 1.0)
        )
        out.append(("tplink_relay_on", labels, 1.0 if outlet.is_on else 0.0))
        out.append(("tplink_on_seconds", labels, float(outlet.on_time)))
        _reading(out, labels, state.outlet_energy.get(outlet.index))
    return out


class SnapshotCollector(Collector):
    """The device samples as prometheus-client metric families (read at scrape time)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        families = {name: Metric(name, text, kind) for name, kind, text in FAMILIES}
        for device in self.hub.devices.values():
            for family, labels, value in device_samples(device, self.hub.snapshot(device)):
                metric = families[family]
                metric.add_sample(family + _SUFFIX[metric.type], labels, value)
        yield from families.values()


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


@dataclass(slots=True)
class _Lines:
    snapshot: Snapshot | None = None
    by_family: dict[str, list[str]] = field(default_factory=dict)


class MetricsText:
    """``/metrics`` bytes: what ``generate_latest`` writes, each device rendered once per poll."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._cache: dict[str, _Lines] = {}

    def _lines(self, device: Device) -> dict[str, list[str]]:
        snap = self.hub.snapshot(device)
        cached = self._cache.setdefault(device.key, _Lines())
        if cached.snapshot is snap:
            return cached.by_family
        by_family: dict[str, list[str]] = {}
        labels_text: dict[int, str] = {}
        for family, labels, value in device_samples(device, snap):
            text = labels_text.get(id(labels))
            if text is None:
                pairs = sorted(labels.items())
                text = labels_text[id(labels)] = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
            kind = _KINDS[family]
            line = f"{family}{_SUFFIX[kind]}{{{text}}} {floatToGoString(value)}\n"
            by_family.setdefault(family, []).append(line)
        cached.snapshot, cached.by_family = snap, by_family
        return by_family

    def on_snapshot(self, snap: Snapshot) -> None:
        """Render a device's lines as its poll lands: a scrape then only joins them."""
        device = self.hub.devices.get(snap.key)
        if device is not None:
            self._lines(device)

    def render(self) -> bytes:
        per_device = [self._lines(device) for device in self.hub.devices.values()]
        out: list[str] = []
        for name, kind, text in FAMILIES:
            shown = name + _SUFFIX[kind]
            out.append(
                f"# HELP {shown} {text}\n# TYPE {shown} {'gauge' if kind == 'info' else kind}\n"
            )
            for lines in per_device:
                out.extend(lines.get(name, ()))
        return "".join(out).encode("utf-8")


_KINDS = {name: kind for name, kind, _ in FAMILIES}


def registry_for(hub: Hub) -> CollectorRegistry:
    """A registry holding the collector (the reference text, and for embedding)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(hub))
    return registry


METRICS = web.AppKey("metrics", MetricsText)


async def scrape(request: web.Request) -> web.Response:
    response = web.Response(body=request.app[METRICS].render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_routes(app: web.Application) -> None:
    text = app[METRICS] = MetricsText(app[HUB])
    app[HUB].monitor.subscribe(text.on_snapshot)
    app.router.add_get("/metrics", scrape)
