"""The footer: the keys that matter most, as many as the terminal's width holds.

Textual's Footer shows every binding and cuts the rest off at the right edge
(at 80 columns "Energy" and "?" were gone). Here the keys come in a stated order
of importance and the ones that do not fit are left out whole; every key still
works and the help screen (?) lists them all.
"""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Binding ids, most important first; ids not listed follow, in their own order.
PRIORITY = (
    "help",
    "quit",
    "toggle",
    "filter",
    "timer",
    "energy",
    "rules",  # the schedules screen, when it has a key
    "schedule",
    "sort",
    "rename",
    "led",
    "add",
    "discover",
    "traffic",
)
PALETTE_WIDTH = 14  # "^p palette" at the right edge


def key_width(key_display: str, description: str) -> int:
    """Cells one footer key takes: " key description " as FooterKey draws it."""
    return len(key_display) + len(description) + 3


def footer_key(app: App[object], binding: Binding, enabled: bool, tooltip: str) -> FooterKey:
    """One key as Textual's Footer draws it (compact when the footer is)."""
    return FooterKey(
        binding.key,
        app.get_key_display(binding),
        binding.description,
        binding.action,
        disabled=not enabled,
        tooltip=tooltip,
    ).data_bind(compact=Footer.compact)


def rank(binding: Binding) -> int:
    return PRIORITY.index(binding.id) if binding.id in PRIORITY else len(PRIORITY)


class DashboardFooter(Footer):
    """Only the keys that fit, by ``PRIORITY``; re-composed when the width changes."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        seen: set[str] = set()
        shown: list[tuple[Binding, bool, str]] = []
        for _, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                shown.append((binding, enabled, tooltip))
        room = self.size.width or self.app.size.width
        self._composed_width = room  # a resize to this width needs no second compose
        palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE
        if palette:
            room -= PALETTE_WIDTH
        fitted: list[tuple[Binding, bool, str]] = []
        for item in sorted(shown, key=lambda item: rank(item[0])):
            binding = item[0]
            width = key_width(self.app.get_key_display(binding), binding.description)
            if width <= room:
                fitted.append(item)
                room -= width
        self.styles.grid_size_columns = len(fitted) + int(palette)
        for binding, enabled, tooltip in fitted:
            yield footer_key(self.app, binding, enabled, tooltip)
        if palette:
            try:
                _, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                return
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    _composed_width = 0

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._composed_width:
            self._composed_width = event.size.width
            self.call_after_refresh(self.recompose)
