"""``tplink-tui --demo``: the dashboard on a simulated home served in the same process.

The simulated devices speak the real protocol on loopback, so everything the
dashboard does here (polling, switching, discovery, traffic) is the real path.
The config (and the newer plugs' saved login) lives in a temporary folder: a demo
never touches the user's devices.
"""

from __future__ import annotations

import asyncio

from ..simulator import Simulator
from ..simulator.home import DEMO_HOME, NEWER_DEMO_HOME, start_demo_home, start_newer_demo_home
from ..simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerSimulator
from ..store.config import ConfigStore, SavedDevice
from ..transports.errors import Credentials
from .app import TplinkApp
from .options import DashboardOptions

LOOPBACK_BROADCAST = "127.255.255.255"
# Plugs the demo home owns but has not saved yet: something for discovery to find.
UNSAVED = (("hs103", "Garden lights"), ("kp303", "Workbench"))


class DemoHome:
    """The simulated home: started by the app's startup hook, stopped at shutdown."""

    def __init__(self, seed: int = 2024) -> None:
        self.seed = seed
        self.simulator = Simulator(seed=seed)
        self.newer = NewerSimulator()

    def options(self) -> DashboardOptions:
        return DashboardOptions(
            label="demo · ",
            loading="starting the simulated home…",
            on_start=self.start,
            on_shutdown=self.stop,
        )

    def start(self, app: TplinkApp) -> None:
        app.run_worker(self._serve(app), group="demo", exclusive=True)

    async def _serve(self, app: TplinkApp) -> None:
        devices = await start_demo_home(self.simulator, seed=self.seed)
        for index, (model, alias) in enumerate(UNSAVED):
            await self.simulator.add(model, alias, seed=self.seed * 7 + index)
        assert self.simulator.discovery_port is not None
        app.discovery_port = self.simulator.discovery_port
        for spec, device in zip(DEMO_HOME, devices, strict=True):
            saved = SavedDevice(spec.alias, device.host, device.port, room=spec.room)
            app.controller.watch(await asyncio.to_thread(app.store.add_device, saved))
        # The newer plugs: saved with their transport and the documented test login.
        newer = await start_newer_demo_home(self.newer, seed=self.seed)
        login = Credentials(TEST_USERNAME, TEST_PASSWORD)
        for spec, new in zip(NEWER_DEMO_HOME, newer, strict=True):
            saved = SavedDevice(
                spec.alias, new.host, new.port, room=spec.room, transport=new.encrypt_type.lower()
            )
            saved = await asyncio.to_thread(app.store.add_device, saved)
            await asyncio.to_thread(app.controller.logins.store.set, saved.address, login)
            app.controller.watch(saved)
        app.loaded()

    async def stop(self) -> None:
        await self.simulator.stop()
        await self.newer.stop()


class DemoApp(TplinkApp):
    """The dashboard on the demo home (only a constructor: the home comes in as options)."""

    def __init__(self, store: ConfigStore, *, seed: int = 2024) -> None:
        self.home = DemoHome(seed)
        super().__init__(
            store,
            discovery_target=LOOPBACK_BROADCAST,
            history_path=store.path.with_name("history.sqlite3"),
            options=self.home.options(),
        )
        self.simulator = self.home.simulator
