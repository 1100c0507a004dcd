"""Safe defaults: loopback unless asked, confirmation before harm, no shell, no double switch."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import shlex
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli

from tplink_tui import codec
from tplink_tui.cli import serve as serve_cli
from tplink_tui.cli.main import build_parser
from tplink_tui.devices.client import DeviceClient
from tplink_tui.devices.smartplug import SmartPlug
from tplink_tui.errors import DeviceTimeout, DeviceUnreachable, TplinkError
from tplink_tui.monitor import Monitor, Status
from tplink_tui.simulator import SimulatedDevice, Simulator, get_profile
from tplink_tui.simulator import simulator as simulator_mod
from tplink_tui.simulator.threaded import ThreadedSimulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.screens.confirm import ConfirmScreen

ROOT = Path(__file__).resolve().parent.parent


# -- loopback unless told otherwise ---------------------------------------------------------


async def test_simulator_binds_loopback_by_default(simulator: Simulator) -> None:
    assert Simulator().host == "127.0.0.1"
    dev = await simulator.add("hs110")
    assert dev.host == "127.0.0.1"
    server = simulator._servers[id(dev)]
    assert server._listening is not None
    listening = await server._listening
    assert {s.getsockname()[0] for s in listening.sockets} == {"127.0.0.1"}
    assert server.udp is not None
    assert server.udp.get_extra_info("sockname")[0] == "127.0.0.1"
    assert simulator.broadcast == "127.255.255.255"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
async def test_simulator_warns_before_binding_elsewhere(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NotBound(Exception):
        pass

    async def refuse(self: Any, udp_port: int | None = None) -> None:
        raise NotBound  # the warning must come before any socket is bound

    monkeypatch.setattr(simulator_mod.DeviceServer, "start", refuse)
    async with Simulator(discovery_port=None, klap_port=None) as sim:
        with (
            pytest.warns(UserWarning, match="outside loopback: reachable from the network"),
            pytest.raises(NotBound),
        ):
            await sim.add("hs110", host=host)


async def test_simulator_on_other_loopback_addresses_is_quiet(simulator: Simulator) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dev = await simulator.add("hs105", host="127.0.0.9")
    assert dev.host == "127.0.0.9"


def test_command_line_defaults_are_loopback() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).host == "127.0.0.1"
    assert parser.parse_args(["simulate", "hs110"]).host == "127.0.0.1"


@pytest.mark.parametrize(
    "host,loopback",
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.2", False),
        ("10.0.0.1", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_serve_is_loopback(host: str, loopback: bool) -> None:
    assert serve_cli.is_loopback(host) is loopback


class FakeServer:
    """Stands in for textual_serve's Server: records, serves nothing."""

    made: list[FakeServer] = []

    def __init__(self, command: str, host: str = "", port: int = 0, **kw: Any) -> None:
        self.command, self.host, self.port = command, host, port
        self.served = False
        FakeServer.made.append(self)

    def serve(self, debug: bool = False) -> None:
        self.served = True


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeServer]]:
    import textual_serve.server

    FakeServer.made = []
    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    yield FakeServer


