"""The fault matrix: every way a device (or the network) lets us down, seen by every front end.

Rows are faults injected into simulated devices on loopback. Columns:

- ``cli``: ``tplink-tui info`` prints its one documented error line on stderr (naming
  the device and the cause) and exits with the documented code; once the fault is
  cleared the same command succeeds;
- ``monitor``: the polling engine marks the device OFFLINE with exactly one status
  change however many polls fail, keeps the last good state, and comes back ONLINE
  (again one change) when the device is healthy;
- ``dashboard``: keys still work while the device misbehaves (``s`` sorts, ``?``
  opens the help), the row says offline, one notification only, and it recovers.

Three rows need their own checks: a device flapping about every half second, a
strip whose outlet disappears between polls, and discovery flooded with garbage
datagrams next to good devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import addr, cli, error_line
from textual.widgets import DataTable, Switch

from tplink_tui import codec
from tplink_tui.discovery import discover
from tplink_tui.monitor import Monitor, Snapshot, Status
from tplink_tui.simulator import InjectedError, SimulatedDevice, Simulator
from tplink_tui.simulator.threaded import ThreadedSimulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.options import DashboardOptions
from tplink_tui.tui.screens.discover import DiscoverScreen
from tplink_tui.tui.screens.help import HelpScreen
from tplink_tui.tui.widgets.detail import OutletRow

BROADCAST = "127.255.255.255"
SIZE = (120, 36)
TIMEOUT = 0.3  # client timeout everywhere: the hanging rows cost this much per poll
FAST = {"interval": 0.05, "timeout": TIMEOUT, "max_backoff": 0.1}
UI = {"interval": 0.25, "timeout": TIMEOUT, "max_backoff": 0.25}  # fewer redraws


# -- the rows --------------------------------------------------------------------------


def _spec(spec: str) -> Callable[[SimulatedDevice], None]:
    return lambda dev: dev.faults.set(spec)


def _err_code(dev: SimulatedDevice) -> None:
    dev.faults.error = InjectedError("system", "get_sysinfo", -3, "invalid argument")


def _wrong_type(dev: SimulatedDevice) -> None:
    dev.alias = 42  # type: ignore[assignment]  # sysinfo "alias": 42, a number


def heal(dev: SimulatedDevice) -> None:
    dev.faults.clear()
    if not isinstance(dev.alias, str):
        dev.alias = "Healed"


@dataclass(frozen=True)
class Row:
    apply: Callable[[SimulatedDevice], None]
    exit_code: int  # documented: 1 device error, 3 unreachable/timeout, 5 unintelligible
    message: str  # part of the one-line error (and of the monitor's error text)


ROWS: dict[str, Row] = {
    "refused": Row(_spec("offline"), 3, "cannot connect"),
    "no-reply": Row(_spec("no_reply"), 3, f"no reply within {TIMEOUT:g} s"),
    "hang-mid-frame": Row(_spec("hang_mid_frame"), 3, f"no reply within {TIMEOUT:g} s"),
    "close-mid-frame": Row(_spec("close_mid_frame"), 5, "connection closed after 0 of"),
    "garbage": Row(_spec("garbage"), 5, "reply is not"),
    "huge-length": Row(_spec("bad_length"), 5, "over the 1048576-byte limit"),
    "invalid-utf8": Row(_spec("non_utf8"), 5, "not valid UTF-8"),
    "non-json": Row(_spec("non_json"), 5, "reply is not JSON"),
    "not-an-object": Row(_spec("not_object"), 5, "expected an object"),
    "wrong-typed-field": Row(_wrong_type, 5, "field 'alias' should be str, got int"),
    "err-code": Row(_err_code, 1, "device error -3 in system.get_sysinfo"),
}


# -- helpers ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
async def no_poll_task_outlives_its_test() -> AsyncIterator[None]:
    """However a test ends (the dashboard closed without q, a monitor stopped mid-fault),
    no poll task may keep running: one that did would hang the event loop's shutdown."""
    yield
    left = [t for t in asyncio.all_tasks() if t.get_name().startswith("poll ") and not t.done()]
    for task in left:
        task.cancel()
    assert [t.get_name() for t in left] == []


