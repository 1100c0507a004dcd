"""The rules of one device or outlet: schedule and away mode, in plain words, editable.

Every change goes to the device through the one ``DeviceClient`` (its lock, its
connection) in a worker, then the table is read back from the device: what the
screen shows is what the plug stores. The dialog checks a rule before it is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Tab, Tabs

from ...devices import rules as model
from ...devices.client import DeviceClient
from ...devices.rules import AWAY, SCHEDULE, Rule
from ...errors import TplinkError
from ..safe import text as safe_text
from ..widgets.table_widths import fit_columns
from .confirm import ConfirmScreen
from .rules_edit import RuleEditScreen
from .rules_footer import ScreenFooter

LABEL = {SCHEDULE: "Schedule", AWAY: "Away mode"}
NOUN = {SCHEDULE: "schedule rules", AWAY: "away-mode windows"}


class RulesScreen(Screen[None]):
    """Schedule and away-mode rules of one plug, strip, or strip outlet."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="rules.back"),
        Binding("a", "add", "Add", id="rules.add"),
        Binding("e", "edit", "Edit", id="rules.edit"),
        Binding("space", "pause", "Pause", id="rules.toggle"),
        Binding("x,delete", "delete", "Delete", id="rules.delete", key_display="x"),
        Binding("D", "delete_all", "Delete all", id="rules.delete_all", key_display="D"),
        Binding("w", "switch", "Away/schedule", id="rules.switch"),
        Binding("r", "reload", "Reload", id="rules.reload", show=False),
    ]
    DEFAULT_CSS = """
    RulesScreen #rules-title { padding: 0 1; text-style: bold; width: 1fr; }
    RulesScreen #rules-table { height: 1fr; }
    RulesScreen #rules-status { padding: 0 1; height: auto; color: $text-muted; width: 1fr; }
    RulesScreen #rules-status.-error { color: $error; }
    """

    def __init__(
        self,
        target: str,
        client: DeviceClient,
        outlet: int | None = None,
        *,
        sun: bool,
        kind: str = SCHEDULE,
    ) -> None:
        super().__init__()
        self.target = target
        self.client = client
        self.outlet = outlet
        self.sun = sun
        self.kind = kind
        self.rules: list[Rule] = []
        self.loaded = False  # the table shows what the device answered (tests wait for it)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(safe_text(self.target, limit=200), id="rules-title")
        yield Tabs(Tab(LABEL[SCHEDULE], id=SCHEDULE), Tab(LABEL[AWAY], id=AWAY), active=self.kind)
        table: DataTable[Text] = DataTable(id="rules-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Label("Reading the rules…", id="rules-status")
        yield ScreenFooter(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="n")
        table.add_column("Rule", key="rule")
        table.add_column("State", key="state")
        table.add_column("Name", key="name")
        table.focus()
        self.action_reload()

    # -- reading ---------------------------------------------------------------------

    def _status(self, message: str, *, error: bool = False) -> None:
        if not self.is_attached:  # closed meanwhile: a failure still reaches a toast
            if error:
                self.app.notify(message, severity="error")
            return
        status = self.query_one("#rules-status", Label)
        status.update(safe_text(message, limit=300))
        status.set_class(error, "-error")

    def action_reload(self) -> None:
        self.loaded = False
        self.run_worker(self._load(), group="rules-load", exclusive=True)

    async def _load(self, done: str = "") -> None:
        try:
            rules = await model.list_rules(self.client, self.kind, self.outlet)
        except TplinkError as exc:
            self.rules = []
            self._show()
            self._status(str(exc), error=True)
            self.loaded = True
            return
        self.rules = rules
        self._show()
        count = len(rules)
        if done:
            self._status(done)
        elif count:
            noun = NOUN[self.kind] if count > 1 else NOUN[self.kind][:-1]
            self._status(f"{count} {noun}")
        else:
            self._status(f"No {NOUN[self.kind]} yet: press a to add one")
        self.loaded = True

    def _show(self) -> None:
        if not self.is_attached:
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for number, rule in enumerate(self.rules, 1):
            state = Text("on", "green") if rule.enabled else Text("paused", "yellow")
            table.add_row(
                Text(str(number), "dim"),
                safe_text(rule.words()),
                state,
                safe_text(rule.name, limit=40),
                key=rule.id or str(number),
            )
        fit_columns(table)
        if self.rules:
            table.move_cursor(row=min(row, len(self.rules) - 1))

    def selected(self) -> Rule | None:
        table = self.query_one(DataTable)
        if not self.rules or not 0 <= table.cursor_row < len(self.rules):
            return None
        return self.rules[table.cursor_row]

    # -- changing ----------------------------------------------------------------------

    def _change(self, what: str, change: Callable[[], Awaitable[object]]) -> None:
        """Send one change in a worker, then read the table back from the device.

        The worker is the App's, not this screen's: leaving the screen while a change
        is on its way does not cancel it halfway."""

        async def run() -> None:
            self._status(f"{what}…")
            try:
                await change()
            except TplinkError as exc:
                self._status(f"{what} failed: {exc}", error=True)
                return
            if self.is_attached:
                await self._load(done=f"{what}: done")

        self.loaded = False
        self.app.run_worker(run(), group="rules-change")

    def _edit(self, rule: Rule | None) -> None:
        def answered(result: Rule | None) -> None:
            if result is None:
                return
            if rule is None:
                self._change(
                    f"Adding {result.words()}",
                    lambda: model.add_rule(self.client, result, self.outlet),
                )
            else:
                self._change(
                    f"Saving {result.words()}",
                    lambda: model.edit_rule(self.client, result, self.outlet),
                )

        self.app.push_screen(RuleEditScreen(self.kind, self.target, rule, sun=self.sun), answered)

    def action_add(self) -> None:
        self._edit(None)

    def action_edit(self) -> None:
        rule = self.selected()
        if rule is not None:
            self._edit(rule)

    def on_data_table_row_selected(self) -> None:
        self.action_edit()

    def action_pause(self) -> None:
        """Pause the highlighted rule, or resume it."""
        rule = self.selected()
        if rule is None:
            return
        what = f"{'Pausing' if rule.enabled else 'Resuming'} {rule.words()}"
        wanted = not rule.enabled
        self._change(what, lambda: model.set_enabled(self.client, rule, wanted, self.outlet))

    def action_delete(self) -> None:
        rule = self.selected()
        if rule is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(
                    f"Deleting {rule.words()}",
                    lambda: model.delete_rule(self.client, rule, self.outlet),
                )

        self.app.push_screen(ConfirmScreen(f"Delete “{rule.words()}”?", "Delete"), answered)

    def action_delete_all(self) -> None:
        if not self.rules:
            return
        kind = self.kind

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(
                    f"Deleting every {NOUN[kind][:-1]}",
                    lambda: model.delete_all(self.client, kind, self.outlet),
                )

        question = f"Delete all {len(self.rules)} {NOUN[kind]} of {self.target}?"
        self.app.push_screen(ConfirmScreen(question, "Delete all"), answered)

    def action_switch(self) -> None:
        self.query_one(Tabs).active = AWAY if self.kind == SCHEDULE else SCHEDULE

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        kind = event.tab.id
        if kind in (SCHEDULE, AWAY) and kind != self.kind:
            self.kind = kind
            self.rules = []
            self._show()
            self._status("Reading the rules…")
            self.action_reload()
