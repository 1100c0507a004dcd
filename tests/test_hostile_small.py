"""Issue 11, the smaller items a new user hit: each one driven through the real CLI or
API against the simulator (or a fake UDP peer) on 127.0.0.1.

Raw terminal bytes are checked under a pseudo-terminal: after removing rich's own
colour codes (SGR), no control byte, C1 control or bidi override may remain.
"""

from __future__ import annotations

import json
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from cli_helpers import addr, cli, cli_json, error_line
from pty_run import run_on_pty
from wire_fakes import hs100

from tplink_tui import SmartPlug, codec
from tplink_tui.address import parse_address
from tplink_tui.devices import catalog

BROADCAST = "127.255.255.255"
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
# Device text with every trick: markup, OSC 2 / OSC 52 / OSC 8, CSI, a C1 CSI,
# bidi override, NUL, a newline that would forge a table row.
HOSTILE = (
    "[/][bold red]X[@click=app.quit]Y[/]"
    "\x1b]2;pwned title\x07\x1b]52;c;SGVsbG8=\x07\x1b]8;;http://evil/\x07link\x1b]8;;\x07"
    "\x1b[2J\x9b2J\u202eevil\x00\n| 127.0.0.66 | forged row |"
)


def assert_terminal_clean(raw: bytes) -> str:
    """Decode ``raw``; fail on any control byte that is not ours (SGR colour, CR/LF)."""
    text = raw.decode("utf-8")  # must be valid UTF-8: no lone surrogate got through
    plain = _SGR.sub("", text).replace("\r\n", "\n")  # the pty's own line endings
    bad = _FORBIDDEN.search(plain)
    assert bad is None, f"control character {bad.group()!r} in {plain!r}"
    return plain


# -- 1. discover --target must be an IPv4 address -----------------------------------------------