def test_serve_defaults_to_loopback_quietly(
    fake_server: type[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "serve")
    assert code == 0 and err == ""
    (server,) = fake_server.made
    assert (server.host, server.port, server.served) == ("127.0.0.1", 8000, True)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.2", "::"])
def test_serve_elsewhere_warns_loudly(
    host: str, fake_server: type[FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "serve", "--host", host, "--port", "8123")
    assert code == 0
    assert err.startswith("WARNING: ") and f"serving on {host}, which is not loopback" in err
    assert "no authentication" in err and f"{host}:8123 can switch your plugs" in err
    assert fake_server.made[0].host == host


def test_serve_command_is_quoted_for_the_shell(
    fake_server: type[FakeServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # textual-serve starts the command with a shell: it must arrive fully quoted.
    odd = "/opt/my python; rm -rf ~/$HOME/`x`/bin/python3"
    monkeypatch.setattr(sys, "executable", odd)
    assert cli(capsys, "serve", "--demo")[0] == 0
    assert shlex.split(fake_server.made[0].command) == [odd, "-m", "tplink_tui", "--demo"]


# -- confirmation before harm ------------------------------------------------------------------

DANGEROUS = {
    "reboot": ["reboot", "{addr}"],
    "reset": ["reset", "{addr}"],
    "energy-erase": ["energy", "{addr}", "--erase"],
    "energy-erase-outlet": ["energy", "{strip}", "-o", "1", "--erase"],
    "send-reboot": ["send", "-t", "{addr}", "-c", "reboot"],
    "send-reset": ["send", "-t", "{addr}", "-c", "reset"],
    "send-energy-reset": ["send", "-t", "{addr}", "-c", "energy_reset"],
    "send-runtime-reset": ["send", "-t", "{addr}", "-c", "runtime_reset"],
    "send-json-reboot": ["send", "-t", "{addr}", "-j", '{"system":{"reboot":{"delay":1}}}'],
    "send-json-mixed": [
        "send",
        "-t",
        "{addr}",
        "-j",
        '{"system":{"get_sysinfo":{},"reset":{"delay":1}}}',
    ],
}


@pytest.fixture
def targets(sim_thread: ThreadedSimulator) -> dict[str, SimulatedDevice]:
    return {"addr": sim_thread.add("hs110"), "strip": sim_thread.add("hs300")}


@pytest.mark.parametrize("case", list(DANGEROUS))
@pytest.mark.parametrize("stdin", ["y\n", ""], ids=["piped-yes", "empty"])
def test_harmful_commands_need_yes_without_a_terminal(
    case: str,
    stdin: str,
    targets: dict[str, SimulatedDevice],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a TTY; "y" is not consent
    where = {k: f"{d.host}:{d.port}" for k, d in targets.items()}
    argv = [where.get(arg.strip("{}"), arg) for arg in DANGEROUS[case]]
    before = {k: d.requests for k, d in targets.items()}
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "refusing without --yes" in lines[0]
    assert {k: d.requests for k, d in targets.items()} == before  # nothing was sent at all
    assert not any(d.booting for d in targets.values())


def test_harmless_send_needs_no_confirmation(
    targets: dict[str, SimulatedDevice],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    dev = targets["addr"]
    assert cli(capsys, "send", "-t", f"{dev.host}:{dev.port}", "-c", "info")[0] == 0
    assert cli(capsys, "energy", f"{dev.host}:{dev.port}")[0] == 0


async def test_dashboard_asks_before_reboot_and_switching_all(
    simulator: Simulator, tmp_path: Path
) -> None:
    strip = await simulator.add("hs300", "Desk", on=True)
    store = ConfigStore(tmp_path / "config.json")
    store.add_device(SavedDevice("Desk", strip.host, strip.port))
    app = TplinkApp(store, monitor=Monitor(interval=0.1, timeout=0.5), history=False)
    key = f"{strip.host}:{strip.port}"
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(100):
            if app.views[key].status is Status.ONLINE:
                break
            await pilot.pause(0.05)
        app.select_device(key)
        await pilot.pause(0.1)
        for keys in ("b", "f", "space"):  # reboot, all off, toggle a whole strip
            await pilot.press(keys)
            await pilot.pause(0.1)
            assert isinstance(app.screen, ConfirmScreen), keys
            await pilot.press("n")
            await pilot.pause(0.3)
            assert not isinstance(app.screen, ConfirmScreen)
            assert strip.booting is False and all(o.is_on for o in strip.outlets)
        await pilot.press("q")


# -- nothing through a shell ----------------------------------------------------------------------


def _shell_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = (
            (func.attr if isinstance(func, ast.Attribute) else func.id)
            if isinstance(func, (ast.Attribute, ast.Name))
            else ""
        )
        owner = (
            func.value.id
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            else ""
        )
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if (owner, name) in {("os", "system"), ("os", "popen")} or name in {
            "create_subprocess_shell",
            "getoutput",
            "getstatusoutput",
        }:
            found.append(f"{where} {owner}.{name}")
        if name.startswith("exec") and owner == "os":
            found.append(f"{where} os.{name}")
        for kw in node.keywords:
            shell_off = isinstance(kw.value, ast.Constant) and not kw.value.value
            if kw.arg == "shell" and not shell_off:
                found.append(f"{where} shell=")
    return found


def test_no_module_runs_anything_through_a_shell() -> None:
    files = [*(ROOT / "tplink_tui").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    assert len(files) > 40
    offenders = [use for path in files for use in _shell_uses(path)]
    assert offenders == []


def test_the_shell_scanner_catches_what_it_should(tmp_path: Path) -> None:
    bad = ROOT / "tests" / "_shell_probe_tmp.py"
    try:
        bad.write_text(
            "import os, subprocess, asyncio\n"
            "os.system('x')\n"
            "subprocess.run('x', shell=True)\n"
            "subprocess.Popen(['x'], shell=flag)\n"
            "asyncio.create_subprocess_shell('x')\n"
            "subprocess.run(['x'], shell=False)\n"
        )
        assert len(_shell_uses(bad)) == 4
    finally:
        bad.unlink()


# -- no retry can switch a relay twice ---------------------------------------------------


class RelayTrap:
    """A plug that answers everything except set_relay_state, where it ``closes`` the
    connection, ``resets`` it, or stays ``silent``; it counts every relay request."""

    def __init__(self, mode: str, model: str = "hs105") -> None:
        self.mode = mode
        self.device = SimulatedDevice(get_profile(model), seed=5)
        self.relay_requests = 0
        self.requests = 0
        self.connections = 0
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> RelayTrap:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                header = await reader.readexactly(4)
                plain = codec.decrypt(await reader.readexactly(codec.parse_header(header)))
                self.requests += 1
                if "set_relay_state" in json.loads(plain).get("system", {}):
                    self.relay_requests += 1
                    if self.mode == "close":
                        writer.close()
                        return
                    if self.mode == "reset":
                        writer.transport.abort()
                        return
                    continue  # silent: never answer
                writer.write(codec.frame(self.device.handle(plain)))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


MODES = ["close", "reset", "silent"]


def _expected(mode: str) -> type[TplinkError]:
    return DeviceTimeout if mode == "silent" else DeviceUnreachable


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ["turn_on", "turn_off", "toggle", "outlet"])
async def test_client_never_switches_twice(mode: str, action: str) -> None:
    trap = await RelayTrap(mode, "hs300" if action == "outlet" else "hs105").start()
    try:
        async with DeviceClient("127.0.0.1", trap.port, timeout=0.3) as client:
            await client.get_sysinfo()  # a kept-alive connection: the retry path is armed
            with pytest.raises(_expected(mode)):
                if action == "outlet":
                    await client.set_relay(True, outlet=1)
                else:
                    await getattr(client, action)()
            await asyncio.sleep(0.3)  # no late second attempt either
            assert trap.relay_requests == 1
            # The client is still usable afterwards (reads may reconnect).
            if mode != "silent":
                await client.get_sysinfo()
                assert trap.relay_requests == 1
    finally:
        await trap.stop()


@pytest.mark.parametrize("mode", MODES)
async def test_monitor_shared_client_never_switches_twice(mode: str) -> None:
    """The dashboard switches through the monitor's client, between polls."""
    trap = await RelayTrap(mode).start()
    monitor = Monitor(interval=0.05, timeout=0.3, max_backoff=0.1)
    monitor.add("plug", "127.0.0.1", trap.port)
    monitor.start()
    try:
        for _ in range(100):
            if monitor.snapshot("plug").status is Status.ONLINE:
                break
            await asyncio.sleep(0.02)
        with pytest.raises(_expected(mode)):
            await monitor.client("plug").turn_off()
        await asyncio.sleep(0.4)  # polls go on, with reconnects: never a relay resend
        assert trap.relay_requests == 1
        assert trap.requests > trap.relay_requests + 2
    finally:
        await monitor.stop()
        await trap.stop()


class ThreadedTrap:
    """A RelayTrap in its own thread, for code that runs its own event loop."""

    def __init__(self, mode: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.trap = self._run(RelayTrap(mode).start())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self._run(self.trap.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.mark.parametrize("mode", MODES)
def test_cli_and_smartplug_never_switch_twice(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    threaded = ThreadedTrap(mode)
    trap = threaded.trap
    target = f"127.0.0.1:{trap.port}"
    expected = 3  # unreachable or timed out
    try:
        for argv in (["on", target], ["toggle", target], ["send", "-t", target, "-c", "off"]):
            before = trap.relay_requests
            code, out, err = cli(capsys, "--timeout", "0.3", *argv)
            assert (code, out) == (expected, ""), err
            assert len(err.strip().splitlines()) == 1 and target in err
            assert trap.relay_requests == before + 1, argv
        before = trap.relay_requests
        plug = SmartPlug("127.0.0.1", trap.port, timeout=0.3)
        try:
            assert plug.model.startswith("HS105")  # connected and kept alive
            with pytest.raises(_expected(mode)):
                plug.turn_on()
        finally:
            plug.close()
        assert trap.relay_requests == before + 1
    finally:
        threaded.close()
