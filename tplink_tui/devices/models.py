"""Typed views of what devices report, parsed tolerantly from firmware variants.

Missing optional fields are normal (firmware differs); a field of the wrong type
is a ``ProtocolError`` that names the field. Energy readings are normalised to
W, V, A and kWh from both meter formats (floats, or integer mW/mV/mA/Wh).

Numbers are hostile input too: a NaN or infinite meter field is "no reading"
(None), an integer beyond float range a ProtocolError, an optional integer beyond
64 bits is unknown (None), and a strip may list at most ``MAX_OUTLETS`` outlets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

from ..errors import ProtocolError

MAX_OUTLETS = 32
"""The most outlets a strip may report. Real strips have 2-6 (HS300: 6); more than
32 is a broken or hostile device, refused with a ProtocolError rather than shown
truncated: a cut-off list would misstate the device, and front ends stay fast."""
_INT64 = 2**63
_INF = math.inf


def _get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = data.get(key, default)
    if value is None or value is default:
        return value
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ProtocolError(f"field {key!r} should be {want}, got {type(value).__name__}")
    return value


def _int(data: dict[str, Any], key: str) -> int | None:
    """An optional integer field; one beyond 64 bits is unknown, not a crash later."""
    value = _get(data, key, int)
    if value is None or -_INT64 <= value < _INT64:
        return value
    return None


def _first(data: dict[str, Any], keys: tuple[str, ...], kind: type | tuple[type, ...]) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return _get(data, key, kind)
    return None


_set = object.__setattr__


class _Frozen:
    """What ``@dataclass(slots=True, frozen=True)`` gave these classes, written once:
    ``__slots__`` in field order, eq and hash over the compared fields, repr of the
    same, no assignment, pickling and copying. Generating those methods (dataclasses
    exec()s each one) was a tenth of the command line's start-up."""

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _uncompared: ClassVar[tuple[str, ...]] = ()
    """Fields left out of eq, hash and repr (the raw reply)."""
    _key: ClassVar[attrgetter[tuple[Any, ...]]]

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(cls.__slots__)
        cls.__match_args__ = cls._fields  # type: ignore[misc]  # as a dataclass has
        cls._key = attrgetter(*(f for f in cls._fields if f not in cls._uncompared))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._key(self) == self._key(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key(self))

    def __repr__(self) -> str:
        shown = (f"{f}={getattr(self, f)!r}" for f in self._fields if f not in self._uncompared)
        return f"{type(self).__qualname__}({', '.join(shown)})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> list[Any]:
        return [getattr(self, f) for f in self._fields]

    def __setstate__(self, state: list[Any]) -> None:
        for name, value in zip(self._fields, state, strict=True):
            _set(self, name, value)


def normalize_mac(mac: str | None) -> str:
    if not mac:
        return ""
    return mac.replace("-", ":").upper()


class OutletInfo(_Frozen):
    """One socket of a power strip."""

    __slots__ = ("index", "id", "alias", "is_on", "on_time", "next_action")  # noqa: RUF023 - field order
    index: int
    id: str
    alias: str
    is_on: bool
    on_time: int
    next_action: dict[str, Any] | None

    def __init__(
        self,
        index: int,
        id: str,
        alias: str,
        is_on: bool,
        on_time: int = 0,
        next_action: dict[str, Any] | None = None,
    ) -> None:
        _set(self, "index", index)
        _set(self, "id", id)
        _set(self, "alias", alias)
        _set(self, "is_on", is_on)
        _set(self, "on_time", on_time)
        _set(self, "next_action", next_action)

    @property
    def short_id(self) -> str:
        return self.id[-2:]


