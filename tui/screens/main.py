"""The main screen: the queue on top, the selected item's evidence and text below. It holds view state only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, OptionList

from triage.review import ItemText
from triage.review_queue import RISK, SORTS, STATE_FILTERS, TIERS, filter_queue, sort_queue
from triage.review_records import ItemScore, QueueItem
from tui.keys import REVIEW_KEYS, bindings
from tui.messages import DecisionDraft
from tui.widgets.draft_text import DraftText
from tui.widgets.evidence import Evidence
from tui.widgets.inputs import SteadyInput
from tui.widgets.queue_table import QueueTable
from tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from tui.app import ReviewApp


def _cycle(options: tuple[str, ...], current: str | None) -> str | None:
    """None (all) → each option in turn → None."""
    sequence = (None, *options)
    return sequence[(sequence.index(current) + 1) % len(sequence)]


class MainScreen(Screen):
    """Queue, evidence and text. The app feeds it entries and scores; it asks the app to load, save and score."""

    BINDINGS = [*bindings(REVIEW_KEYS), Binding("escape", "clear_search", "clear", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[int, QueueItem] = {}
        self.texts: dict[int, ItemText] = {}
        self.sort_by = RISK
        self.tier: str | None = None
        self.state: str | None = None
        self.search = ""
        self.loaded = False
        self._shown_text: tuple[int, str | None] | None = None  # (item id, probe version) now in the text pane

    @property
    def review_app(self) -> "ReviewApp":
        return self.app  # type: ignore[return-value]

    @property
    def table(self) -> QueueTable:
        return self.query_one(QueueTable)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="§")
        with Vertical(id="queue-pane"):
            yield SteadyInput(placeholder="search titles… (enter: done, esc: clear)", id="search", compact=True)
            yield QueueTable(id="queue")
        with Horizontal(id="detail"):
            yield Evidence(id="evidence")
            yield DraftText(id="text")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_search(False)
        self.table.loading = True
        self.table.focus()
        self.review_app.start_session()

    # --- what the app feeds in ----------------------------------------------------------------------------------

    def set_entries(self, entries: list[QueueItem]) -> None:
        self.entries = {e.id: e for e in entries}
        self.loaded = True
        self.table.loading = False
        self.refresh_view()
        if self.focused is None:
            self.table.focus()

    def set_score(self, item_id: int, score: ItemScore) -> None:
        entry = self.entries.get(item_id)
        if entry is not None:
            entry.score = score
            self.refresh_view()

    def set_text(self, item_id: int, text: ItemText) -> None:
        self.texts[item_id] = text
        if self.selected is not None and self.selected.id == item_id:
            self._show_detail()

    def set_scoring(self, scoring: bool) -> None:
        self.table.scoring = scoring

    # --- drawing ------------------------------------------------------------------------------------------------

    @property
    def visible_items(self) -> list[QueueItem]:
        # Not `visible`: that is Textual's own show/hide property of every node.
        ordered = sort_queue(list(self.entries.values()), self.sort_by)
        return filter_queue(ordered, tier=self.tier, state=self.state, search=self.search)

    @property
    def selected(self) -> QueueItem | None:
        item_id = self.table.selected_id
        return self.entries.get(item_id) if item_id is not None else None

    def refresh_view(self) -> None:
        visible = self.visible_items
        self.table.show(visible)
        self._show_detail()
        self.status.view(self.summary(len(visible)))

    def summary(self, shown: int) -> str:
        narrowed = [f"tier {self.tier}"] * bool(self.tier) + [f"state {self.state}"] * bool(self.state) + [f"“{self.search}”"] * bool(self.search)
        count = f"{shown} of {len(self.entries)}" if shown != len(self.entries) else f"{shown}"
        return f"{count} items · {self.sort_by}" + (" · " + " · ".join(narrowed) if narrowed else "")

    def _show_detail(self) -> None:
        entry = self.selected
        self.query_one(Evidence).show(entry, self.review_app.reviewer)
        text_pane = self.query_one(DraftText)
        if entry is None:
            text_pane.show("", [])
            self._shown_text = None
            return
        key = (entry.id, entry.score.probe_version if entry.score else None)
        if key == self._shown_text:
            return
        text = self.texts.get(entry.id)
        if text is None:
            self.review_app.load_text(entry.id)
            return
        passages = [(p.start, p.end, list(p.drives)) for p in entry.score.document.passages] if entry.score else []
        text_pane.show(text.text, passages)
        self._shown_text = key

    @on(DataTable.RowHighlighted, "#queue")
    def _row_highlighted(self) -> None:
        self._show_detail()

    # --- actions ------------------------------------------------------------------------------------------------

    def action_decide(self, state: str) -> None:
        entry = self.selected
        if entry is None:
            self.notify("nothing selected", severity="warning")
            return
        app = self.review_app
        earlier = app.drafts.get(entry.id) or app.restored.get(entry.id)
        draft = DecisionDraft(entry.id, state, earlier.rationale, earlier.checklist) if earlier else DecisionDraft(entry.id, state)
        self.review_app.open_decision(entry, draft)

    def action_undo(self) -> None:
        self.review_app.undo_last()

    def action_retrain(self) -> None:
        self.review_app.start_retrain()

    def action_passage(self, step: int) -> None:
        index = self.query_one(DraftText).jump(step)
        if index is None:
            self.notify("no highlighted passages in this item", severity="warning")

    def action_cycle_sort(self) -> None:
        self.set_view(sort_by=SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)])

    def action_cycle_tier(self) -> None:
        self.set_view(tier=_cycle(TIERS, self.tier))

    def action_cycle_state(self) -> None:
        self.set_view(state=_cycle(STATE_FILTERS, self.state))

    def set_view(self, *, sort_by: str | None = None, tier: str | None = "", state: str | None = "", search: str | None = None) -> None:
        """Change any of sort, tier filter, state filter and search ("" leaves a filter as it is; None clears it)."""
        if sort_by is not None:
            self.sort_by = sort_by
        if tier != "":
            self.tier = tier
        if state != "":
            self.state = state
        if search is not None:
            self.search = search
        self.refresh_view()

    def _show_search(self, shown: bool) -> None:
        box = self.query_one("#search", Input)
        # Disabled as well as hidden, so that focus never lands in an invisible box and swallows keys.
        box.display = shown
        box.disabled = not shown

    def action_search(self) -> None:
        self._show_search(True)
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        if box.display or self.search:
            box.value = ""
            self._show_search(False)
            self.set_view(search="")
            self.table.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.set_view(search=event.value)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    @on(OptionList.OptionSelected, "#prior")
    def _prior_selected(self, event: OptionList.OptionSelected) -> None:
        entry = self.selected
        if entry is None or entry.score is None or event.option.id is None:
            return
        from tui.screens.prior import PriorWorkScreen

        self.app.push_screen(PriorWorkScreen(entry.score.prior[int(event.option.id)]))
