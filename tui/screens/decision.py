"""The decision form: state, rationale, the checklist and suggested redactions. It returns a draft; the app saves it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static

from triage.review_records import RATIONALE_OPTIONAL, STATES, Checklist
from triage.safe_text import terminal_text
from tui.colours import short_state
from tui.messages import DecisionDraft
from tui.widgets.inputs import SteadyInput

CHECKS = (
    ("capability_uplift", "capability uplift"),
    ("novelty_vs_public", "novel vs public work"),
    ("dual_use_hazard", "dual-use hazard"),
    ("safety_benefit", "safety benefit"),
)
SAVE, CANCEL = "save", "cancel"


class DecisionScreen(ModalScreen[tuple[str, DecisionDraft]]):
    """Dismisses with ("save", draft) or ("cancel", draft): a cancelled draft is kept, never thrown away."""

    BINDINGS = [("ctrl+s", "save", "save"), ("escape", "cancel", "keep as draft")]

    def __init__(self, title: str, draft: DecisionDraft, error: str = ""):
        super().__init__()
        self.item_title = title
        self.draft = draft
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = Content(f"decide · {terminal_text(self.item_title)}")
            dialog.border_subtitle = "ctrl+s save · esc keep as draft"
            with RadioSet(id="state", compact=True):
                for state in STATES:
                    yield RadioButton(short_state(state), value=state == self.draft.state, name=state, compact=True)
            yield Static("rationale", classes="label", id="rationale-label")
            yield SteadyInput(self.draft.rationale, placeholder="why (required except for approve)", id="rationale")
            with Grid(id="checklist"):
                for key, label in CHECKS:
                    yield Checkbox(label, value=bool(getattr(self.draft.checklist, key)), id=key, compact=True)
            yield Static("suggested redactions", classes="label")
            yield SteadyInput(self.draft.checklist.suggested_redactions, placeholder="passages or details to remove", id="redactions")
            yield Static(self.error, id="error", markup=False)

    def on_mount(self) -> None:
        self._label_rationale()
        self.query_one("#rationale", Input).focus()

    @property
    def state(self) -> str:
        pressed = self.query_one("#state", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else self.draft.state

    def current(self) -> DecisionDraft:
        checklist = Checklist(
            **{key: self.query_one(f"#{key}", Checkbox).value for key, _ in CHECKS},
            suggested_redactions=self.query_one("#redactions", Input).value.strip(),
        )
        return DecisionDraft(self.draft.item_id, self.state, self.query_one("#rationale", Input).value, checklist)

    @property
    def has_content(self) -> bool:
        draft = self.current()
        return bool(draft.rationale.strip() or draft.checklist != Checklist())

    def _label_rationale(self) -> None:
        needed = "optional" if self.state in RATIONALE_OPTIONAL else "required"
        self.query_one("#rationale-label", Static).update(f"rationale ({needed} for {short_state(self.state)})")

    @on(RadioSet.Changed, "#state")
    def _state_changed(self) -> None:
        self._label_rationale()

    @on(Input.Submitted, "#rationale")
    @on(Input.Submitted, "#redactions")
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        draft = self.current()
        if not draft.rationale.strip() and draft.state not in RATIONALE_OPTIONAL:
            self.query_one("#error", Static).update(f"a rationale is required to {draft.state}")
            self.query_one("#rationale", Input).focus()
            return
        self.dismiss((SAVE, draft))

    def action_cancel(self) -> None:
        self.dismiss((CANCEL, self.current()))
