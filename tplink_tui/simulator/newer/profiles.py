"""Newer simulated models: which transport, login version and dialect each speaks."""

from __future__ import annotations

from dataclasses import dataclass

from ..profiles import Profile

KASA_PLUG = "SMART.KASAPLUG"
TAPO_PLUG = "SMART.TAPOPLUG"
IOT_PLUG = "IOT.SMARTPLUGSWITCH"


@dataclass(frozen=True, slots=True)
class NewerProfile:
    """Static facts about one newer model and firmware."""

    key: str
    model: str  # as get_device_info reports it (no region suffix)
    device_type: str
    encrypt_type: str  # "KLAP" or "AES"
    login_version: int  # KLAP: auth hash version; AES: login_device version
    hw_ver: str
    fw_ver: str
    region: str
    outlets: int = 0  # 0: a plug; n: a strip with n outlets
    metered: bool = False
    oui: str = "5C628B"
    dialect: str = "smart"  # "smart", or "iot" for the old JSON over KLAP

    @property
    def is_strip(self) -> bool:
        return self.outlets > 0

    def identity_profile(self) -> Profile:
        """An old-style profile, only to derive a seeded identity the same way."""
        return Profile(self.key, self.model, self.hw_ver, self.fw_ver, self.region, oui=self.oui)


NEWER_PROFILES: dict[str, NewerProfile] = {
    p.key: p
    for p in (
        NewerProfile("kp125m", "KP125M", KASA_PLUG, "KLAP", 2, "1.0",
                     "1.1.3 Build 230801 Rel.092557",
                     "US", metered=True),
        NewerProfile("ep25", "EP25", KASA_PLUG, "AES", 2, "2.6", "1.0.1 Build 230614 Rel.150219",
                     "US", metered=True, oui="3C52A1"),
        NewerProfile("p110", "P110", TAPO_PLUG, "KLAP", 2, "1.0", "1.3.0 Build 230905 Rel.152200",
                     "EU", metered=True, oui="788CB5"),
        NewerProfile("p300", "P300", TAPO_PLUG, "KLAP", 2, "1.0", "1.0.13 Build 230925 Rel.150200",
                     "EU", outlets=3, oui="5091E3"),
        NewerProfile("p316m", "P316M", TAPO_PLUG, "KLAP", 2, "1.0", "1.0.2 Build 240328 Rel.171540",
                     "US", outlets=6, metered=True, oui="A842A1"),
        NewerProfile("hs100v41", "HS100(UK)", IOT_PLUG, "KLAP", 1, "4.1",
                     "1.1.0 Build 201016 Rel.175121", "UK", oui="B09575", dialect="iot"),
    )
}  # fmt: skip


def get_newer_profile(key: str) -> NewerProfile:
    profile = NEWER_PROFILES.get(key.strip().lower())
    if profile is None:
        raise ValueError(f"unknown newer model {key!r} (known: {', '.join(NEWER_PROFILES)})")
    return profile
