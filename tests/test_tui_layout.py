"""The layout follows the terminal: list sized to its rows, columns by priority, footer by width."""

from __future__ import annotations

from pathlib import Path

from test_tui_app import wait_for
from textual.widgets._footer import FooterKey

from tplink_tui.store.config import ConfigStore
from tplink_tui.tui.sample import SampleApp
from tplink_tui.tui.widgets.device_table import COLUMNS, fit_columns
from tplink_tui.tui.widgets.footer import PRIORITY


def sample(tmp_path: Path) -> SampleApp:
    return SampleApp(ConfigStore(tmp_path / "config.json"))


def shown_columns(app: SampleApp) -> list[str]:
    return [str(key.value) for key in app.table.columns]


def footer_keys(app: SampleApp) -> list[str]:
    return [k.key for k in app.screen.query(FooterKey) if "-command-palette" not in k.classes]


def test_columns_drop_seen_then_model_then_room() -> None:
    everything = [c[0] for c in COLUMNS if c[0] not in ("cost", "timer")]
    assert [c[0] for c in fit_columns(200)] == everything
    widths = {key: width + 2 for key, _, width, _ in COLUMNS}
    full = sum(widths[k] for k in everything)
    assert [c[0] for c in fit_columns(full - 1)] == [k for k in everything if k != "seen"]
    less = full - widths["seen"] - 1
    assert [c[0] for c in fit_columns(less)] == [
        k for k in everything if k not in ("seen", "model")
    ]
    least = less - widths["model"]
    assert "room" not in [c[0] for c in fit_columns(least)]
    for width in range(40, 220, 7):  # never wider than the room it has (no sideways scroll)
        columns = fit_columns(width, cost=True, timer=True)
        assert sum(w + 2 for _, _, w in columns) <= max(width, 50)
    assert [c[0] for c in fit_columns(200, cost=True)][5] == "cost"  # only with a tariff


async def test_list_takes_its_rows_and_the_detail_pane_the_rest(tmp_path: Path) -> None:
    app = sample(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        assert app.table.row_count == 6
        left = app.query_one("#left")
        assert left.size.height == 7  # header + six rows, not half the screen
        assert app.detail.size.height >= 36 - 2 - 7 - 1
        assert not app.has_class("-wide")  # six devices: stacked, even on a wide screen
        assert app.table.max_scroll_x == 0


async def test_resize_follows_the_new_size(tmp_path: Path) -> None:
    """200 -> 100 -> 200 columns: the columns and the footer follow the size just set."""
    app = sample(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause(0.3)
        wide = shown_columns(app)
        assert {"seen", "model", "room"} <= set(wide)
        await wait_for(pilot, lambda: len(footer_keys(app)) > 8)
        await pilot.resize_terminal(100, 30)
        await wait_for(pilot, lambda: shown_columns(app) != wide)
        await pilot.pause(0.2)
        narrow = shown_columns(app)
        assert "seen" not in narrow and len(narrow) < len(wide)  # Seen goes first
        assert app.table.max_scroll_x == 0
        assert app.table.size.width <= 100
        await wait_for(pilot, lambda: 0 < len(footer_keys(app)) < 12)
        keys = footer_keys(app)
        assert keys[:2] == ["question_mark", "q"] and PRIORITY[:2] == ("help", "quit")
        assert "i" not in keys and "d" not in keys  # the least important gave way
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: shown_columns(app) == wide)
        await wait_for(pilot, lambda: len(footer_keys(app)) > 8)


async def test_a_long_list_on_a_wide_terminal_stands_beside_the_detail_pane(
    tmp_path: Path,
) -> None:
    app = sample(tmp_path)
    async with app.run_test(size=(200, 14)) as pilot:
        await pilot.pause(0.3)  # six rows + header > 6, the least share
        assert app.has_class("-wide")
        await pilot.resize_terminal(120, 14)
        await wait_for(pilot, lambda: not app.has_class("-wide"))
        assert app.query_one("#left").size.height == 6


async def test_footer_at_80_columns_keeps_help_quit_and_the_main_keys(tmp_path: Path) -> None:
    app = sample(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        keys = footer_keys(app)
        assert {"question_mark", "q", "space", "slash", "t", "e"} <= set(keys)
        assert "d" not in keys  # Discover gave way; the key still works and ? lists it
        right = max(k.region.right for k in app.screen.query(FooterKey))
        assert right <= 80


async def test_toasts_do_not_cover_the_outlets(tmp_path: Path) -> None:
    from textual.widgets._toast import Toast

    from tplink_tui.tui.widgets.detail import OutletRow

    app = sample(tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("end")  # the strip: six outlet rows at the bottom
        await wait_for(pilot, lambda: len(app.query(OutletRow)) == 6)
        app.notify("Office strip: LED off")
        app.notify("Office strip: switching failed: no reply within 3 s", severity="error")
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 2)
        await pilot.pause(0.2)
        toasts = [t.region for t in app.screen.query(Toast)]
        rows = [r.region for r in app.query(OutletRow)]
        assert all(t.area and not t.overlaps(r) for t in toasts for r in rows)
