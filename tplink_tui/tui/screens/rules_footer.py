"""The rules screen's footer: its own keys only.

Textual's Footer also lists the dashboard's keys (LED, Rename, Sort, …), which act on
the list behind this screen; here only the keys of the screen itself are shown (the
others still work, as everywhere, and the help screen lists them).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


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
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        self.styles.grid_size_columns = len(seen)
