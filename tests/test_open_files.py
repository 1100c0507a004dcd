"""Many devices at a low open-files limit: the monitor lifts the soft limit itself.

``watch`` runs as a real program (its own process, so its limit can be lowered
without touching the test's) against simulated devices on loopback.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable

from tplink_tui.simulator import ThreadedSimulator

DEVICES = 120
LOW = 64


def _limit(soft: int, hard: int | None) -> Callable[[], None]:
    def apply() -> None:
        _, current_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, current_hard if hard is None else hard))

    return apply


def _watch(ports: list[int], preexec: Callable[[], None]) -> subprocess.CompletedProcess[str]:
    hosts = [f"127.0.0.1:{port}" for port in ports]
    cmd = [sys.executable, "-m", "tplink_tui", "watch", "--json", "--count", "1"]
    cmd += ["--no-history", "--timeout", "20", "--transport", "xor", *hosts]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, preexec_fn=preexec, env=os.environ
    )


def _ports(sim_thread: ThreadedSimulator) -> list[int]:
    devices = sim_thread.run(sim_thread.sim.start_many("hs100", DEVICES))
    return [device.port for device in devices]


def test_watch_lifts_a_low_soft_limit(sim_thread: ThreadedSimulator) -> None:
    result = _watch(_ports(sim_thread), _limit(LOW, None))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == DEVICES
    assert {line["status"] for line in lines} == {"online"}
    assert "too many open files" not in (result.stdout + result.stderr).lower()
    assert "open-files limit" not in result.stderr


def test_watch_says_when_the_hard_limit_is_too_low(sim_thread: ThreadedSimulator) -> None:
    result = _watch(_ports(sim_thread), _limit(LOW, LOW))
    assert f"the open-files limit is {LOW} (hard limit {LOW})" in result.stderr
    assert f"{DEVICES} devices need about" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == DEVICES  # one line per device still: online or the reason not
    assert any(line["status"] == "online" for line in lines)
    assert any(line["status"] == "offline" for line in lines)
