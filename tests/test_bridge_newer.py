"""The bridge over a newer device (KLAP over HTTP, the smart dialect) with its saved login:
the REST API, the old web app's API and the metrics work the same, and the password
appears nowhere the bridge writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_helpers import BridgeProcess, call, eventually
from test_newer_cli import NewerThread, smart

from tplink_tui.simulator.newer import TEST_USERNAME
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.credentials import CredentialStore
from tplink_tui.transports.errors import Credentials

SECRET = "Br1dge-Secret-Pass"


@pytest.fixture
def newer() -> Iterator[NewerThread]:
    sim = NewerThread()
    try:
        yield sim
    finally:
        sim.close()


def test_newer_strip_through_every_front_end(newer: NewerThread, tmp_path: Path) -> None:
    device = newer.add("p316m", password=SECRET)
    saved = SavedDevice("Office", device.host, device.port, transport="klap")
    ConfigStore(tmp_path / "devices.json").update(lambda cfg: cfg.devices.append(saved))
    CredentialStore(tmp_path / "credentials.json").set(
        saved.address, Credentials(TEST_USERNAME, SECRET)
    )
    bridge = BridgeProcess(tmp_path, "--interval", "0.5").wait_ready()
    try:
        url = bridge.url
        view = eventually(
            lambda: (v := call(url, "GET", "/api/devices/Office")[2])["online"] and v,
            what="the newer strip online",
        )
        assert view["model"] == "P316M" and len(view["outlets"]) == 6
        status, _, data = call(url, "POST", "/api/devices/Office/off?outlet=5")
        assert status == 200 and data["is_on"] is False, data
        assert smart(device).outlets[5].on is False
        status, _, reply = call(url, "POST", "/", {"request": "get_relay_state", "ip": "Office"})
        assert status == 200 and reply == {"relay_state": 1}  # other outlets are on
        status, _, reply = call(url, "POST", "/", {"request": "get_info", "ip": "Office"})
        assert status == 200 and reply["system"]["get_sysinfo"]["err_code"] == 0
        off = 'tplink_relay_on{device="Office",model="P316M",outlet="5",room=""} 0.0'

        def scraped() -> str | None:
            text = str(call(url, "GET", "/metrics")[2])
            return text if off in text else None

        text = eventually(scraped, what="outlet 5 off in the metrics")
        assert 'tplink_device_up{device="Office",model="P316M",outlet="",room=""} 1.0' in text
    finally:
        assert bridge.stop() == 0
    assert SECRET not in bridge.stderr() and "Traceback" not in bridge.stderr()
