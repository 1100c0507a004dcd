"""The bridge under load: HTTP read latency and MQTT cost with N devices polled at 1 Hz.

    .venv/bin/python benchmarks/bench_bridge.py [--quick] [--devices 200]
        [--model hs110] [--seconds 30] [--requests 400] [--out benchmarks/results/bridge.json]

Three processes, all on loopback: ``tplink-tui simulate`` (the devices), a mosquitto
broker (generated config, 127.0.0.1 only), and ``tplink-tui bridge`` polling every
device once a second. Measured, once every device is online:

- ``/api/devices`` and ``/metrics`` latency: ``--requests`` sequential GETs each over
  one keep-alive connection, p50/p95/p99 in ms (target: p95 < 20 ms at 200 devices);
  then ``--cold`` GETs 1.1 s apart (``*_cold``), so that every device was polled
  since the last one and nothing kept from it helps (a Prometheus scrape);
- the bridge's CPU (utime+stime from /proc) over ``--seconds``, first with HTTP only,
  then with HTTP and MQTT; the difference is what MQTT costs (target: < 25 % of one
  core for 200 devices' state per second). The messages the broker delivered to a
  subscriber on ``PREFIX/#`` and the devices whose state topics changed are counted
  over the same window.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from mosquitto import Broker, free_port  # noqa: E402

from benchmarks.bench_poll import CLOCK_TICKS, raise_fd_limit, start_simulator  # noqa: E402
from tplink_tui.store.config import ConfigStore, SavedDevice  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Bridge:
    def __init__(self, folder: Path, args: list[str]) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.pop("TPLINK_TUI_TOKEN", None)
        env.update(
            TPLINK_TUI_CONFIG=str(folder / "devices.json"),
            TPLINK_TUI_DATA_DIR=str(folder / "data"),
        )
        cmd = [sys.executable, "-m", "tplink_tui", "bridge", "--interval", "1"]
        cmd += ["--http", f"127.0.0.1:{self.port}", *args]
        self.err = open(folder / f"bridge-{self.port}.err", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=self.err, env=env, preexec_fn=raise_fd_limit
        )

    def get(self, conn: http.client.HTTPConnection, path: str) -> bytes:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        return body

    def wait_online(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bridge exited {self.proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                data = json.loads(self.get(conn, "/api/devices"))
                conn.close()
                if sum(d["online"] for d in data["devices"]) == count:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"not all {count} devices online within {timeout} s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.err.close()


def latency(bridge: Bridge, path: str, requests: int, pause: float = 0.005) -> dict[str, float]:
    """``pause`` 0.005: a client asking often; 1.1: every device polled since the last."""
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=10)
    times = []
    size = 0
    for _ in range(requests):
        start = time.perf_counter()
        size = len(bridge.get(conn, path))
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(pause)
    conn.close()
    times.sort()

    def at(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))], 2)

    return {
        "p50_ms": at(0.5),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(times), 2),
        "bytes": size,
    }


def cpu_share(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start)


async def count_messages(broker: Broker, prefix: str, seconds: float) -> dict[str, float]:
    import aiomqtt

    messages = 0
    devices: set[str] = set()
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(f"{prefix}/#")
        await asyncio.sleep(2)  # the retained burst passes
        async for _ in _drain(client, 0.5):
            pass
        start = time.monotonic()
        async for message in _drain(client, seconds):
            if message.retain:
                continue  # the replay of what was retained before we subscribed
            messages += 1
            levels = str(message.topic).split("/")
            if levels[-1] == "power":
                devices.add(levels[1])
        elapsed = time.monotonic() - start
    return {
        "messages_per_s": round(messages / elapsed, 1),
        "devices_with_new_power": len(devices),
    }


async def _drain(client: Any, seconds: float) -> Any:
    try:
        async with asyncio.timeout(seconds):
            async for message in client.messages:
                yield message
    except TimeoutError:
        return


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    sim = start_simulator(args.model, args.devices)
    broker = Broker(folder)
    broker.start()
    result: dict[str, Any] = {"devices": args.devices, "model": args.model, "interval_s": 1.0}
    try:
        store = ConfigStore(folder / "devices.json")
        store.update(
            lambda cfg: cfg.devices.extend(
                SavedDevice(f"plug{i:03d}", host, port)
                for i, (host, port) in enumerate(sim.targets)
            )
        )
        plain = Bridge(folder, [])
        try:
            plain.wait_online(args.devices)
            time.sleep(2)
            result["http_only_cpu_share"] = round(cpu_share(plain.proc.pid, args.seconds), 3)
            result["api_devices"] = latency(plain, "/api/devices", args.requests)
            result["metrics"] = latency(plain, "/metrics", args.requests)
            # A scraper every few seconds: each scrape renders every device afresh.
            result["metrics_cold"] = latency(plain, "/metrics", args.cold, pause=1.1)
            result["api_devices_cold"] = latency(plain, "/api/devices", args.cold, pause=1.1)
        finally:
            plain.stop()
        with_mqtt = Bridge(folder, ["--mqtt", broker.url("bench")])
        try:
            with_mqtt.wait_online(args.devices)
            time.sleep(3)
            start = cpu_seconds(with_mqtt.proc.pid)
            began = time.monotonic()
            counted = asyncio.run(count_messages(broker, "bench", args.seconds))
            share = (cpu_seconds(with_mqtt.proc.pid) - start) / (time.monotonic() - began)
            result["mqtt"] = counted
            result["with_mqtt_cpu_share"] = round(share, 3)
            result["mqtt_cpu_share"] = round(share - result["http_only_cpu_share"], 3)
        finally:
            with_mqtt.stop()
    finally:
        broker.stop()
        sim.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 devices, 10 s, 100 requests")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--model", default="hs110")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--cold", type=int, default=20, help="requests 1.1 s apart")
    parser.add_argument("--out", type=Path, default=RESULTS / "bridge.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.devices, args.seconds, args.requests, args.cold = 50, 10.0, 100, 5
    result = run(args)
    result["measured"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
