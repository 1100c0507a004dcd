"""The rules screen's footer: its own keys only.

Textual's Footer also lists the dashboard's keys (LED, Rename, Sort, …), which act on
the list behind this screen and are switched off while it is in front
(``TplinkApp.check_action``); here only the keys of the screen itself are shown.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from ..widgets.footer import footer_key


class ScreenFooter(Footer):
    """A footer of the bindings declared on its screen."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        seen: set[str] = set()
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if node is not self.screen or not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            yield footer_key(self.app, binding, enabled, tooltip)
        self.styles.grid_size_columns = len(seen)
