"""A long device list: polls redraw the rows on screen; rows off screen are right when shown."""

from __future__ import annotations

import time
from pathlib import Path

from test_tui_app import SIZE, wait_for
from test_tui_messages import SYSINFO
from textual.widgets import DataTable

from tplink_tui.devices.models import DeviceState, parse_realtime, parse_sysinfo
from tplink_tui.monitor import Snapshot, Status
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.sample import StillMonitor
from tplink_tui.tui.widgets.device_table import CATCH_UP_ROWS, DeviceTable

COUNT = 1000
DEVICES = [
    SavedDevice(f"Plug {i:04d}", "127.0.0.1", 20000 + i, room=f"Room {i % 12}")
    for i in range(COUNT)
]
INFO = parse_sysinfo(SYSINFO)


def reading(saved: SavedDevice, watts: float, polls: int) -> Snapshot:
    energy = parse_realtime({"power": watts, "voltage": 120.0, "current": 0.1, "total": 1.0})
    now = time.time()
    state = DeviceState(INFO, energy, {}, now)
    return Snapshot(
        saved.address,
        saved.host,
        saved.port,
        Status.ONLINE,
        state,
        last_seen=now,
        polls=polls,
        fresh=True,
    )


def long_list(tmp_path: Path) -> TplinkApp:
    store = ConfigStore(tmp_path / "config.json")
    store.update(lambda config: config.devices.extend(DEVICES))
    app = TplinkApp(store, monitor=StillMonitor(), history=False)
    # No day statistics or timer reads towards ports nobody listens on.
    app.controller._maybe_read_today = lambda view: None  # type: ignore[method-assign]
    app.controller.countdowns.maybe_read = lambda view: None  # type: ignore[method-assign]
    return app


def poll_all(app: TplinkApp, watts: float, polls: int) -> None:
    for saved in DEVICES:
        app.controller.on_snapshot(reading(saved, watts, polls))


def power_cell(table: DeviceTable, key: str) -> str:
    return table.get_row(key)[[c for c, _, _ in table.shown].index("power")].plain


def on_screen_keys(table: DeviceTable) -> list[str]:
    return [str(table.ordered_rows[i].key.value) for i in table.on_screen()]


async def test_a_poll_cycle_redraws_the_rows_on_screen_and_a_slice_of_the_rest(
    tmp_path: Path,
) -> None:
    app = long_list(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        poll_all(app, 10.0, 1)
        await wait_for(pilot, lambda: app.table.row_count == COUNT and not app.table.stale)
        table = app.table
        shown = on_screen_keys(table)
        assert 5 < len(shown) < 40  # a screenful, not the list

        drawn: list[str] = []
        upsert = table.upsert

        def counted(view: object) -> None:
            drawn.append(view.key)  # type: ignore[attr-defined]
            upsert(view)  # type: ignore[arg-type]

        table.upsert = counted  # type: ignore[method-assign]
        poll_all(app, 20.0, 2)
        app.show_changes(app.controller.take_dirty())  # one batch: every device changed
        assert set(shown) <= set(drawn)
        assert len(drawn) <= len(shown) + CATCH_UP_ROWS  # not 1,000 rows
        assert len(table.stale) == COUNT - len(drawn)
        assert all(power_cell(table, key) == "20.0 W" for key in shown)

        # The last rows, never drawn since: right the moment they scroll into view.
        last = DEVICES[-1].address
        assert last in table.stale
        await pilot.press("end")
        await wait_for(pilot, lambda: last in on_screen_keys(table))
        for key in on_screen_keys(table):
            assert key not in table.stale
            assert power_cell(table, key) == "20.0 W"
        # And the rest catch up in slices once the polls are quiet.
        await wait_for(pilot, lambda: not table.stale, timeout=20)
        assert {power_cell(table, s.address) for s in DEVICES} == {"20.0 W"}


async def test_cells_look_as_datatable_draws_them(tmp_path: Path) -> None:
    """Cells rendered once and reused on other rows carry the row's own click target."""
    app = long_list(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        poll_all(app, 10.0, 1)
        await wait_for(pilot, lambda: app.table.row_count == COUNT and not app.table.stale)
        table = app.table
        table.move_cursor(row=3)
        await pilot.pause()
        base = table.rich_style
        columns = len(table.columns)
        for row in [*table.on_screen(), 500, 999]:
            style = table._get_row_style(row, base)
            for column in range(columns):
                for cursor in (False, True):
                    ours = table._render_cell(row, column, style, 12, cursor)
                    table._cell_render_cache.clear()
                    theirs = DataTable._render_cell(table, row, column, style, 12, cursor)
                    assert ours == theirs, (row, column, cursor)
                    assert [s.style.meta for ln in ours for s in ln] == [
                        {"row": row, "column": column} for ln in theirs for _ in ln
                    ]
        assert table._shared  # the shared renders were used, not only the per-row ones
