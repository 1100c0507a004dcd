"""The command palette and the help screen: devices by name, and every key's action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.markup import escape

from .safe import plain

if TYPE_CHECKING:
    from .app import TplinkApp


# The dashboard's keys (the App's BINDINGS); the help screen and the palette list them.
DASHBOARD_KEYS: list[Binding | tuple[str, str] | tuple[str, str, str]] = [
    Binding("q", "quit", "Quit", id="quit"),
    Binding("question_mark", "help", "Help", id="help", key_display="?"),
    Binding("slash", "filter", "Filter", id="filter", key_display="/"),
    Binding("s", "sort", "Sort", id="sort"),
    Binding("l", "device('led')", "LED", id="led"),
    Binding("n", "device('rename')", "Rename", id="rename"),
    Binding("a", "device('add')", "Add", id="add"),
    Binding("d", "device('discover')", "Discover", id="discover"),
    Binding("x", "device('remove')", "Remove device", id="remove", show=False),
    Binding("b", "device('reboot')", "Reboot device", id="reboot", show=False),
    Binding("t", "device('timer')", "Timer", id="timer"),
    Binding("e", "device('energy')", "Energy", id="energy"),
    Binding("c", "device('rules')", "Schedules", id="rules"),
    Binding("i", "device('traffic')", "Traffic", id="traffic"),
    Binding("o", "all_outlets(True)", "All outlets on", id="all_on", show=False),
    Binding("f", "all_outlets(False)", "All outlets off", id="all_off", show=False),
    Binding("1", "chart_range(0)", "Chart: 5 min", id="range_5m", show=False),
    Binding("2", "chart_range(1)", "Chart: 1 hour", id="range_1h", show=False),
    Binding("3", "chart_range(2)", "Chart: 24 hours", id="range_24h", show=False),
    Binding("4", "chart_range(3)", "Chart: 7 days", id="range_7d", show=False),
    Binding(
        "left_square_bracket",
        "chart_range(-1)",
        "Chart: shorter",
        id="range_less",
        show=False,
        key_display="[",
    ),
    Binding(
        "right_square_bracket",
        "chart_range(-2)",
        "Chart: longer",
        id="range_more",
        show=False,
        key_display="]",
    ),
    Binding("dollar_sign", "tariff", "Electricity price", id="tariff", show=False, key_display="$"),
    Binding(
        "plus,equals_sign",
        "interval(0.5)",
        "Poll faster",
        id="faster",
        show=False,
        key_display="+",
    ),
    Binding("minus", "interval(2.0)", "Poll slower", id="slower", show=False, key_display="-"),
    Binding("p", "pause", "Pause polling", id="pause", show=False),
    Binding("r", "refresh", "Refresh now", id="refresh", show=False),
    Binding("escape", "back", "Back to list", id="back", show=False),
]


class DeviceCommands(Provider):
    """Jump to a device by typing part of its name, room or model."""

    def _entries(self) -> list[tuple[str, str, str]]:
        app: TplinkApp = self.app  # type: ignore[assignment]
        entries = []
        for view in app.views.values():
            model = view.sysinfo.model_family if view.sysinfo else ""
            detail = " · ".join(plain(p) for p in (view.room, model, view.status.value) if p)
            entries.append((view.key, f"Device: {plain(view.name)}", detail))
        return entries

    def _select(self, key: str) -> None:
        app: TplinkApp = self.app  # type: ignore[assignment]
        app.select_device(key)

    async def discover(self) -> Hits:
        for key, title, detail in self._entries():
            yield DiscoveryHit(Content(title), partial(self._select, key), help=escape(detail))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for key, title, detail in self._entries():
            score = matcher.match(f"{title} {detail}")
            if score > 0:
                yield Hit(
                    score,
                    _highlight(title, matcher),
                    partial(self._select, key),
                    help=escape(detail),
                )


def _highlight(candidate: str, matcher: Matcher) -> Content:
    """``Matcher.highlight`` without its markup parsing (device names are data)."""
    content = Content(candidate)
    _, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    for offset in offsets:
        if not candidate[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


def help_rows(app: TplinkApp) -> list[tuple[str, str, str]]:
    """The help screen: every dashboard key, then the keys of the list and the switches."""
    rows = [(key, binding.description, "dashboard") for key, binding in visible_bindings(app)]
    rows += [
        ("space", "toggle the plug (strip: all outlets, with confirmation)", "device list"),
        ("enter", "toggle the plug / move into a strip's outlets", "device list"),
        ("home/end", "first / last device", "device list"),
        ("pgup/pgdn", "a page up / down", "device list"),
        ("tab", "move between the list and the outlet switches", "everywhere"),
        ("up/down", "previous / next outlet (up from the first: the list)", "outlet switch"),
        ("space/enter", "flip the focused switch", "outlet switch"),
        ("ctrl+p", "command palette", "everywhere"),
    ]
    return rows


def visible_bindings(app: TplinkApp) -> list[tuple[str, Binding]]:
    result = []
    for binding in app.BINDINGS:
        assert isinstance(binding, Binding)
        result.append((binding.key_display or app.get_key_display(binding), binding))
    return result


def device_system_commands(app: TplinkApp) -> Iterator[SystemCommand]:
    """Palette entries: log in, accept a changed device, and every key's action by name."""
    for view in app.views.values():
        if view.needs_login or view.transport in ("klap", "aes"):
            yield SystemCommand(
                f"Log in to {plain(view.name)}…",
                plain(f"{view.key}: username and password for this device"),
                partial(app.dialogs.login, view.key),
            )
        if view.snapshot is not None and view.snapshot.identity_change is not None:
            yield SystemCommand(
                f"Accept the device now at {view.key}",
                plain(f"{view.name}: {view.snapshot.identity_change.describe()}"),
                partial(app.accept_identity, view.key),
            )
    for _, binding in visible_bindings(app):
        if binding.action in ("help", "quit", "back"):
            continue
        yield SystemCommand(
            binding.description, f"press {binding.key}", _caller(app, binding.action)
        )


def _caller(app: TplinkApp, action: str) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        await app.run_action(action)

    return call
