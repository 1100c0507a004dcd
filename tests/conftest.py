"""Shared test setup.

The network guard is autouse and session-wide: any attempt to connect or send to
an address outside 127.0.0.0/8 (or ::1) fails the test at once, so no test can
ever reach a real LAN or the global broadcast address, not even by accident.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["tplink_tui.testing"]


def _check_target(address: Any) -> None:
    if not isinstance(address, tuple) or not address:
        return  # AF_UNIX paths and the like
    host = address[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = ipaddress.ip_address(socket.gethostbyname(host))
    if not ip.is_loopback:
        raise AssertionError(f"network guard: tests may only target 127.0.0.0/8, not {host}")


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    original = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}

    def guarded(name: str) -> Any:
        real = original[name]

        def wrapper(self: socket.socket, *args: Any) -> Any:
            _check_target(args[-1])
            return real(self, *args)

        return wrapper

    for name in original:
        setattr(socket.socket, name, guarded(name))
    yield
    for name, real in original.items():
        setattr(socket.socket, name, real)


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point config and data folders at a temporary place: tests never touch ~/.config."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(base / "config" / "devices.json"))
    monkeypatch.setenv("TPLINK_TUI_DATA_DIR", str(base / "data"))