def on_sim(sim: ThreadedSimulator, fn: Callable[[SimulatedDevice], None], dev: Any) -> None:
    """Run ``fn(dev)`` on the simulator's loop and let its sockets follow."""

    async def go() -> None:
        fn(dev)
        await asyncio.sleep(0.02)  # reopening a listening socket is asynchronous

    sim.run(go())


async def until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s: {what}")
        await asyncio.sleep(0.02)


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.03)


class Recorder:
    """Every snapshot a monitor publishes, with helpers to count status changes."""

    def __init__(self, monitor: Monitor) -> None:
        self.snaps: list[Snapshot] = []
        monitor.subscribe(self.snaps.append)

    def mark(self) -> int:
        return len(self.snaps)

    def changes(self, key: str, status: Status, since: int = 0) -> int:
        return sum(
            1
            for s in self.snaps[since:]
            if s.key == key and s.status_changed and s.status is status
        )

    def count(self, key: str, status: Status, since: int = 0) -> int:
        return sum(1 for s in self.snaps[since:] if s.key == key and s.status is status)


class Notes:
    """Wraps ``app.notify`` to keep every message."""

    def __init__(self, app: TplinkApp) -> None:
        self.messages: list[str] = []
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            self.messages.append(str(message))
            original(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]

    def count(self, text: str) -> int:
        return sum(text in m for m in self.messages)


def make_app(tmp_path: Path, devices: list[tuple[str, SimulatedDevice]], **kw: Any) -> TplinkApp:
    store = ConfigStore(tmp_path / "config.json")
    for name, dev in devices:
        store.add_device(SavedDevice(name, dev.host, dev.port, room=name[0]))
    return TplinkApp(store, monitor=Monitor(**UI), history=False, **kw)


def row_text(app: TplinkApp, key: str) -> str:
    return " ".join(cell.plain for cell in app.table.get_row(key))


async def still_responsive(app: TplinkApp, pilot: Any) -> None:
    """``s`` changes the sort at once and ``?`` opens the help (closed again here)."""
    before = app.controller.sort
    await pilot.press("s")
    assert app.controller.sort != before
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=2.0)
    app.pop_screen()


# -- column 1: the CLI ----------------------------------------------------------------------


