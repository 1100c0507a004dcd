"""Credentials for the dashboard's newer devices: read once, asked for once, saved in a thread.

A KLAP/AES device refuses to talk without its owner's cloud login. Saved
credentials are read from ``credentials.json`` (beside the config) on a thread
before the device's first poll, so a device with a saved login never flashes
"needs login". A device the monitor finds wanting credentials is offered to the
App once (``ask``), and again whenever the person asks. No Textual here; the
password goes only to the monitor and the credential file, never into a message.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any

from ..devices.models import normalize_mac
from ..errors import AuthenticationError, TplinkError
from ..monitor import Identity, Monitor, Snapshot
from ..store.config import ConfigStore, SavedDevice
from ..store.credentials import CREDENTIALS_ENV, CredentialStore
from ..transports import Credentials
from .state import DeviceView

Notify = Callable[..., None]
Spawn = Callable[[Coroutine[Any, Any, None], str], None]
AUTH_FAILED = "authentication failed"


def credentials_beside(store: ConfigStore) -> CredentialStore:
    """``credentials.json`` beside the config in use (so a demo's stays in its temp folder)."""
    if os.environ.get(CREDENTIALS_ENV):
        return CredentialStore()
    return CredentialStore(store.path.with_name("credentials.json"))


def hide(message: str, credentials: Credentials) -> str:
    """A message with the password cut out, should a layer below ever echo it."""
    if credentials.password:
        message = message.replace(credentials.password, "•••")
    return message


class Logins:
    """Starts polling saved devices with their credentials; logs devices in on request."""

    def __init__(self, monitor: Monitor, credentials: CredentialStore) -> None:
        self.monitor = monitor
        self.store = credentials
        self.ask: Callable[[str], None] = lambda key: None  # the App opens the dialog
        self.notify: Notify = lambda message, **_: None
        self.spawn: Spawn | None = None
        self.usernames: dict[str, str] = {}  # saved or last tried, to fill the dialog
        self._asked: set[str] = set()
        self._queued: list[SavedDevice] = []
        self._draining = False
        self.wanted: Callable[[str], bool] = lambda key: True  # still in the list?

    # -- starting to poll -----------------------------------------------------------

    def watch(self, saved: SavedDevice) -> None:
        """Poll ``saved`` once its saved credentials (if any) are read, off the event loop."""
        self._queued.append(saved)
        if not self._draining and self.spawn is not None:
            self._draining = True
            self.spawn(self._drain(), "credentials")

    def start(self, spawn: Spawn, notify: Notify) -> None:
        self.spawn, self.notify = spawn, notify
        if self._queued and not self._draining:
            self._draining = True
            spawn(self._drain(), "credentials")

    async def _drain(self) -> None:
        """One thread read for every device queued meanwhile (all saved ones at start)."""
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                found = await asyncio.to_thread(self._read, [s.address for s in batch])
                for saved in batch:
                    if self.wanted(saved.address):
                        self._add(saved, found.get(saved.address))
        finally:
            self._draining = False

    def _read(self, addresses: list[str]) -> dict[str, Credentials]:
        try:
            found = {a: c for a in addresses if (c := self.store.get(a)) is not None}
        except (TplinkError, OSError) as exc:
            self.notify(f"Saved logins not read: {exc}", severity="warning", timeout=10)
            return {}
        self.usernames.update({a: c.username for a, c in found.items()})
        return found

    def _add(self, saved: SavedDevice, credentials: Credentials | None) -> None:
        # The saved MAC, if any: another device answering there is flagged at once.
        expected = Identity(mac=normalize_mac(saved.mac)) if saved.mac else None
        self.monitor.add(
            saved.address,
            saved.host,
            saved.port,
            identity=expected,
            transport=saved.transport,
            credentials=credentials,
        )

    def learn_protocol(self, view: DeviceView) -> None:
        """What the client found out it speaks (auto tries XOR, then KLAP and AES)."""
        try:
            client = self.monitor.client(view.key)
        except KeyError:
            return  # not polled yet
        view.transport = client.transport_name or view.transport
        view.dialect = client.dialect or view.dialect

    # -- asking -------------------------------------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> bool:
        """Offer the dialog the first time a device wants credentials; True if it does."""
        if not snapshot.needs_credentials:
            return False
        if snapshot.key not in self._asked:
            self._asked.add(snapshot.key)
            self.ask(snapshot.key)
        return True

    async def log_in(self, key: str, credentials: Credentials) -> str | None:
        """Try ``credentials`` on the device now; save them if it lets us in.

        Returns None when logged in, else the problem ("authentication failed" for a
        refused login, and the pair the device had before is put back: a typo in
        the dialog does not log out a device that was working).
        """
        self.usernames[key] = credentials.username
        try:
            client = self.monitor.client(key)
        except KeyError:
            return "this device is no longer in the list"
        before = client.credentials
        try:
            self.monitor.set_credentials(key, credentials)
            await self.monitor.client(key).update()
        except AuthenticationError:
            self.monitor.set_credentials(key, before)
            return AUTH_FAILED
        except TplinkError as exc:
            return hide(str(exc), credentials)
        try:
            await asyncio.to_thread(self.store.set, key, credentials)
        except (TplinkError, OSError) as exc:
            self.notify(f"Logged in, but not saved: {hide(str(exc), credentials)}", timeout=10)
        self.monitor.refresh(key)
        return None
