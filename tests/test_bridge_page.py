"""The phone page in a real browser: Debian's headless Chromium driven by Selenium.

Selenium Manager never runs (the driver and the browser are given by path), the
profile is fresh, and Chromium's own background traffic is switched off. A click on
a toggle must switch the simulated device, and the page must follow by itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from bridge_helpers import BridgeProcess, eventually, save_devices
from browser import headless_chromium

from tplink_tui.simulator import ThreadedSimulator


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with headless_chromium(tmp_path / "profile", monkeypatch, page_load_timeout=20) as driver:
        yield driver
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_clicking_a_toggle_switches_the_simulated_device(browser: object, tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    with ThreadedSimulator(seed=1234) as sim:
        lamp = sim.add("hs100", "Lamp")
        desk = sim.add("hs300", "Desk")
        sim.call(lamp.set_relay, True)
        sim.call(desk.set_relay, True)
        save_devices(tmp_path / "devices.json", [("Lamp", lamp, "Hall"), ("Desk", desk, "")])
        bridge = BridgeProcess(tmp_path, "--interval", "0.5").wait_ready()
        try:
            browser.get(bridge.url + "/")

            def button(device: str, outlet: str = "") -> Any:
                css = f'button[data-device="{device}"][data-outlet="{outlet}"]'
                try:
                    found = browser.find_elements(By.CSS_SELECTOR, css)
                    return found[0] if found and found[0].is_enabled() else None
                except StaleElementReferenceException:  # a card rebuilt as the shape changed
                    return None

            lamp_button = eventually(lambda: button("Lamp"), what="the Lamp button")
            assert lamp_button.get_attribute("data-state") == "on"
            lamp_button.click()
            eventually(lambda: not lamp.relay_on, what="the simulated Lamp switched off")
            eventually(
                lambda: (b := button("Lamp")) and b.get_attribute("data-state") == "off",
                what="the page shows it off",
            )
            outlet = eventually(lambda: button("Desk", "3"), what="Desk outlet 3")
            outlet.click()
            eventually(lambda: not desk.outlets[3].is_on, what="outlet 3 switched off")
            assert desk.outlets[2].is_on
            # The page follows a change made elsewhere by itself (it polls the REST API).
            sim.call(lamp.set_relay, True)
            eventually(
                lambda: (b := button("Lamp")) and b.get_attribute("data-state") == "on",
                what="the page follows the device",
            )
            names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".card .name")]
            assert names == ["Lamp", "Desk"]
            errors = [
                entry
                for entry in cast(Any, browser).get_log("browser")
                if entry.get("level") == "SEVERE" and "favicon" not in entry.get("message", "")
            ]
            assert not errors, errors  # no CSP violation, no script error
        finally:
            assert bridge.stop() == 0