@pytest.mark.parametrize("row", list(ROWS))
def test_cli(row: str, sim_thread: ThreadedSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    dev = sim_thread.add("hs110", alias="Kettle")
    argv = ("--timeout", str(TIMEOUT), "info", addr(dev))
    assert cli(capsys, *argv)[0] == 0
    on_sim(sim_thread, ROWS[row].apply, dev)
    code, out, err = cli(capsys, *argv)
    line = error_line(err)
    assert (code, out) == (ROWS[row].exit_code, ""), line
    assert addr(dev) in line and ROWS[row].message in line, line
    on_sim(sim_thread, heal, dev)
    code, out, err = cli(capsys, *argv)
    assert code == 0 and err == "" and "HS110" in out


def test_cli_flapping(sim_thread: ThreadedSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    dev = sim_thread.add("hs105", alias="Lamp")
    on_sim(sim_thread, _spec("flap=0.4"), dev)
    codes: set[int] = set()
    deadline = time.monotonic() + 5.0
    while codes != {0, 3} and time.monotonic() < deadline:
        code, out, err = cli(capsys, "--timeout", str(TIMEOUT), "--json", "info", addr(dev))
        codes.add(code)
        if code == 0:
            assert err == "" and '"alias": "Lamp"' in out
        else:
            assert code == 3 and out == "" and addr(dev) in error_line(err)
        time.sleep(0.1)
    assert codes == {0, 3}
    on_sim(sim_thread, heal, dev)
    assert all(cli(capsys, "info", addr(dev))[0] == 0 for _ in range(3))


def test_cli_strip_outlet_disappears(
    sim_thread: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    strip = sim_thread.add("hs300", alias="Desk")
    gone = strip.outlets[5]
    removed = sim_thread.call(strip.remove_outlet, 5)
    assert removed is gone
    code, out, err = cli(capsys, "--json", "info", addr(strip))
    assert code == 0 and err == ""
    assert out.count('"index"') == 5
    for spec in (gone.id, "5", gone.id[-2:]):
        code, out, err = cli(capsys, "on", addr(strip), "-o", spec)
        assert (code, out) == (2, ""), err
        assert "no outlet" in error_line(err) and "5 outlets" in err
    sim_thread.call(strip.restore_outlet, gone)
    gone.is_on = False
    assert cli(capsys, "on", addr(strip), "-o", "5")[0] == 0
    assert gone.is_on


# -- column 2: the monitor ---------------------------------------------------------------------


@pytest.mark.parametrize("row", list(ROWS))
async def test_monitor(row: str, simulator: Simulator) -> None:
    dev = await simulator.add("hs110", "Kettle")
    monitor = Monitor(**FAST)
    seen = Recorder(monitor)
    key = addr(dev)
    monitor.add(key, dev.host, dev.port)
    monitor.start()
    try:
        await until(lambda: monitor.snapshot(key).status is Status.ONLINE, what="first poll")
        good = monitor.snapshot(key).state
        mark = seen.mark()
        ROWS[row].apply(dev)
        # Several failed polls in a row, but one status change.
        await until(lambda: seen.count(key, Status.OFFLINE, mark) >= 3, what="3 failures")
        assert seen.changes(key, Status.OFFLINE, mark) == 1
        snap = monitor.snapshot(key)
        assert snap.status is Status.OFFLINE and ROWS[row].message in (snap.error or "")
        assert snap.state is good and snap.offline_since is not None  # the last good state
        mark = seen.mark()
        heal(dev)
        await until(lambda: monitor.snapshot(key).status is Status.ONLINE, what="recovery")
        after = seen.mark()
        await until(lambda: seen.count(key, Status.ONLINE, after) >= 3, what="stays online")
        assert seen.changes(key, Status.ONLINE, mark) == 1
        assert seen.changes(key, Status.OFFLINE, mark) == 0
        assert monitor.snapshot(key).error is None
    finally:
        await monitor.stop()


async def test_monitor_flapping(simulator: Simulator) -> None:
    dev = await simulator.add("hs105", "Lamp", faults=["flap=0.3"])
    downs = 0
    was_down = False

    def count_downs() -> None:
        nonlocal downs, was_down
        if dev.flap_down and not was_down:
            downs += 1
        was_down = dev.flap_down

    monitor = Monitor(**FAST)
    seen = Recorder(monitor)
    key = addr(dev)
    monitor.add(key, dev.host, dev.port)
    monitor.start()
    try:
        deadline = time.monotonic() + 1.6
        while time.monotonic() < deadline:
            count_downs()
            await asyncio.sleep(0.01)
        went_offline = seen.changes(key, Status.OFFLINE)
        failures = seen.count(key, Status.OFFLINE)
        assert downs >= 2 and 1 <= went_offline <= downs + 1
        assert failures > went_offline  # several failures per outage, one change each
        dev.faults.flap = None
        await until(lambda: monitor.snapshot(key).status is Status.ONLINE, what="recovery")
        mark = seen.mark()
        await until(lambda: seen.count(key, Status.ONLINE, mark) >= 5, what="stays online")
        assert seen.changes(key, Status.OFFLINE, mark) == 0
    finally:
        await monitor.stop()


async def test_monitor_strip_outlet_disappears(simulator: Simulator) -> None:
    strip = await simulator.add("hs300", "Desk")
    monitor = Monitor(**FAST)
    seen = Recorder(monitor)
    key = addr(strip)
    plan: list[Callable[[], object]] = []

    def between_polls(snap: Snapshot) -> None:
        # Change the strip right after a poll finished: strictly between two polls.
        if plan:
            plan.pop()()

    monitor.subscribe(between_polls)
    monitor.add(key, strip.host, strip.port)
    monitor.start()

    def outlets() -> int:
        state = monitor.snapshot(key).state
        return len(state.sysinfo.children) if state else -1

    try:
        await until(lambda: outlets() == 6, what="six outlets")
        gone = strip.outlets[3]
        plan.append(lambda: strip.remove_outlet(3))
        await until(lambda: outlets() == 5, what="five outlets")
        state = monitor.snapshot(key).state
        assert state is not None
        assert gone.id not in [o.id for o in state.sysinfo.children]
        assert sorted(state.outlet_energy) == [0, 1, 2, 3, 4]  # one reading per outlet left
        plan.append(lambda: strip.restore_outlet(gone))
        await until(lambda: outlets() == 6, what="six again")
        # Never offline: a strip with fewer outlets is a healthy strip.
        assert seen.changes(key, Status.OFFLINE) == 0
        assert seen.count(key, Status.OFFLINE) == 0
    finally:
        await monitor.stop()


async def test_monitor_stop_ends_every_poll_mid_fault(simulator: Simulator) -> None:
    """stop() lands at random moments of failing polls (connecting, timing out, closing
    a broken socket): every poll task ends, none swallows its cancellation."""
    rng = random.Random(3)
    faults = [None, "no_reply", "hang_mid_frame", "close_mid_frame", "offline", "garbage"]
    devices = [await simulator.add("hs105", faults=[f] if f else None) for f in faults * 2]
    for _ in range(40):
        monitor = Monitor(interval=0.0, timeout=0.03, max_backoff=0.01)
        for i, dev in enumerate(devices):
            monitor.add(str(i), dev.host, dev.port)
        monitor.start()
        tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("poll ")]
        await asyncio.sleep(rng.uniform(0.0, 0.08))
        await monitor.stop()
        assert [t.get_name() for t in tasks if not t.done()] == []


# -- column 3: the dashboard ----------------------------------------------------------------


@pytest.mark.parametrize("row", list(ROWS))
async def test_dashboard(row: str, simulator: Simulator, tmp_path: Path) -> None:
    dev = await simulator.add("hs110", "Kettle")
    other = await simulator.add("hs105", "Lamp")
    app = make_app(tmp_path, [("Kettle", dev), ("Lamp", other)])
    key, other_key = addr(dev), addr(other)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        seen = Recorder(app.monitor)
        await wait_for(pilot, lambda: app.views[key].online and app.views[other_key].online)
        app.select_device(key)
        await wait_for(pilot, lambda: app.detail.device_key == key)
        mark = seen.mark()
        ROWS[row].apply(dev)
        await pilot.pause(0.1)  # a poll is now failing (or stuck inside a reply)
        await still_responsive(app, pilot)
        await wait_for(pilot, lambda: "offline" in row_text(app, key))
        await wait_for(pilot, lambda: all(s.disabled for s in app.detail.query(Switch)))
        await wait_for(pilot, lambda: seen.count(key, Status.OFFLINE, mark) >= 2)
        assert notes.count("Kettle went offline") == 1  # two failures, one notification
        assert app.views[other_key].online and "online" in row_text(app, other_key)
        heal(dev)
        await wait_for(pilot, lambda: "online" in row_text(app, key))
        await wait_for(pilot, lambda: not any(s.disabled for s in app.detail.query(Switch)))
        assert notes.count("Kettle is back online") == 1


async def test_dashboard_flapping(simulator: Simulator, tmp_path: Path) -> None:
    dev = await simulator.add("hs105", "Lamp")
    app = make_app(tmp_path, [("Lamp", dev)])
    key = addr(dev)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await wait_for(pilot, lambda: "online" in row_text(app, key))
        dev.faults.flap = 0.3
        shown: set[str] = set()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            shown.add(row_text(app, key).split()[1])  # "● online" / "○ offline 0s"
            await pilot.pause(0.05)
        assert shown == {"online", "offline"}
        await still_responsive(app, pilot)
        outages = notes.count("Lamp went offline")
        assert 1 <= outages <= 4  # at most one per 0.6 s cycle, never one per failed poll
        assert notes.count("Lamp is back online") in (outages - 1, outages)
        dev.faults.flap = None
        await wait_for(pilot, lambda: "online" in row_text(app, key))
        await pilot.pause(0.5)
        assert "online" in row_text(app, key)


async def test_dashboard_strip_outlet_disappears(simulator: Simulator, tmp_path: Path) -> None:
    strip = await simulator.add("kp303", "Porch")  # 3 outlets, light to redraw
    app = make_app(tmp_path, [("Porch", strip)])
    key = addr(strip)
    plan: list[Callable[[], object]] = []
    async with app.run_test(size=SIZE) as pilot:
        app.monitor.subscribe(lambda snap: plan.pop()() if plan else None)
        notes = Notes(app)
        await wait_for(pilot, lambda: app.views[key].online)
        app.select_device(key)
        await wait_for(pilot, lambda: len(app.detail.query(OutletRow)) == 3)
        app.detail.query(OutletRow)[2].query_one(Switch).focus()  # the last outlet's switch
        await pilot.pause()
        assert app.focused_outlet() == 2
        gone = strip.outlets[2]
        plan.append(lambda: strip.remove_outlet(2))
        await wait_for(pilot, lambda: len(app.detail.query(OutletRow)) == 2)
        assert "/2 on" in row_text(app, key)
        # Keys that act on "the focused outlet" must not reach for the vanished one.
        for keys in (("n", "escape"), ("t", "escape")):
            await pilot.press(*keys)
        await still_responsive(app, pilot)
        plan.append(lambda: strip.restore_outlet(gone))
        await wait_for(pilot, lambda: len(app.detail.query(OutletRow)) == 3)
        assert app.views[key].online and notes.count("went offline") == 0


# -- discovery flooded with garbage ---------------------------------------------------------


class Flooder:
    """Listens for discovery probes on the broadcast address and, from the first probe on,
    floods every prober with junk datagrams from several loopback addresses: about 6,000
    a second, at most ``BUDGET`` per probe, for at most ``seconds``."""

    SOURCES = ("127.0.0.51", "127.0.0.52", "127.0.0.53")
    CHUNK = 10  # datagrams per source per prober, every PACE seconds
    PACE = 0.005
    BUDGET = 1500  # datagrams per probe
    JUNK = (
        b"\x00\x01garbage",
        codec.encrypt(b"not json at all"),
        codec.encrypt(b"[1, 2, 3]"),
        codec.encrypt(b'{"system": {"get_sysinfo": {"model": 42}}}'),
        codec.encrypt(b'{"system": {"get_sysinfo": {"alias": "no model"}}}'),
        b"",
    )

    def __init__(self, port: int, seconds: float = 10.0) -> None:
        self.listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listen.bind((BROADCAST, port))
        self.listen.settimeout(self.PACE)
        self.senders = []
        for host in self.SOURCES:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, 0))
            self.senders.append(sock)
        self.sent = 0
        self.probes = 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + seconds
        self._rng = random.Random(7)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        probers: set[tuple[str, int]] = set()
        budget = 0
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                _, source = self.listen.recvfrom(65536)
            except (TimeoutError, OSError):
                pass
            else:
                self.probes += 1
                probers.add(source)
                budget += self.BUDGET
            for prober in list(probers) if budget > 0 else ():
                for sock in self.senders:
                    for _ in range(self.CHUNK):
                        junk = self._rng.choice((*self.JUNK, self._rng.randbytes(64)))
                        with contextlib.suppress(OSError):  # a full buffer drops some: fine
                            sock.sendto(junk, prober)
                            self.sent += 1
                        budget -= 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for sock in (self.listen, *self.senders):
            sock.close()