class SysInfo(_Frozen):
    """The device identity and state from ``system.get_sysinfo``."""

    __slots__ = (  # noqa: RUF023 - field order is argument order
        "alias",
        "model",
        "device_type",
        "mac",
        "device_id",
        "hw_ver",
        "sw_ver",
        "hw_id",
        "oem_id",
        "dev_name",
        "rssi",
        "led_on",
        "relay_on",
        "on_time",
        "features",
        "latitude",
        "longitude",
        "updating",
        "children",
        "raw",
    )
    _uncompared = ("raw",)
    alias: str
    model: str
    device_type: str
    mac: str
    device_id: str
    hw_ver: str
    sw_ver: str
    hw_id: str
    oem_id: str
    dev_name: str
    rssi: int | None
    led_on: bool | None
    relay_on: bool | None
    on_time: int | None
    features: frozenset[str]
    latitude: float | None
    longitude: float | None
    updating: bool
    children: tuple[OutletInfo, ...]
    raw: dict[str, Any]

    def __init__(
        self,
        alias: str,
        model: str,
        device_type: str,
        mac: str,
        device_id: str,
        hw_ver: str,
        sw_ver: str,
        hw_id: str = "",
        oem_id: str = "",
        dev_name: str = "",
        rssi: int | None = None,
        led_on: bool | None = None,
        relay_on: bool | None = None,
        on_time: int | None = None,
        features: frozenset[str] = frozenset(),
        latitude: float | None = None,
        longitude: float | None = None,
        updating: bool = False,
        children: tuple[OutletInfo, ...] = (),
        raw: dict[str, Any] | None = None,
    ) -> None:
        _set(self, "alias", alias)
        _set(self, "model", model)
        _set(self, "device_type", device_type)
        _set(self, "mac", mac)
        _set(self, "device_id", device_id)
        _set(self, "hw_ver", hw_ver)
        _set(self, "sw_ver", sw_ver)
        _set(self, "hw_id", hw_id)
        _set(self, "oem_id", oem_id)
        _set(self, "dev_name", dev_name)
        _set(self, "rssi", rssi)
        _set(self, "led_on", led_on)
        _set(self, "relay_on", relay_on)
        _set(self, "on_time", on_time)
        _set(self, "features", features)
        _set(self, "latitude", latitude)
        _set(self, "longitude", longitude)
        _set(self, "updating", updating)
        _set(self, "children", children)
        _set(self, "raw", {} if raw is None else raw)

    @property
    def is_strip(self) -> bool:
        return bool(self.children)

    @property
    def has_emeter(self) -> bool:
        return "ENE" in self.features

    @property
    def is_on(self) -> bool:
        """A strip counts as on when any outlet is on."""
        if self.children:
            return any(child.is_on for child in self.children)
        return bool(self.relay_on)

    @property
    def duplicate_ids(self) -> frozenset[str]:
        """Child ids reported by more than one outlet: never safe to switch through."""
        ids = {child.id for child in self.children}
        if len(ids) == len(self.children):
            return frozenset()
        counts = Counter(child.id for child in self.children)
        return frozenset(i for i, n in counts.items() if n > 1)

    @property
    def outlets_on(self) -> int:
        return sum(child.is_on for child in self.children)

    @property
    def model_family(self) -> str:
        """``HS110(EU)`` -> ``HS110``."""
        return self.model.split("(")[0].strip()


