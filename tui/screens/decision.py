"""The decision form: state, rationale, the checklist and suggested redactions. It returns a draft; the app saves it."""

from __future__ import annotations

import asyncio

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Footer, Input, RadioButton, RadioSet, Static

from triage.review_records import RATIONALE_OPTIONAL, STATES, Checklist
from triage.safe_text import terminal_text
from tui.colours import short_state
from tui.keys import FORM_KEYS, bindings
from tui.messages import DecisionDraft
from tui.widgets.inputs import SteadyInput

CHECKS = (
    ("capability_uplift", "capability uplift"),
    ("novelty_vs_public", "novel vs public work"),
    ("dual_use_hazard", "dual-use hazard"),
    ("safety_benefit", "safety benefit"),
    ("responsible_disclosure", "responsible disclosure (parties told, artefacts withheld)"),
)
SAVE, CANCEL = "save", "cancel"


class DecisionScreen(ModalScreen[tuple[str, DecisionDraft]]):
    """Dismisses with ("save", draft) or ("cancel", draft): a cancelled draft is kept, never thrown away.

    The form's keys are priority bindings (see `tui.keys.FORM_KEYS`): tab moves focus before the next key is read,
    and 1…5 tick the checklist whenever focus is outside a text box.
    """

    BINDINGS = bindings(FORM_KEYS, priority=True)

    def __init__(self, title: str, draft: DecisionDraft, error: str = "", note: str = ""):
        super().__init__()
        self.item_title = title
        self.draft = draft
        self.error = error
        self.note = note  # a warning shown above the form, e.g. that no score was shown

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = Content(f"decide · {terminal_text(self.item_title)}")
            dialog.border_subtitle = "ctrl+s save · esc keep as draft"
            if self.note:
                yield Static(Content.styled(self.note, "bold $text-warning"), id="note")
            with RadioSet(id="state", compact=True):
                for state in STATES:
                    yield RadioButton(short_state(state), value=state == self.draft.state, name=state, compact=True)
            yield Static("rationale", classes="label", id="rationale-label")
            yield SteadyInput(self.draft.rationale, placeholder="why (required except for approve)", id="rationale", select_on_focus=False)
            with Grid(id="checklist"):
                for n, (key, label) in enumerate(CHECKS, start=1):
                    yield Checkbox(
                        Content.assemble((f"{n} ", "bold $text-primary"), label),
                        value=bool(getattr(self.draft.checklist, key)), id=key, compact=True,
                    )
            yield Static("suggested redactions", classes="label")
            yield SteadyInput(
                self.draft.checklist.suggested_redactions, placeholder="passages or details to remove", id="redactions", select_on_focus=False,
            )
            yield Static(self.error, id="error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._label_rationale()
        rationale = self.query_one("#rationale", Input)
        # set_focus, not focus(): focus() is queued behind keys already read, which would then land nowhere.
        self.set_focus(rationale)
        # Reopened text continues where it ended, nothing selected: the next keystroke adds, never replaces.
        rationale.cursor_position = len(rationale.value)

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

    @on(Input.Changed, "#rationale")
    def _rationale_typed(self, event: Input.Changed) -> None:
        if event.value.strip():  # the complaint is answered: do not leave it standing
            self.query_one("#error", Static).update("")

    @on(Input.Submitted, "#rationale")
    @on(Input.Submitted, "#redactions")
    async def _submitted(self) -> None:
        await self.action_save()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In a text box a digit is text: the binding steps aside and the box receives it.
        return not (action in ("tick", "press_focused") and isinstance(self.focused, Input))

    def action_press_focused(self) -> None:
        """Space on the field focused as the key is read, not on whatever has focus once the key is handled."""
        focused = self.focused
        if isinstance(focused, (Checkbox, RadioSet)):
            focused.action_toggle_button()

    def action_tick(self, index: int) -> None:
        box = self.query_one(f"#{CHECKS[index][0]}", Checkbox)
        box.value = not box.value

    async def _drain(self) -> None:
        """Let every field handle the keys already sent to it before the form is read.

        Keys in one burst are handed to the focused field at once; ctrl+s, a priority key, would otherwise read
        the form before the text typed just before it has reached the box. Awaiting here also holds back any key
        after ctrl+s until the form is closed.
        """
        fields = [*self.query(Input), *self.query(Checkbox), self.query_one(RadioSet)]
        flags = [asyncio.Event() for _ in fields]
        for field, flag in zip(fields, flags):
            field.call_later(flag.set)
        await asyncio.gather(*(flag.wait() for flag in flags))

    async def action_save(self) -> None:
        await self._drain()
        draft = self.current()
        if not draft.rationale.strip() and draft.state not in RATIONALE_OPTIONAL:
            self.query_one("#error", Static).update(f"a rationale is required to {draft.state}")
            self.query_one("#rationale", Input).focus()
            return
        self.dismiss((SAVE, draft))

    async def action_cancel(self) -> None:
        await self._drain()
        self.dismiss((CANCEL, self.current()))
