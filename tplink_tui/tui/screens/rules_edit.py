"""Add or change one schedule rule or away-mode window, checked before it is sent."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet

from ...devices import rules_input as typed
from ...devices.rules import AWAY, NAME_LIMIT, SCHEDULE, At, Rule, days_words, validate
from ...errors import UsageError
from ..safe import text as safe_text


class RuleEditScreen(ModalScreen[Rule | None]):
    """Dismisses with the checked rule (its ``id`` kept when editing) or None."""

    AUTO_FOCUS = "#rule-at"  # at once, so keys typed right away land in it

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="rule-edit.cancel"),
        Binding("ctrl+s", "save", "Save", id="rule-edit.save"),
    ]
    DEFAULT_CSS = """
    RuleEditScreen { align: center middle; }
    RuleEditScreen > VerticalScroll {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    RuleEditScreen Horizontal { height: auto; margin-top: 1; }
    RuleEditScreen .field { width: 1fr; height: auto; margin-right: 2; }
    RuleEditScreen Label.caption { color: $text-muted; }
    RuleEditScreen Input { background: $boost; }
    RuleEditScreen Input:focus { background: $surface-lighten-2; }
    RuleEditScreen #rule-error { color: $error; margin-top: 1; width: 1fr; }
    RuleEditScreen RadioSet { layout: horizontal; width: 1fr; margin-top: 1; }
    RuleEditScreen RadioSet > RadioButton { width: auto; margin-right: 2; }
    RuleEditScreen #rule-enabled { margin-top: 1; width: auto; }
    RuleEditScreen #rule-buttons { align-horizontal: right; }
    RuleEditScreen Button { margin-left: 1; }
    """

    def __init__(self, kind: str, target: str, rule: Rule | None = None, *, sun: bool) -> None:
        super().__init__()
        self.kind = kind
        self.target = target
        self.rule = rule or Rule(kind, At(0, 7 * 60 if kind == SCHEDULE else 18 * 60))
        if rule is None and kind == AWAY:
            self.rule = Rule(kind, At(0, 18 * 60), end=At(0, 23 * 60))
        self.sun = sun

    def compose(self) -> ComposeResult:
        rule, schedule = self.rule, self.kind == SCHEDULE
        what = "schedule rule" if schedule else "away-mode window"
        verb = "Change the" if rule.id else "New"
        at_hint = "e.g. 07:30, sunset-15" if self.sun else "e.g. 07:30 (no location: no sun)"
        with VerticalScroll():
            yield Label(safe_text(f"{verb} {what} for {self.target}", limit=200))
            with Horizontal():
                with Vertical(classes="field"):
                    yield Label("At" if schedule else "From", classes="caption")
                    yield Input(rule.start.entry(), placeholder=at_hint, id="rule-at", compact=True)
                with Vertical(classes="field"):
                    yield Label("Until (optional)" if schedule else "Until", classes="caption")
                    until = rule.end.entry() if rule.end else ""
                    yield Input(until, placeholder="e.g. 23:00", id="rule-until", compact=True)
            with Horizontal():
                with Vertical(classes="field"):
                    yield Label("Days", classes="caption")
                    days = "" if rule.once else days_words(rule.days)
                    hint = "e.g. every day, mon-fri, sat,sun"
                    yield Input(days, placeholder=hint, id="rule-days", compact=True)
                with Vertical(classes="field"):
                    yield Label("Or once, on (YYYY-MM-DD)", classes="caption")
                    once = rule.once.isoformat() if rule.once else ""
                    yield Input(once, placeholder="empty: weekly", id="rule-date", compact=True)
            if schedule:
                with RadioSet(id="rule-action", compact=True):
                    yield RadioButton("Switch on", value=rule.action is not False, id="act-on")
                    yield RadioButton("Switch off", value=rule.action is False, id="act-off")
            with Horizontal():
                with Vertical(classes="field"):
                    yield Label("Name (optional)", classes="caption")
                    yield Input(rule.name, id="rule-name", max_length=NAME_LIMIT, compact=True)
                yield Checkbox("Enabled", rule.enabled, id="rule-enabled", compact=True)
            yield Label("", id="rule-error")
            with Horizontal(id="rule-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Save (ctrl+s)", variant="primary", id="save", compact=True)

    def on_mount(self) -> None:
        radio = self.query(RadioSet)
        if radio and self.rule.action is False:
            radio.first().action_next_button()  # the highlight follows the chosen action

    def _text(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def checked(self) -> Rule:
        """The rule as typed, validated; ``UsageError`` says what is wrong."""
        days, once = self._text("rule-days"), self._text("rule-date")
        until = self._text("rule-until")
        action = None
        if self.kind == SCHEDULE:
            pressed = self.query_one("#rule-action", RadioSet).pressed_button
            action = pressed is None or pressed.id == "act-on"
        rule = typed.change(
            self.rule,
            at=self._text("rule-at"),
            days=days or (None if once else "every day"),
            once=once or None,
            action=action,
            until=until or None,
            drop_end=not until and self.kind == SCHEDULE,
            name=self.query_one("#rule-name", Input).value,
            enabled=self.query_one("#rule-enabled", Checkbox).value,
        )
        return validate(rule, sun=self.sun)

    def action_save(self) -> None:
        try:
            rule = self.checked()
        except UsageError as exc:
            self.query_one("#rule-error", Label).update(safe_text(str(exc), limit=300))
            return
        self.dismiss(rule)

    def on_input_submitted(self) -> None:
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