@contextlib.contextmanager
def flooding(port: int) -> Iterator[Flooder]:
    flooder = Flooder(port)
    try:
        yield flooder
    finally:
        flooder.close()


def test_cli_discovery_flood(
    sim_thread: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [sim_thread.add(m) for m in ("hs110", "hs300", "kp303")]
    port = str(sim_thread.discovery_port)
    argv = ["discover", "--target", BROADCAST, "--port", port, "--timeout", "0.6"]
    argv += ["--new-protocol-port", str(sim_thread.klap_port)]
    with flooding(sim_thread.discovery_port) as flood:
        started = time.monotonic()
        code, out, err = cli(capsys, "--json", *argv)
        elapsed = time.monotonic() - started
    assert code == 0 and flood.probes >= 1 and flood.sent >= 500
    data = json.loads(out)
    assert {(d["host"], d["port"]) for d in data["devices"]} == {(d.host, d.port) for d in good}
    # One report per junk source, not one per datagram; none blames a good device.
    sources = {item["address"].split(":")[0] for item in data["invalid"]}
    assert sources <= set(Flooder.SOURCES) and len(data["invalid"]) <= len(Flooder.SOURCES)
    warnings = [line for line in err.splitlines() if "invalid discovery reply" in line]
    assert len(warnings) == len(data["invalid"])
    assert elapsed < 5.0  # the flood does not stretch the listening time


async def test_monitor_during_discovery_flood(simulator: Simulator) -> None:
    """Polling in the same loop as a flooded discovery: nothing flickers."""
    good = [await simulator.add(m) for m in ("hs110", "hs105")]
    monitor = Monitor(**FAST)
    seen = Recorder(monitor)
    for dev in good:
        monitor.add(addr(dev), dev.host, dev.port)
    monitor.start()
    try:
        await until(lambda: all(monitor.snapshot(addr(d)).status is Status.ONLINE for d in good))
        mark = seen.mark()
        assert simulator.discovery_port is not None
        with flooding(simulator.discovery_port) as flood:
            result = await discover(
                BROADCAST, simulator.discovery_port, 0.6, new_protocol_port=None
            )
        assert flood.sent >= 500
        assert {(d.host, d.port) for d in result.devices} == {(d.host, d.port) for d in good}
        for dev in good:
            assert seen.count(addr(dev), Status.ONLINE, mark) >= 3  # polls went on
            assert seen.count(addr(dev), Status.OFFLINE, mark) == 0
    finally:
        await monitor.stop()


async def test_dashboard_discovery_flood(simulator: Simulator, tmp_path: Path) -> None:
    good = [await simulator.add(m, alias) for m, alias in (("hs110", "Kettle"), ("kp303", "Hall"))]
    assert simulator.discovery_port is not None
    store = ConfigStore(tmp_path / "config.json")
    app = TplinkApp(
        store,
        monitor=Monitor(**FAST),
        history=False,
        discovery_target=BROADCAST,
        discovery_port=simulator.discovery_port,
        options=DashboardOptions(
            discover_screen=lambda target, port, known: DiscoverScreen(
                target, port, known, timeout=0.6
            )
        ),
    )
    with flooding(simulator.discovery_port) as flood:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DiscoverScreen))
            screen = app.screen
            await pilot.pause(0.2)  # mid-scan, under the flood
            focused = app.focused
            await pilot.press("tab")  # keys still move the focus
            assert app.focused is not focused
            await wait_for(pilot, lambda: len(screen.found) == 2, timeout=3.0)
            assert flood.sent >= 500
            status = str(screen.query_one("#discover-status").render())
            assert "Found 2 device(s)" in status and "invalid" in status
            screen.query_one(DataTable).focus()  # (the tab above may have moved it away)
            await wait_for(pilot, lambda: isinstance(app.focused, DataTable))
            await pilot.press("ctrl+a")  # add all new ones
            keys = {addr(d) for d in good}
            await wait_for(pilot, lambda: set(app.views) == keys)
            await wait_for(pilot, lambda: all(app.views[k].online for k in keys))
            await still_responsive(app, pilot)
