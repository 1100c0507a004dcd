"""The dashboard's traffic pane imports a capture file (``i``) into the same pane."""

from __future__ import annotations

import json
from pathlib import Path

from test_capture_support import Relay, write_capture
from textual.app import App
from textual.widgets import Input, RichLog

from tplink_tui.devices.client import DeviceClient
from tplink_tui.simulator import SimulatedDevice, Simulator
from tplink_tui.tui.screens.prompt import PromptScreen
from tplink_tui.tui.screens.traffic import TrafficScreen, parse_import


class PaneApp(App[None]):
    """The pane as the dashboard opens it on a device (its live filter on)."""

    def __init__(self, focus: tuple[str, int] = ("127.0.0.1", 1)) -> None:
        super().__init__()
        self.focus = focus

    def on_mount(self) -> None:
        self.push_screen(TrafficScreen(self.focus))


def log_lines(app: App[None]) -> list[str]:
    return [strip.text for strip in app.screen.query_one(RichLog).lines]


async def make_capture(simulator: Simulator, path: Path) -> tuple[Relay, SimulatedDevice]:
    """Real traffic to a simulated strip through our relay, written as pcapng with dpkt."""
    strip = await simulator.add("hs300", "Bench [b]")  # markup-like text from the device
    relay = Relay((strip.host, strip.port))
    port = await relay.start()
    client = DeviceClient("127.0.0.1", port)
    await client.update()
    await client.turn_off(outlet=3)
    await client.close()
    await relay.stop()
    write_capture(relay, path, size=100, pcapng=True)
    return relay, strip


async def test_import_a_capture_into_the_traffic_pane(simulator: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "bench.pcapng"
    relay, strip = await make_capture(simulator, path)
    outlet_id = strip.outlets[3].id
    app = PaneApp((strip.host, strip.port))  # the capture went through the relay's port
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert "i: import a capture…" in str(app.screen.query_one("#traffic-title").render())
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = f"{path} {relay.port}"
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.05)
            if any(line.startswith("— end of") for line in log_lines(app)):
                break
        pane = app.screen
        assert isinstance(pane, TrafficScreen)  # the same pane shows it
        lines = log_lines(app)
        title = str(pane.query_one("#traffic-title").render())
        assert "Capture bench.pcapng" in title and "l: back to live" in title
        # Live lines wait while the capture is shown; l goes back to them.
        client = DeviceClient(strip.host, strip.port)
        await client.get_sysinfo()
        await pilot.pause()
        assert log_lines(app) == lines
        await pilot.press("l")
        await pilot.pause()
        await client.get_sysinfo()
        await client.close()
        await pilot.pause()
        live = [line.split(" ", 2)[1:] for line in log_lines(app)]
        assert [d for d, _ in live] == ["->", "<-"]
        assert all(rest.startswith(f"{strip.host}:{strip.port} ") for _, rest in live)
    assert lines[0].startswith(f"— {path}: ")
    assert "messages decoded, 0 undecodable" in lines[0]
    requests = [line for line in lines if f" -> 127.0.0.1:{relay.port} " in line]
    replies = [line for line in lines if f" <- 127.0.0.1:{relay.port} " in line]
    assert len(requests) == len(replies) >= 8  # sysinfo, 6 meters, a switch
    switch = next(line for line in requests if "set_relay_state" in line)
    assert json.loads(switch.split(f"{relay.port} ", 1)[1]) == {
        "context": {"child_ids": [outlet_id]},
        "system": {"set_relay_state": {"state": 0}},
    }
    assert any('"alias":"Bench [b]"' in line for line in replies)  # shown as text


async def test_import_refuses_what_is_no_capture(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    app = PaneApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        prompt = app.screen
        prompt.query_one(Input).value = str(notes)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt  # still asking
        assert "not a pcap or pcapng capture" in str(prompt.query_one("#prompt-error").render())
        prompt.query_one(Input).value = f"{tmp_path / 'missing.pcap'}"
        await pilot.press("enter")
        await pilot.pause()
        assert "cannot open it" in str(prompt.query_one("#prompt-error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TrafficScreen)
        assert log_lines(app) == []


def test_parse_import() -> None:
    assert parse_import("'a b.pcap' 10000 9999") == (Path("a b.pcap"), [10000, 9999])
    assert parse_import("x.pcapng") == (Path("x.pcapng"), [9999])
