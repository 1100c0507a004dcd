"""The benchmarks' device side: N simulated plugs or strips in a child process.

``start_devices(model, count)`` runs ``benchmarks/devserver.js`` under Node when
it is installed (about a fifth of the Python simulator's CPU per request, so the
client under test keeps a core to itself on a 2-core machine), else
``tplink-tui simulate``. Node serves what the project's own simulator would say:
this module builds each device with ``tplink_tui.simulator`` and hands Node its
sysinfo, meter readings and the answers to every other read-only method.
Loopback only.
"""

from __future__ import annotations

import ipaddress
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DEVSERVER = ROOT / "benchmarks" / "devserver.js"
# Read-only methods some client may ask for, with the arguments they need.
_YEAR, _MONTH = time.localtime()[:2]
_ARGS: dict[str, dict[str, Any]] = {
    "get_daystat": {"year": _YEAR, "month": _MONTH},
    "get_monthstat": {"year": _YEAR},
}


def raise_fd_limit(wanted: int = 65536) -> None:
    """Lift the soft open-files limit towards the hard one (many sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing non-loopback target {host!r}: benchmarks talk to 127.0.0.0/8")


@dataclass
class DeviceProcess:
    """The device-side child process and where its devices listen."""

    proc: subprocess.Popen[str]
    side: str
    targets: list[tuple[str, int]] = field(default_factory=list)
    plan_file: Path | None = None

    def cpu_seconds(self) -> float:
        """utime + stime of the device side (its own threads included)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.plan_file is not None:
            self.plan_file.unlink(missing_ok=True)

    def __enter__(self) -> DeviceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def device_plan(model: str, count: int, host: str = "127.0.0.1") -> dict[str, Any]:
    """What Node serves: per device, the project simulator's own answers."""
    from tplink_tui.simulator.device import SimulatedDevice
    from tplink_tui.simulator.profiles import get_profile

    profile = get_profile(model)
    devices = []
    for seed in range(count):
        dev = SimulatedDevice(profile, seed=seed + 1)
        sysinfo = dev.handle_json({"system": {"get_sysinfo": {}}})["system"]["get_sysinfo"]
        readings: dict[str, Any] | None = None
        if profile.meter:
            realtime = {"emeter": {"get_realtime": {}}}
            if profile.is_strip:
                readings = {
                    o.id: dev.handle_json({"context": {"child_ids": [o.id]}, **realtime})["emeter"][
                        "get_realtime"
                    ]
                    for o in dev.outlets
                }
            else:
                readings = {"": dev.handle_json(realtime)["emeter"]["get_realtime"]}
        canned: dict[str, dict[str, Any]] = {}
        for module, handlers in dev.modules.items():
            for method in handlers:
                if method.startswith("get_") and (module, method) != ("system", "get_sysinfo"):
                    reply = dev.handle_json({module: {method: _ARGS.get(method, {})}})
                    canned.setdefault(module, {})[method] = reply[module][method]
        devices.append({"sysinfo": sysinfo, "readings": readings, "canned": canned})
    return {"host": host, "devices": devices}


def start_devices(
    model: str, count: int, *, side: str = "auto", timeout: float = 180.0
) -> DeviceProcess:
    """Start ``count`` devices of ``model``; side "node", "python" or "auto"."""
    raise_fd_limit()
    node = shutil.which("node") or shutil.which("nodejs")
    if side == "auto":
        side = "node" if node else "python"
    plan_file = None
    if side == "node":
        if node is None:
            raise SystemExit("--device-side node: Node.js is not installed")
        fd, name = tempfile.mkstemp(prefix="bench-devices-", suffix=".json")
        with os.fdopen(fd, "w") as out:
            json.dump(device_plan(model, count), out)
        plan_file = Path(name)
        cmd = [node, str(DEVSERVER), name]
    else:
        cmd = [sys.executable, "-m", "tplink_tui", "simulate", "--count", str(count)]
        cmd += ["--model", model, "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        preexec_fn=raise_fd_limit,
    )
    devs = DeviceProcess(proc, side, plan_file=plan_file)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    try:
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"device side not ready within {timeout:g} s")
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"device side exited early (code {proc.wait(5)})")
            data = json.loads(line)
            if data.get("ready"):
                break
            require_loopback(data["host"])
            devs.targets.append((data["host"], int(data["port"])))
    except BaseException:
        devs.stop()
        raise
    if len(devs.targets) != count:
        devs.stop()
        raise RuntimeError(f"device side started {len(devs.targets)} of {count} devices")
    return devs
