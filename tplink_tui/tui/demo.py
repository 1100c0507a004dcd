"""``tplink-tui --demo``: the dashboard on a simulated home served in the same process.

The simulated devices speak the real protocol on loopback, so everything the
dashboard does here (polling, switching, discovery, traffic) is the real path.
The config lives in a temporary folder: a demo never touches the user's devices.
"""

from __future__ import annotations

from textual import work

from ..discovery import DEFAULT_TARGET
from ..simulator import Simulator
from ..simulator.home import DEMO_HOME, start_demo_home
from ..store.config import ConfigStore, SavedDevice
from .app import TplinkApp

LOOPBACK_BROADCAST = "127.255.255.255"
# Plugs the demo home owns but has not saved yet: something for discovery to find.
UNSAVED = (("hs103", "Garden lights"), ("kp303", "Workbench"))


class DemoApp(TplinkApp):
    def __init__(self, store: ConfigStore, *, seed: int = 2024) -> None:
        super().__init__(
            store,
            discovery_target=LOOPBACK_BROADCAST,
            history_path=store.path.with_name("history.sqlite3"),
        )
        assert self.discovery_target != DEFAULT_TARGET
        self.seed = seed
        self.simulator = Simulator(seed=seed)
        self.label = "demo · "

    def prepare(self) -> None:
        self._start_home()

    @work(group="demo", exclusive=True)
    async def _start_home(self) -> None:
        devices = await start_demo_home(self.simulator, seed=self.seed)
        for index, (model, alias) in enumerate(UNSAVED):
            await self.simulator.add(model, alias, seed=self.seed * 7 + index)
        assert self.simulator.discovery_port is not None
        self.discovery_port = self.simulator.discovery_port
        for spec, device in zip(DEMO_HOME, devices, strict=True):
            saved = SavedDevice(spec.alias, device.host, device.port, room=spec.room)
            self._watch(self.store.add_device(saved))
        self._update_subtitle()
        self.table.move_cursor(row=0)

    async def shutdown(self) -> None:
        await super().shutdown()
        await self.simulator.stop()
