"""Device profiles: what each simulated model reports, and seeded identities.

The field names and their variants (``type``/``mic_type``, ``mac``/``mic_mac``,
``latitude``/``latitude_i``, meter formats) follow real firmware, so clients meet
the same variety they will meet on a LAN. Identities are derived from a seed so a
test or demo always sees the same deviceId and MAC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PLUG_TYPE = "IOT.SMARTPLUGSWITCH"
REGION_VOLTAGE = {"US": 120.0, "EU": 230.0, "UK": 230.0}
REGION_LOCATION = {"US": (37.3861, -122.0839), "EU": (52.5200, 13.4050), "UK": (51.5072, -0.1276)}
REGION_TIMEZONE = {"US": 6, "EU": 39, "UK": 38}


@dataclass(frozen=True, slots=True)
class Profile:
    """Static facts about one model and firmware."""

    key: str
    model: str
    hw_ver: str
    sw_ver: str
    region: str
    dev_name: str | None = None
    outlets: int = 0  # 0: a plug with one relay; n: a strip with n outlets
    meter: str | None = None  # "old" (floats), "new" (integers) or None
    type_key: str = "type"
    mac_key: str = "mac"
    mac_sep: str = ":"
    location: str = "float"  # "float" (latitude) or "int" (latitude_i, x 10^4)
    oui: str = "50C7BF"
    extra: tuple[tuple[str, object], ...] = ()
    klap_only: bool = False

    @property
    def is_strip(self) -> bool:
        return self.outlets > 0

    @property
    def feature(self) -> str:
        return "TIM:ENE" if self.meter else "TIM"

    @property
    def nominal_voltage(self) -> float:
        return REGION_VOLTAGE[self.region]


_PLUG_EXTRA: tuple[tuple[str, object], ...] = (("icon_hash", ""), ("active_mode", "none"))
_NEW_EXTRA: tuple[tuple[str, object], ...] = (
    ("icon_hash", ""),
    ("active_mode", "none"),
    ("obd_src", "tplink"),
    ("ntc_state", 0),
)

PROFILES: dict[str, Profile] = {
    p.key: p
    for p in (
        Profile(
            "hs100", "HS100(UK)", "4.1", "1.0.2 Build 200804 Rel.081010", "UK",
            dev_name="Smart Wi-Fi Plug", oui="B09575", extra=_PLUG_EXTRA,
        ),
        Profile(
            "hs103", "HS103(US)", "2.1", "1.1.4 Build 210409 Rel.113427", "US",
            dev_name="Smart Wi-Fi Plug Lite", type_key="mic_type", location="int",
            oui="1C3BF3", extra=_NEW_EXTRA,
        ),
        Profile(
            "hs105", "HS105(US)", "1.0", "1.5.6 Build 191125 Rel.083657", "US",
            dev_name="Smart Wi-Fi Plug Mini", type_key="mic_type", mac_key="mic_mac",
            mac_sep="-", extra=_PLUG_EXTRA,
        ),
        Profile(
            "hs110", "HS110(US)", "1.0", "1.2.6 Build 200727 Rel.121701", "US",
            dev_name="Wi-Fi Smart Plug With Energy Monitoring", meter="old", extra=_PLUG_EXTRA,
        ),
        Profile(
            "hs110v4", "HS110(EU)", "4.0", "1.0.4 Build 191111 Rel.143500", "EU",
            dev_name="Smart Wi-Fi Plug With Energy Monitoring", meter="new",
            type_key="mic_type", location="int", oui="B0BE76", extra=_NEW_EXTRA,
        ),
        Profile(
            "kp115", "KP115(US)", "1.0", "1.0.16 Build 210205 Rel.163735", "US",
            dev_name="Smart Wi-Fi Plug Mini", meter="new", location="int", oui="98DAC4",
            extra=_NEW_EXTRA,
        ),
        Profile(
            "hs300", "HS300(US)", "1.0", "1.0.6 Build 200821 Rel.090909", "US",
            outlets=6, meter="new", type_key="mic_type", location="int", oui="68FF7B",
            extra=(("status", "new"),),
        ),
        Profile(
            "kp303", "KP303(UK)", "1.0", "1.0.3 Build 191105 Rel.113122", "UK",
            outlets=3, type_key="mic_type", location="int", oui="1C3BF3",
            extra=(("status", "new"), ("ntc_state", 0)),
        ),
        Profile(
            "hs107", "HS107(US)", "1.0", "1.0.8 Build 200930 Rel.141336", "US",
            dev_name="Smart Wi-Fi Plug With 2 Sockets", outlets=2, type_key="mic_type",
            mac_key="mic_mac", mac_sep="-", extra=(("status", "new"),),
        ),
        Profile(
            "kp125m", "KP125M(US)", "1.0", "1.1.3 Build 230801 Rel.092557", "US",
            meter="new", oui="5C628B", klap_only=True,
        ),
    )
}  # fmt: skip


def get_profile(key: str) -> Profile:
    """Look a profile up by its key, case-insensitively (``HS110`` works too)."""
    profile = PROFILES.get(key.strip().lower())
    if profile is None:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown model {key!r} (known: {known})")
    return profile


@dataclass(frozen=True, slots=True)
class Identity:
    """What makes a device unique on a LAN."""

    device_id: str
    hw_id: str
    oem_id: str
    mac: str  # AA:BB:CC:DD:EE:FF; profiles render it with their own separator
    latitude: float
    longitude: float

    def mac_as(self, sep: str) -> str:
        return self.mac.replace(":", sep)

    def child_id(self, index: int) -> str:
        return f"{self.device_id}{index:02d}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest().upper()


def derive_identity(profile: Profile, seed: int) -> Identity:
    """Derive ids from (model, seed); hwId/oemId are per model, as on real devices."""
    h = _digest(f"tplink-tui-sim/{profile.key}/{seed}")
    mac_hex = profile.oui + h[40:46]
    mac = ":".join(mac_hex[i : i + 2] for i in range(0, 12, 2))
    lat, lon = REGION_LOCATION[profile.region]
    jitter_lat = (int(h[46:50], 16) / 0xFFFF - 0.5) * 0.2
    jitter_lon = (int(h[50:54], 16) / 0xFFFF - 0.5) * 0.2
    return Identity(
        device_id="80" + h[:38],
        hw_id=_digest(f"hw/{profile.model}/{profile.hw_ver}")[:32],
        oem_id=_digest(f"oem/{profile.model}")[:32],
        mac=mac,
        latitude=round(lat + jitter_lat, 4),
        longitude=round(lon + jitter_lon, 4),
    )


def default_alias(profile: Profile, identity: Identity) -> str:
    """The alias a factory-fresh device reports."""
    tail = identity.mac.replace(":", "")[-4:]
    kind = "Power Strip" if profile.is_strip else "Smart Plug"
    return f"TP-LINK_{kind}_{tail}"
