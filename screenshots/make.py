"""Write the README's SVG screenshots from the fixed sample home.

    .venv/bin/python screenshots/make.py

Deterministic: the same data and the same screens on every run (see
``tplink_tui.tui.sample``), so a changed SVG means a changed UI.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from tplink_tui.store.config import ConfigStore
from tplink_tui.tariff import Tariff
from tplink_tui.tui.sample import SampleApp

HERE = Path(__file__).parent
SIZE = (120, 36)
# The sample's list is sorted by name; the Office strip is the last row.
VIEWS: dict[str, list[str]] = {
    "home": [],
    "strip": ["end"],
    "energy": ["end", "e"],  # the whole strip: its outlets added up
    "help": ["question_mark"],
    "discovery": ["d"],
}


async def shoot(name: str, keys: list[str], folder: Path) -> Path:
    app = SampleApp(ConfigStore(folder / f"{name}.json"))
    if name == "energy":  # the energy view with a tariff: every figure has its cost
        app.controller.tariff = Tariff(0.30, "EUR")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        await pilot.pause(0.8)
        path = HERE / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(HERE))
    return path


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, keys in VIEWS.items():
            print(await shoot(name, keys, Path(folder)))


if __name__ == "__main__":
    asyncio.run(main())