@pytest.mark.parametrize(
    "target", ["999.1.1.1", "bogus..addr", "printer.local", "", "::1", "1.2.3"]
)
def test_discover_target_must_be_ipv4(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, out, err = cli(capsys, "discover", "--target", target, "--timeout", "0.2")
    assert code == 2 and out == ""
    line = error_line(err)
    assert "not an IPv4 address" in line
    assert time.monotonic() - started < 0.5  # refused before anything is sent


# -- 2. malformed hosts are usage errors, not DNS lookups ---------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1:40200:1", "300.1.1.1", "1.2.3", "bogus..addr", "[nothost]:9999", "1:2:3"]
)
def test_malformed_host_is_a_usage_error(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, out, err = cli(capsys, "info", host, "--timeout", "2")
    assert code == 2 and out == ""
    assert "malformed host" in error_line(err)
    assert time.monotonic() - started < 0.5  # no resolver, no connection attempt


def test_parse_address_still_accepts_real_hosts() -> None:
    assert parse_address("127.0.0.1:40200") == ("127.0.0.1", 40200)
    assert parse_address("[::1]:9998") == ("::1", 9998)
    assert parse_address("fe80::1") == ("fe80::1", 9999)
    assert parse_address("plug-3.lan.") == ("plug-3.lan.", 9999)
    assert parse_address("localhost:10") == ("localhost", 10)
    with pytest.raises(ValueError, match="brackets"):
        parse_address("127.0.0.1:40200:1")


# -- 3. countdown --set: the message and the check agree ---------------------------------------


def test_countdown_bounds(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs110")
    for bad in ("0", "-1", "0.001", "1440.5", "nan", "inf"):
        code, out, err = cli(capsys, "countdown", addr(plug), "--set", bad, "--action", "off")
        assert code == 2 and out == "", bad
        line = error_line(err)
        assert "above 0" in line and "at most 1440" in line and "`on` or `off`" in line
    # The edges the message names are accepted: one second, and 24 h.
    data = cli_json(capsys, "countdown", addr(plug), "--set", "0.02", "--action", "off")
    assert [r["delay"] for r in data["rules"]] == [1]
    data = cli_json(capsys, "countdown", addr(plug), "--set", "1440", "--action", "on")
    assert [(r["delay"], r["act"]) for r in data["rules"]] == [(86400, 1)]


# -- 4. simulate: --demo --base-port, and --host 0.0.0.0 -----------------------------------------


def _free_run(count: int) -> int:
    """A base port with ``count`` consecutive ports free for TCP and UDP right now."""
    for _ in range(50):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        if base + count > 65535:
            continue
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    sock = socket.socket(socket.AF_INET, kind)
                    sockets.append(sock)
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no run of free ports")


def _read_simulate(proc: subprocess.Popen[str], timeout: float = 20.0) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        data = json.loads(line)
        if data.get("ready"):
            return lines
        lines.append(data)
    raise AssertionError(f"simulate never got ready: {lines}")


def test_simulate_demo_honours_base_port() -> None:
    base = _free_run(10)  # the demo's 6 old + 2 newer devices, then the extra one
    argv = [sys.executable, "-m", "tplink_tui", "simulate", "--demo", "--base-port", str(base)]
    with subprocess.Popen(
        [*argv, "hs105=Extra"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            devices = _read_simulate(proc)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert [d["port"] for d in devices] == list(range(base, base + 9))
    assert devices[0]["alias"] == "Fridge" and devices[-1]["alias"] == "Extra"
    assert {d["host"] for d in devices} == {"127.0.0.1"}


_WILDCARD_SCRIPT = r"""
import json, subprocess, sys, asyncio, re
from tplink_tui import codec
from tplink_tui.discovery import discover
from tplink_tui.devices.client import DeviceClient

proc = subprocess.Popen(
    [sys.executable, "-m", "tplink_tui", "simulate", "--host", "0.0.0.0",
     "--base-port", "40555", "hs110", "hs105"],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
devices = []
for line in proc.stdout:
    data = json.loads(line)
    if data.get("ready"):
        break
    devices.append(data)
err_lines = []
for line in proc.stderr:
    err_lines.append(line)
    if "discovery:" in line:
        break
discovery_port = int(re.search(r"discovery: [0-9.]+:(\d+)", err_lines[-1]).group(1))

async def probe():
    aliases = []
    for d in devices:
        async with DeviceClient("127.0.0.1", d["port"], 2.0) as client:
            aliases.append((await client.get_sysinfo()).alias)
    shared = await discover("127.255.255.255", discovery_port, 0.5, new_protocol_port=None)
    own = await discover("127.255.255.255", 40555, 0.5, new_protocol_port=None)
    return aliases, sorted(x.port for x in shared.devices), sorted(x.port for x in own.devices)

aliases, shared, own = asyncio.run(probe())
proc.terminate()
rest = proc.communicate(timeout=20)[1]
print(json.dumps({"devices": devices, "aliases": aliases, "shared": shared, "own": own,
                  "stderr": "".join(err_lines) + rest, "rc": proc.returncode}))
"""


def test_simulate_on_the_wildcard_address() -> None:
    """In a private network namespace (only its own loopback), so nothing is exposed."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip for a private network namespace")
    check = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if check.returncode != 0:
        pytest.skip("user network namespaces are not available here")
    script = f"ip link set lo up && exec {sys.executable} -c '{_WILDCARD_SCRIPT}'"
    done = subprocess.run(
        ["unshare", "-rn", "sh", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rc"] == 0, result["stderr"]
    assert [d["port"] for d in result["devices"]] == [40555, 40556]
    assert result["aliases"] == [d["alias"] for d in result["devices"]]
    assert result["shared"] == [40555, 40556]  # the discovery port reaches both
    assert result["own"] == [40555]  # and a device hears broadcasts on its own port
    assert result["stderr"].count("outside loopback") == 1  # the warning, once
    assert "address already in use" not in result["stderr"].lower()


# -- 5. discover ends within about --timeout, whatever the meters do -----------------------------


def test_discover_is_bounded_when_meters_stall(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each reply comes 0.5 s late: discovery answers in time, but a strip's seven
    # meter round trips would take 3.5 s (the old code waited 37 s for a few of them).
    slow = [sim_thread.add("hs300", faults=["delay=0.5"]) for _ in range(3)]
    fast = sim_thread.add("hs110")
    port = str(sim_thread.discovery_port)
    started = time.monotonic()
    data = cli_json(capsys, "discover", "--target", BROADCAST, "--port", port, "--timeout", "1")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 2.0 + 0.8, elapsed  # listening + the meter budget + a margin
    found = {d["port"]: d for d in data["devices"]}
    assert set(found) == {d.port for d in slow} | {fast.port}
    assert all(found[d.port]["power_w"] is None for d in slow)  # not read in time
    assert found[fast.port]["power_w"] is not None  # a healthy meter still is
    code, _, err = cli(capsys, "discover", "--target", BROADCAST, "--port", port, "--timeout", "1")
    assert code == 0 and "3 meters not read within 1 s" in err


# -- 6. SmartPlug: host:port, whole-strip energy, threads ----------------------------------------


def test_smartplug_accepts_host_port(sim_thread: Any) -> None:
    dev = sim_thread.add("hs105", alias="Lamp")
    with SmartPlug(f"127.0.0.1:{dev.port}", timeout=2.0) as plug:
        assert plug.name == "Lamp" and plug.port == dev.port
    with SmartPlug(f"127.0.0.1:{dev.port}", port=dev.port, timeout=2.0) as plug:
        assert plug.model.startswith("HS105")
    with pytest.raises(ValueError, match="port"):
        SmartPlug(f"127.0.0.1:{dev.port}", port=dev.port + 1)
    with pytest.raises(ValueError, match="malformed"):
        SmartPlug("300.1.1.1")


def test_smartplug_strip_energy_is_the_whole_strip(sim_thread: Any) -> None:
    dev = sim_thread.add("hs300", loads=["lamp"] * 6)  # 9.0-9.3 W each
    with SmartPlug(f"127.0.0.1:{dev.port}", timeout=2.0) as strip:
        whole = strip.energy
        parts = [strip.outlet_energy(i) for i in range(6)]
        named = strip.outlet_energy(strip.outlets[2].alias)
    assert whole is not None
    assert 6 * 9.0 <= whole.power_w <= 6 * 9.3 + 0.1  # type: ignore[operator]
    assert all(9.0 <= p.power_w <= 9.4 for p in parts)  # type: ignore[operator]
    assert whole.current_a == pytest.approx(sum(p.current_a for p in parts), rel=0.05)  # type: ignore[misc]
    assert whole.total_kwh == pytest.approx(sum(p.total_kwh for p in parts), rel=1e-3)  # type: ignore[misc]
    assert 100 < whole.voltage_v < 140  # type: ignore[operator]  # a US strip: one mains
    assert 9.0 <= named.power_w <= 9.4  # type: ignore[operator]


def test_smartplug_shared_by_eight_threads(sim_thread: Any) -> None:
    dev = sim_thread.add("hs300", loads=["lamp"] * 6, on=False)
    plug = SmartPlug(f"127.0.0.1:{dev.port}", timeout=5.0)
    errors: list[BaseException] = []
    readings: list[float] = []

    def worker(i: int) -> None:
        try:
            for _ in range(15):
                plug.turn_on(outlet=i % 6)
                assert plug.outlets[i % 6].is_on
                reading = plug.energy
                assert reading is not None and reading.power_w is not None
                readings.append(reading.power_w)
                plug.outlet_energy(i % 6)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not any(t.is_alive() for t in threads), "a SmartPlug call hung"
        assert errors == []
        assert len(readings) == 8 * 15
        assert all(o.is_on for o in dev.outlets)  # every thread's switch arrived
        assert time.monotonic() - started < 60
    finally:
        plug.close()


# -- 7. decode: a clear error for junk, and no control bytes from hostile payloads --------------


def test_decode_junk_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for junk in ("zzzz", "hello", "Zm9vYmFy"):  # all valid base64, none a payload
        code, out, err = cli(capsys, "decode", junk)
        assert code == 2 and out == "", junk
        assert "neither hex nor base64" in error_line(err)
    code, out, err = cli(capsys, "decode", "00112233445566")  # hex is unambiguous: exit 5
    assert code == 5 and "ab 11 33" in error_line(err)
    assert "\ufffd" not in err  # the preview is hex, not mojibake


def _hostile_payload() -> tuple[str, str]:
    # Raw C1 and bidi in the JSON text, ESC/BEL/NUL and a lone surrogate as escapes.
    alias = json.dumps(HOSTILE)[1:-1] + "\\ud800"
    text = '{"system":{"set_dev_alias":{"alias":"' + alias + '"}}}'
    return codec.encrypt(text.encode("utf-8")).hex(), HOSTILE + "\ufffd"


def test_decode_hostile_payload_on_a_terminal() -> None:
    payload, _ = _hostile_payload()
    code, out, err = run_on_pty(["decode", payload])
    assert code == 0, err
    plain = assert_terminal_clean(out)
    assert "set_dev_alias" in plain and "forged row" in plain
    assert "\x1b[" in out.decode()  # it really was the coloured terminal path


def test_decode_hostile_payload_json(capsys: pytest.CaptureFixture[str]) -> None:
    payload, expected = _hostile_payload()
    code, out, err = cli(capsys, "decode", payload)  # piped: JSON
    assert code == 0, err
    assert _FORBIDDEN.search(out.replace("\n", "")) is None and "\x1b" not in out
    assert json.loads(out) == {"system": {"set_dev_alias": {"alias": expected}}}


# -- 8. usage: runtime statistics ---------------------------------------------------------------


def test_usage_days_months_and_outlets(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs105", alias="Lamp")  # no meter: runtime is kept anyway
    strip = sim_thread.add("hs300", alias="Desk")
    today = date.today()
    data = cli_json(capsys, "usage", addr(plug))
    assert (data["year"], data["month"]) == (today.year, today.month)
    assert data["days"] and data["days"][-1]["day"] == today.day
    assert all(0 <= d["minutes"] <= 1440 for d in data["days"])
    assert data["total_minutes"] == sum(d["minutes"] for d in data["days"])
    expected = sim_thread.call(lambda: plug.relays[0].meter.day_minutes(today))
    assert abs(data["days"][-1]["minutes"] - expected) <= 1

    year = cli_json(capsys, "usage", addr(strip), "--outlet", "2", "--year", str(today.year))
    assert year["outlet"]["index"] == 2 and year["months"]
    assert year["months"][-1]["month"] == today.month
    assert all(m["minutes"] <= 31 * 1440 for m in year["months"])
    expected = sim_thread.call(lambda: strip.relays[2].meter.day_minutes(today))
    this_month = cli_json(
        capsys, "usage", addr(strip), "-o", "2", "--month", today.strftime("%Y-%m")
    )
    assert abs(this_month["days"][-1]["minutes"] - expected) <= 1

    code, out, _ = cli(capsys, "usage", addr(strip), "--outlet", "2")
    assert code == 0 and "runtime" in out and "total" in out and "Desk" in out
    empty = cli_json(capsys, "usage", addr(plug), "--month", "2001-01")
    assert empty["days"] == [] and empty["total_minutes"] == 0
    for bad in (["--month", "2026-13"], ["--year", "26"], ["--outlet", "9"]):
        code, out, err = cli(capsys, "usage", addr(strip), *bad)
        assert code == 2 and out == "", bad
        error_line(err)


def test_usage_request_is_the_schedule_module() -> None:
    assert catalog.runtime_daystat(2026, 3) == {
        "schedule": {"get_daystat": {"year": 2026, "month": 3}}
    }
    assert catalog.runtime_monthstat(2026) == {"schedule": {"get_monthstat": {"year": 2026}}}


# -- 9. a hostile discovery answer ---------------------------------------------------------------


@pytest.fixture
def hostile_peer() -> Iterator[int]:
    """A fake plug on 127.0.0.5 answering discovery on 127.255.255.255:PORT."""
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listen.bind((BROADCAST, 0))
    port = listen.getsockname()[1]
    answer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    answer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    answer.bind(("127.0.0.5", port))
    info = hs100()
    info.update(
        alias=HOSTILE,
        model="HS100[/]\x1b]0;title\x07\u009b31m",
        mac="\u202e50:C7:BF\n00:00:01",
        dev_name="x" * 20_000,
        sw_ver="\x1b[5m" * 50,
        rssi=10**40,
        on_time=10**300,
    )
    text = json.dumps({"system": {"get_sysinfo": info}}, ensure_ascii=False)
    datagram = codec.encrypt(text.replace('"alias": "', '"alias": "\\ud800', 1))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listen], [], [], 0.05)
            if ready:
                _, source = listen.recvfrom(65536)
                answer.sendto(datagram, source)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)
        listen.close()
        answer.close()


def test_hostile_discovery_answer_table_on_a_terminal(hostile_peer: int) -> None:
    port = str(hostile_peer)
    argv = ["discover", "--target", BROADCAST, "--port", port, "--timeout", "0.4"]
    code, out, err = run_on_pty([*argv, "--new-protocol-port", port])
    assert code == 0, err
    assert b"Traceback" not in err and b"Traceback" not in out
    plain = assert_terminal_clean(out)
    assert_terminal_clean(err)
    rows = [line for line in plain.splitlines() if "127.0.0.5" in line]
    assert len(rows) == 1
    # The newline in the alias did not start a row of its own (the alias is capped).
    assert not any("127.0.0.66" in line or "forged" in line for line in plain.splitlines())
    assert "[/][bold red]X[@click=app.quit]Y[/]" in rows[0]  # markup shown as text
    assert "␛]2" in rows[0] and "⏎" in rows[0]  # ESC and the newline, visible


def test_hostile_discovery_answer_json(
    hostile_peer: int, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(hostile_peer)
    argv = ["discover", "--target", BROADCAST, "--port", port, "--timeout", "0.4"]
    code, out, err = cli(capsys, "--json", *argv, "--new-protocol-port", port)
    assert code == 0, err
    assert "Traceback" not in err and "\x1b" not in out and "\x1b" not in err
    assert _FORBIDDEN.search(out.replace("\n", "")) is None
    data = json.loads(out)
    [device] = data["devices"]
    assert device["host"] == "127.0.0.5"
    assert device["alias"].endswith("forged row |") and "\x1b]2;" in device["alias"]
    assert device["rssi"] in (None, 10**40)  # exact, or dropped as out of range
    json.dumps(data, allow_nan=False).encode("utf-8")  # strict JSON, encodable
