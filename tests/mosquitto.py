"""A real MQTT broker for tests: Debian's mosquitto on a free loopback port.

The generated config binds 127.0.0.1 only, keeps sessions across a restart (so
a test can take the broker away and bring it back on the same port) and can
require a user and password. A missing mosquitto fails the test loudly: it is a
system dependency that ``.ci/run`` installs, never a reason to skip.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

EXECUTABLES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


def mosquitto_path() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in EXECUTABLES if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail("mosquitto is missing: apt-get install mosquitto (.ci/run installs it)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One mosquitto process; ``stop``/``start`` keep the port and the saved sessions."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.folder = folder
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {folder}/",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_queued_messages 100000",
            f"user {getpass.getuser()}",  # as root it would switch to 'mosquitto'
        ]
        if users:
            passwords = folder / "passwords"
            passwords.write_text("")
            passwords.chmod(0o600)
            for user, password in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [mosquitto_path(), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"mosquitto exited at start: {err} {self._log_text()}")
            with socket.socket() as sock:
                if sock.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        pytest.fail(f"mosquitto did not listen on {self.port}: {self._log_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def _log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def url(self, prefix: str = "tplink", user: str = "") -> str:
        return f"mqtt://{user}{self.host}:{self.port}/{prefix}"


@pytest.fixture(name="mosquitto")
def mosquitto_fixture(tmp_path: Path) -> Iterator[Broker]:
    """A started broker (import ``mosquitto_fixture`` to use ``mosquitto`` in a test)."""
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Broker(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