def _parse_children(raw: Any) -> tuple[OutletInfo, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError(f"sysinfo field 'children' should be a list, got {type(raw).__name__}")
    if len(raw) > MAX_OUTLETS:
        raise ProtocolError(
            f"sysinfo lists {len(raw)} outlets, more than the {MAX_OUTLETS} a strip can have"
        )
    outlets = []
    for index, child in enumerate(raw):
        if not isinstance(child, dict):
            raise ProtocolError(f"outlet {index} should be an object, got {type(child).__name__}")
        child_id = child.get("id")
        if not isinstance(child_id, (str, int)) or isinstance(child_id, bool):
            raise ProtocolError(f"outlet {index} has no usable 'id'")
        state = _get(child, "state", int, 0)
        outlets.append(
            OutletInfo(
                index=index,
                id=str(child_id),
                alias=_get(child, "alias", str) or f"Outlet {index}",
                is_on=bool(state),
                on_time=_int(child, "on_time") or 0,
                next_action=child.get("next_action")
                if isinstance(child.get("next_action"), dict)
                else None,
            )
        )
    return tuple(outlets)


def _ten_thousandths(data: dict[str, Any], key: str) -> float:
    try:
        return float(_get(data, key, int) / 10_000)
    except OverflowError:
        raise ProtocolError(f"field {key!r} is out of range") from None


def _coordinate(data: dict[str, Any], key: str) -> float | None:
    value = _get(data, key, (int, float))
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def parse_sysinfo(data: Any, previous: SysInfo | None = None) -> SysInfo:
    """Parse the object inside ``{"system": {"get_sysinfo": ...}}``.

    ``previous`` (the last sysinfo of the same device) lets the fields that do not
    change between polls be taken over when their raw values are the same."""
    if type(data) is dict:
        fast = _fast_sysinfo(data, previous)
        if fast is not None:
            return fast
    return _careful_sysinfo(data)


def _careful_sysinfo(data: Any) -> SysInfo:
    """Every field checked, with an error that names the first one that is wrong."""
    if not isinstance(data, dict):
        raise ProtocolError(f"sysinfo should be an object, got {type(data).__name__}")
    model = _get(data, "model", str)
    if not model:
        raise ProtocolError("sysinfo has no 'model'")
    lat, lon = _location(data)
    led_off = _get(data, "led_off", int)
    relay = _get(data, "relay_state", int)
    feature = _get(data, "feature", str) or ""
    return SysInfo(
        alias=_get(data, "alias", str) or "",
        model=model,
        device_type=_first(data, ("type", "mic_type"), str) or "",
        mac=normalize_mac(_first(data, ("mac", "mic_mac", "ethernet_mac"), str)),
        device_id=_get(data, "deviceId", str) or "",
        hw_ver=_get(data, "hw_ver", str) or "",
        sw_ver=_get(data, "sw_ver", str) or "",
        hw_id=_get(data, "hwId", str) or "",
        oem_id=_get(data, "oemId", str) or "",
        dev_name=_get(data, "dev_name", str) or "",
        rssi=_int(data, "rssi"),
        led_on=None if led_off is None else not led_off,
        relay_on=None if relay is None else bool(relay),
        on_time=_int(data, "on_time"),
        features=frozenset(part for part in feature.split(":") if part),
        latitude=lat,
        longitude=lon,
        updating=bool(_get(data, "updating", int)),
        children=_parse_children(data.get("children")),
        raw=data,
    )


# The raw fields the identity part of SysInfo is made of (the rest changes per poll).
_STATIC_KEYS = (
    "alias",
    "model",
    "type",
    "mic_type",
    "mac",
    "mic_mac",
    "ethernet_mac",
    "deviceId",
    "hw_ver",
    "sw_ver",
    "hwId",
    "oemId",
    "dev_name",
    "feature",
    "latitude",
    "longitude",
    "latitude_i",
    "longitude_i",
)
_STRING_KEYS = ("deviceId", "hw_ver", "sw_ver", "hwId", "oemId", "dev_name")


def _location(data: dict[str, Any]) -> tuple[float | None, float | None]:
    """Latitude and longitude: floats, or the older integers in 10^-4 degrees."""
    lat = _coordinate(data, "latitude")
    lon = _coordinate(data, "longitude")
    if lat is None and data.get("latitude_i") is not None:
        lat = _ten_thousandths(data, "latitude_i")
    if lon is None and data.get("longitude_i") is not None:
        lon = _ten_thousandths(data, "longitude_i")
    return lat, lon


_STATIC_GETTERS: dict[tuple[str, ...], Callable[[dict[str, Any]], tuple[Any, ...]]] = {}


def _static_getter(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The identity fields of a sysinfo with these keys, in one C call (per key set:
    a device's firmware answers with the same keys, in the same order, every poll)."""
    getter = _STATIC_GETTERS.get(keys)
    if getter is None:
        present = [key for key in _STATIC_KEYS if key in keys]
        if len(present) >= 2:
            getter = itemgetter(*present)
        else:

            def getter(data: dict[str, Any]) -> tuple[Any, ...]:
                return tuple(data[key] for key in present)

        if len(_STATIC_GETTERS) < 256:
            _STATIC_GETTERS[keys] = getter
    return getter


def _fast_sysinfo(data: dict[str, Any], previous: SysInfo | None) -> SysInfo | None:
    """The common case, fast: plain types everywhere. None at the first doubt, and
    the careful parser then decides (same result, or the error it names)."""
    get = data.get
    rssi, led_off, relay, on_time = get("rssi"), get("led_off"), get("relay_state"), get("on_time")
    updating = get("updating")
    for value in (rssi, led_off, relay, on_time, updating):
        if value is not None and (type(value) is not int or not -_INT64 <= value < _INT64):
            return None
    raw_children = get("children")
    children: tuple[OutletInfo, ...] = ()
    if raw_children is not None:
        children = _fast_children(raw_children)  # type: ignore[assignment]
        if children is None:
            return None
    if previous is not None:
        keys, old_raw = tuple(data), previous.raw
        getter = _static_getter(keys) if keys == tuple(old_raw) else None
        fresh = old = ()
        if getter is not None:
            fresh, old = getter(data), getter(old_raw)
        # equal and of the same types: 0 == False == 0.0, but the careful parser
        # reads a bool latitude as none and an int one as a number
        if getter is not None and fresh == old and [*map(type, fresh)] == [*map(type, old)]:
            return SysInfo(
                previous.alias,
                previous.model,
                previous.device_type,
                previous.mac,
                previous.device_id,
                previous.hw_ver,
                previous.sw_ver,
                previous.hw_id,
                previous.oem_id,
                previous.dev_name,
                rssi,
                None if led_off is None else not led_off,
                None if relay is None else bool(relay),
                on_time,
                previous.features,
                previous.latitude,
                previous.longitude,
                bool(updating),
                children,
                data,
            )
    model, alias, feature = get("model"), get("alias"), get("feature")
    if type(model) is not str or not model:
        return None
    if not (alias is None or type(alias) is str) or not (feature is None or type(feature) is str):
        return None
    device_type = get("type")
    if device_type is None:
        device_type = get("mic_type")
    mac = get("mac")
    if mac is None:
        mac = get("mic_mac")
        if mac is None:
            mac = get("ethernet_mac")
    if not (device_type is None or type(device_type) is str):
        return None
    if not (mac is None or type(mac) is str):
        return None
    strings: list[str] = []
    for key in _STRING_KEYS:
        value = get(key)
        if value is not None and type(value) is not str:
            return None
        strings.append(value or "")
    device_id, hw_ver, sw_ver, hw_id, oem_id, dev_name = strings
    lat, lon = _location(data)
    return SysInfo(
        alias or "",
        model,
        device_type or "",
        normalize_mac(mac),
        device_id,
        hw_ver,
        sw_ver,
        hw_id,
        oem_id,
        dev_name,
        rssi,
        None if led_off is None else not led_off,
        None if relay is None else bool(relay),
        on_time,
        frozenset(part for part in feature.split(":") if part) if feature else frozenset(),
        lat,
        lon,
        bool(updating),
        children,
        data,
    )


def _fast_children(raw: Any) -> tuple[OutletInfo, ...] | None:
    if type(raw) is not list or len(raw) > MAX_OUTLETS:
        return None
    outlets = []
    for index, child in enumerate(raw):
        if type(child) is not dict:
            return None
        get = child.get
        child_id, alias, state, on_time = get("id"), get("alias"), get("state", 0), get("on_time")
        if type(child_id) is not str or type(state) is not int:
            return None
        if not (alias is None or type(alias) is str):
            return None
        if on_time is not None and (type(on_time) is not int or not -_INT64 <= on_time < _INT64):
            return None
        action = get("next_action")
        outlets.append(
            OutletInfo(
                index,
                child_id,
                alias or f"Outlet {index}",
                bool(state),
                on_time or 0,
                action if type(action) is dict else None,
            )
        )
    return tuple(outlets)


class EnergyReading(_Frozen):
    """A realtime meter reading in W, V, A and kWh (``total`` since the last reset)."""

    __slots__ = ("power_w", "voltage_v", "current_a", "total_kwh")  # noqa: RUF023 - field order
    power_w: float | None
    voltage_v: float | None
    current_a: float | None
    total_kwh: float | None

    def __init__(
        self,
        power_w: float | None = None,
        voltage_v: float | None = None,
        current_a: float | None = None,
        total_kwh: float | None = None,
    ) -> None:
        _set(self, "power_w", power_w)
        _set(self, "voltage_v", voltage_v)
        _set(self, "current_a", current_a)
        _set(self, "total_kwh", total_kwh)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "power_w": self.power_w,
            "voltage_v": self.voltage_v,
            "current_a": self.current_a,
            "total_kwh": self.total_kwh,
        }


def meter_number(data: dict[str, Any], key: str, scale: float = 1.0) -> float | None:
    """One meter field in our units: None when missing, NaN or infinite; wrong types and
    out-of-range integers are a ProtocolError. Both dialects read their meters with it."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"meter field {key!r} should be a number, got {value!r}")
    try:
        number = float(value) * scale
    except OverflowError:  # an integer beyond float range is valid JSON, not a reading
        raise ProtocolError(f"meter field {key!r} is out of range") from None
    # NaN or infinity (JSON "NaN", 1e400) is no reading; history bounds judge the rest.
    return number if math.isfinite(number) else None


def _scaled(data: dict[str, Any], old: str, new: str, scale: float) -> float | None:
    """The old-firmware float field if present, else the newer integer field, scaled."""
    value = meter_number(data, old)
    return value if value is not None else meter_number(data, new, scale)


def parse_realtime(data: Any) -> EnergyReading:
    """Parse ``emeter.get_realtime`` in either firmware format."""
    if type(data) is dict:  # the usual formats, four plain numbers of one kind: fast
        get = data.get
        power, voltage, current, total = get("power"), get("voltage"), get("current"), get("total")
        if (
            type(power) is float
            and type(voltage) is float
            and type(current) is float
            and type(total) is float
            and -_INF < power < _INF
            and -_INF < voltage < _INF
            and -_INF < current < _INF
            and -_INF < total < _INF
        ):
            return EnergyReading(power, voltage, current, total)
        power, voltage, current, total = (
            get("power_mw"),
            get("voltage_mv"),
            get("current_ma"),
            get("total_wh"),
        )
        if (
            type(power) is int
            and type(voltage) is int
            and type(current) is int
            and type(total) is int
            and -_INT64 <= power < _INT64
            and -_INT64 <= voltage < _INT64
            and -_INT64 <= current < _INT64
            and -_INT64 <= total < _INT64
            and get("power") is None
            and get("voltage") is None
            and get("current") is None
            and get("total") is None
        ):
            return EnergyReading(power * 1e-3, voltage * 1e-3, current * 1e-3, total * 1e-3)
    if not isinstance(data, dict):
        raise ProtocolError(f"meter reading should be an object, got {type(data).__name__}")
    return EnergyReading(
        power_w=_scaled(data, "power", "power_mw", 1e-3),
        voltage_v=_scaled(data, "voltage", "voltage_mv", 1e-3),
        current_a=_scaled(data, "current", "current_ma", 1e-3),
        total_kwh=_scaled(data, "total", "total_wh", 1e-3),
    )


class EnergyStat(_Frozen):
    """Energy over one day (``day`` set) or one month (``day`` None), in kWh."""

    __slots__ = ("year", "month", "day", "energy_kwh")  # noqa: RUF023 - field order
    year: int
    month: int
    day: int | None
    energy_kwh: float

    def __init__(self, year: int, month: int, day: int | None, energy_kwh: float) -> None:
        _set(self, "year", year)
        _set(self, "month", month)
        _set(self, "day", day)
        _set(self, "energy_kwh", energy_kwh)


def stat_entries(data: Any, list_key: str, what: str = "statistics") -> list[dict[str, Any]]:
    """The entries of a ``day_list`` / ``month_list`` reply (energy or runtime), checked."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} should be an object, got {type(data).__name__}")
    items = data.get(list_key, [])
    if not isinstance(items, list):
        raise ProtocolError(f"{list_key!r} should be a list")
    if not all(isinstance(item, dict) for item in items):
        raise ProtocolError(f"{list_key!r} entry should be an object")
    return items


def parse_stats(data: Any, list_key: str) -> list[EnergyStat]:
    """Parse ``get_daystat`` (``day_list``) or ``get_monthstat`` (``month_list``)."""
    stats = []
    for item in stat_entries(data, list_key):
        energy = _scaled(item, "energy", "energy_wh", 1e-3)
        year, month = _get(item, "year", int), _get(item, "month", int)
        if year is None or month is None:
            raise ProtocolError(f"{list_key!r} entry lacks year or month")
        stats.append(EnergyStat(year, month, _get(item, "day", int), energy or 0.0))
    return stats


def summed_stats(parts: list[list[EnergyStat]]) -> list[EnergyStat]:
    """Several outlets' day or month statistics as one list, the same date added up, by date."""
    total: dict[tuple[int, int, int | None], float] = {}
    for stats in parts:
        for stat in stats:
            key = (stat.year, stat.month, stat.day)
            total[key] = total.get(key, 0.0) + stat.energy_kwh
    ordered = sorted(total.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0))
    return [EnergyStat(y, m, d, kwh) for (y, m, d), kwh in ordered]


