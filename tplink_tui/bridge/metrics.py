"""Prometheus ``GET /metrics`` from the monitor's latest snapshots (no device round trip).

One prefix (``tplink_``), units in the names, ``_total`` on the counter. Every
series has the labels ``device`` (the saved name), ``outlet`` (a strip outlet's
0-based index, "" for the whole device), ``room`` and ``model``. An offline device
keeps only ``tplink_device_up 0``: a stale reading is not exported as a fresh one.
Label values from the device pass ``untrusted.display`` (no control characters);
the library escapes quotes and backslashes.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ..devices.models import DeviceState, EnergyReading
from ..monitor import Status
from ..untrusted import display
from .app import HUB
from .hub import Hub

LABELS = ("device", "outlet", "room", "model")
_GAUGES = {
    "power_watts": "Power drawn now (W).",
    "voltage_volts": "Mains voltage (V).",
    "current_amperes": "Current drawn now (A).",
    "relay_on": "1 when the relay (or outlet) is on.",
    "device_up": "1 when the device answered its last poll.",
    "rssi_dbm": "Wi-Fi signal strength (dBm).",
    "on_seconds": "Seconds since the relay (or outlet) was switched on.",
}


def _text(value: object) -> str:
    return display(value, 100)


class SnapshotCollector(Collector):
    """Reads the hub's snapshots at scrape time."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        gauges = {
            name: GaugeMetricFamily(f"tplink_{name}", text, labels=LABELS)
            for name, text in _GAUGES.items()
        }
        energy = CounterMetricFamily(
            "tplink_energy_kilowatt_hours",
            "Energy counted by the device since its last reset (kWh).",
            labels=LABELS,
        )
        info = InfoMetricFamily(
            "tplink_device", "Model, MAC and firmware.", labels=("device", "room", "model")
        )
        outlets = InfoMetricFamily(
            "tplink_outlet",
            "A strip outlet's id and name.",
            labels=("device", "outlet", "room", "model"),
        )
        for device in self.hub.devices.values():
            snap = self.hub.snapshot(device)
            state = snap.state
            name, room = device.saved.name, device.saved.room
            model = _text(state.sysinfo.model) if state is not None else ""
            up = snap.status is Status.ONLINE
            gauges["device_up"].add_metric((name, "", room, model), 1.0 if up else 0.0)
            if not up or state is None:
                continue
            sysinfo = state.sysinfo
            info.add_metric(
                (name, room, model),
                {
                    "mac": _text(sysinfo.mac),
                    "firmware": _text(sysinfo.sw_ver),
                    "hardware": _text(sysinfo.hw_ver),
                    "alias": _text(sysinfo.alias),
                },
            )
            whole = (name, "", room, model)
            reading = state.energy if not sysinfo.is_strip else state.outlets_total()
            _reading(gauges, energy, whole, reading)
            gauges["relay_on"].add_metric(whole, 1.0 if sysinfo.is_on else 0.0)
            if sysinfo.rssi is not None:
                gauges["rssi_dbm"].add_metric(whole, float(sysinfo.rssi))
            if sysinfo.on_time is not None and not sysinfo.is_strip:
                gauges["on_seconds"].add_metric(whole, float(sysinfo.on_time))
            _outlets(gauges, energy, outlets, state, name, room, model)
        yield from gauges.values()
        yield energy
        yield info
        yield outlets


def _reading(
    gauges: dict[str, GaugeMetricFamily],
    energy: CounterMetricFamily,
    labels: tuple[str, ...],
    reading: EnergyReading | None,
) -> None:
    if reading is None:
        return
    for name, value in (
        ("power_watts", reading.power_w),
        ("voltage_volts", reading.voltage_v),
        ("current_amperes", reading.current_a),
    ):
        if value is not None:
            gauges[name].add_metric(labels, round(value, 6))  # no float noise
    if reading.total_kwh is not None:
        energy.add_metric(labels, round(reading.total_kwh, 6))


def _outlets(
    gauges: dict[str, GaugeMetricFamily],
    energy: CounterMetricFamily,
    info: InfoMetricFamily,
    state: DeviceState,
    name: str,
    room: str,
    model: str,
) -> None:
    for outlet in state.sysinfo.children:
        labels = (name, str(outlet.index), room, model)
        info.add_metric(labels, {"id": _text(outlet.id), "alias": _text(outlet.alias)})
        gauges["relay_on"].add_metric(labels, 1.0 if outlet.is_on else 0.0)
        gauges["on_seconds"].add_metric(labels, float(outlet.on_time))
        _reading(gauges, energy, labels, state.outlet_energy.get(outlet.index))


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render(registry: CollectorRegistry) -> bytes:
    """The text format, byte for byte what ``generate_latest`` writes for these metrics
    (a test holds it to that), at a fraction of its cost: each label set is escaped
    once per scrape, not once per sample. Our names are plain ASCII and we emit no
    ``_created`` samples, which is what lets the library's general path be skipped."""
    out: list[str] = []
    labels_text: dict[tuple[tuple[str, str], ...], str] = {}
    for metric in registry.collect():
        name, kind = metric.name, metric.type
        if kind == "counter":
            name += "_total"
        elif kind == "info":
            name, kind = name + "_info", "gauge"
        doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")
        for sample in metric.samples:
            key = tuple(sample.labels.items())
            text = labels_text.get(key)
            if text is None:
                pairs = sorted(key)
                text = labels_text[key] = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
            out.append(f"{sample.name}{{{text}}} {floatToGoString(sample.value)}\n")
    return "".join(out).encode("utf-8")


def registry_for(hub: Hub) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(hub))
    return registry


METRICS = web.AppKey("metrics", CollectorRegistry)


async def scrape(request: web.Request) -> web.Response:
    body = render(request.app[METRICS])
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_routes(app: web.Application) -> None:
    app[METRICS] = registry_for(app[HUB])
    app.router.add_get("/metrics", scrape)
