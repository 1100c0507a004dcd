"""Running ``tplink-tui bridge`` as a real process against the simulator, and talking to it.

``BridgeProcess`` starts ``python -m tplink_tui bridge ...`` with its own config and
data folders (the saved devices point at simulated ones on 127.0.0.1), waits for its
"bridging N devices" line, and stops it with a signal. ``call`` is a tiny loopback
HTTP client (stdlib, so the test's socket guard sees every connection).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mosquitto import free_port

from tplink_tui.simulator import SimulatedDevice
from tplink_tui.store.config import ConfigStore, SavedDevice

READY = "bridging "


def save_devices(config: Path, devices: Iterable[tuple[str, SimulatedDevice, str]]) -> None:
    """Save (name, simulated device, room) entries in the config file at ``config``."""
    store = ConfigStore(config)

    def change(cfg: Any) -> None:
        for name, device, room in devices:
            cfg.devices.append(SavedDevice(name, device.host, device.port, room=room))

    store.update(change)


class BridgeProcess:
    """One bridge run in a subprocess; ``url`` is its HTTP base when serving HTTP."""

    def __init__(
        self, folder: Path, *args: str, http: bool = True, env: dict[str, str] | None = None
    ) -> None:
        self.folder = folder
        self.port = free_port() if http else None
        argv = [sys.executable, "-m", "tplink_tui", "--timeout", "1", "bridge", *args]
        if http and "--http" not in args:
            argv += ["--http", f"127.0.0.1:{self.port}"]
        self.err_path = folder / f"bridge-{time.monotonic_ns()}.err"
        environment = dict(os.environ)
        environment.pop("TPLINK_TUI_TOKEN", None)
        environment.update(
            TPLINK_TUI_CONFIG=str(folder / "devices.json"),
            TPLINK_TUI_DATA_DIR=str(folder / "data"),
            TPLINK_TUI_CREDENTIALS=str(folder / "credentials.json"),
        )
        environment.update(env or {})
        self.started = time.monotonic()
        with open(self.err_path, "wb") as err:
            self.process = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=err, env=environment, cwd=folder
            )
        self.ready_after: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 15.0) -> BridgeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in self.stderr():
                self.ready_after = time.monotonic() - self.started
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"bridge exited {self.process.returncode}: {self.stderr()}")
            time.sleep(0.02)
        raise AssertionError(f"bridge not ready after {timeout} s: {self.stderr()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                raise AssertionError(f"bridge ignored signal {sig}: {self.stderr()}") from None
        return self.process.returncode


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body or text) of one request to ``base`` (loopback)."""
    host_port = base.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    try:
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    text = raw.decode("utf-8", "replace")
    if found.get("content-type", "").startswith("application/json"):
        return response.status, found, json.loads(text)
    return response.status, found, text


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; its last value, or fail."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (AssertionError, KeyError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout} s (last: {last!r})")


__all__ = ["BridgeProcess", "call", "eventually", "free_port", "save_devices", "signal"]