class DeviceState(_Frozen):
    """Everything one ``update()`` learned about a device."""

    __slots__ = ("sysinfo", "energy", "outlet_energy", "timestamp")  # noqa: RUF023 - field order
    sysinfo: SysInfo
    energy: EnergyReading | None
    outlet_energy: dict[int, EnergyReading]
    timestamp: float

    def __init__(
        self,
        sysinfo: SysInfo,
        energy: EnergyReading | None = None,
        outlet_energy: dict[int, EnergyReading] | None = None,
        timestamp: float = 0.0,
    ) -> None:
        _set(self, "sysinfo", sysinfo)
        _set(self, "energy", energy)
        _set(self, "outlet_energy", {} if outlet_energy is None else outlet_energy)
        _set(self, "timestamp", timestamp)

    @property
    def power_w(self) -> float | None:
        """Device power: the meter, or the sum over metered outlets."""
        if self.energy is not None:
            return self.energy.power_w
        if self.outlet_energy:
            return sum(r.power_w or 0.0 for r in self.outlet_energy.values())
        return None

    def outlets_total(self) -> EnergyReading | None:
        """A strip's reading from its outlets: W, A and kWh summed, the highest voltage.

        Outlets share one mains supply, so their voltages differ only by meter
        noise. None when no outlet is metered.
        """
        if not self.outlet_energy:
            return None
        power = voltage = current = total = None  # None: no outlet knows it
        for r in self.outlet_energy.values():  # one pass: watch --json does this every poll
            if r.power_w is not None:
                power = 0 + r.power_w if power is None else power + r.power_w  # as sum() does
            if r.voltage_v is not None and (voltage is None or r.voltage_v > voltage):
                voltage = r.voltage_v
            if r.current_a is not None:
                current = 0 + r.current_a if current is None else current + r.current_a
            if r.total_kwh is not None:
                total = 0 + r.total_kwh if total is None else total + r.total_kwh
        return EnergyReading(power, voltage, current, total)
