"""Command palette provider: every device by name (actions come from system commands)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.markup import escape

from .safe import plain

if TYPE_CHECKING:
    from .app import TplinkApp


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
