"""The main screen: the queue on top, the selected item's evidence and text below. It holds view state only."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, OptionList, Static

from triage.review import ItemText
from triage.review_queue import RISK, SORTS, STATE_FILTERS, TIERS, filter_queue, sort_queue
from triage.review_records import PENDING, ItemScore, QueueItem
from tui.keys import REVIEW_KEYS, bindings
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


# The detail pane (evidence and text) follows a single move at once, just after the frame with the cursor: DETAIL_LEAD.
# Moves that come faster than DETAIL_DELAY apart (a held key) leave it until the cursor has rested that long, so the
# cursor moves at the table's own speed and the pane is drawn once, for the item it stops on.
DETAIL_LEAD = 0.02
DETAIL_DELAY = 0.05


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class MainScreen(Screen):
    """Queue, evidence and text. The app feeds it entries and scores; it asks the app to load, save and score."""

    # Priority bindings: the app acts on a key as it reads it, so a decision key bunched with the rationale after it
    # opens the form before that text is handed on (see `check_action` for the search box).
    # Focus moves with screen.set_focus, at once: Widget.focus() is queued behind the keys already read, so the search
    # text typed right after `/` would act as decision keys, and a key right after enter would be typed into the box.
    # Enter in the search box is a priority binding for the same reason (only there: elsewhere enter is the widget's).
    BINDINGS = [*bindings(REVIEW_KEYS, priority=True), Binding("enter", "search_done", show=False, priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[int, QueueItem] = {}
        self.texts: dict[int, ItemText] = {}
        self.sessions: list[str] = []
        self.sort_by = RISK
        self.tier: str | None = None
        self.state: str | None = None
        self.search = ""
        self.loaded = False
        self._shown_text: tuple[int, str | None] | None = None  # (item id, probe version) now in the text pane
        self._visible: list[QueueItem] | None = None  # sorted and filtered, until entries or the view change
        self._detail_timer: Timer | None = None  # set while the detail pane waits for the cursor to rest
        self._last_move = 0.0  # time.monotonic() of the last cursor move or view change

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
            yield SteadyInput(placeholder="search titles, paths, ids… (enter: done, esc: clear)", id="search", compact=True)
            yield Static(id="filters")
            yield QueueTable(id="queue")
            yield Static(id="empty")
        with Horizontal(id="detail"):
            yield Evidence(id="evidence")
            yield DraftText(id="text")
        yield StatusLine()
        # The palette is on ctrl+p (listed in ?); its footer entry would be cut off on narrow terminals.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._show_search(False)
        self.query_one("#filters").display = False
        self.query_one("#empty").display = False
        self.table.loading = True
        self.table.focus()
        self.review_app.start_session()

    # --- what the app feeds in ----------------------------------------------------------------------------------

    def set_entries(self, entries: list[QueueItem], sessions: list[str] | None = None) -> None:
        self.entries = {e.id: e for e in entries}
        if sessions is not None:
            self.sessions = sessions
        self.loaded = True
        self.table.loading = False
        self.refresh_view()
        if self.focused is None:
            self.table.focus()

    def set_scores(self, scores: dict[int, ItemScore]) -> None:
        changed = False
        for item_id, score in scores.items():
            entry = self.entries.get(item_id)
            if entry is not None:
                entry.score = score
                changed = True
            else:  # an earlier version: its scores show in the history of the latest
                for latest in self.entries.values():
                    for earlier in latest.earlier:
                        if earlier.id == item_id:
                            earlier.score = score
        if changed:
            # Rows keep their order and membership while scores stream in (re-sorting 500 rows per batch would stall
            # the keys); only the rows in view are redrawn. The queue re-sorts when scoring finishes.
            self.table.show(self.visible_items)
            selected = self.selected
            if selected is not None and ({selected.id, *(v.id for v in selected.earlier)} & scores.keys()):
                self.show_detail_soon()

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
        if self._visible is None:
            ordered = sort_queue(list(self.entries.values()), self.sort_by)
            self._visible = filter_queue(ordered, tier=self.tier, state=self.state, search=self.search)
        return self._visible

    @property
    def selected(self) -> QueueItem | None:
        item_id = self.table.selected_id
        return self.entries.get(item_id) if item_id is not None else None

    @property
    def filters(self) -> list[str]:
        return [f"tier {self.tier}"] * bool(self.tier) + [f"state {self.state}"] * bool(self.state) + [f"“{self.search}”"] * bool(self.search)

    def refresh_view(self) -> None:
        self._visible = None
        visible = self.visible_items
        self.table.show(visible)
        self._show_empty(visible)
        self.show_detail_soon()
        self.status.view(self.summary(len(visible)))

    def summary(self, shown: int) -> str:
        count = f"{shown} of {len(self.entries)}" if shown != len(self.entries) else f"{shown}"
        narrowed = " · " + " · ".join(self.filters) if self.filters else ""
        return f"{count} {'item' if len(self.entries) == 1 else 'items'} · {self.sort_by}{narrowed} · ? keys"

    def _show_empty(self, visible: list[QueueItem]) -> None:
        """Active filters stay in sight, and an empty queue or view says what to do next instead of showing nothing."""
        bar = self.query_one("#filters", Static)
        bar.display = bool(self.filters)
        bar.update(Content.assemble(("filters: ", "bold"), " · ".join(self.filters), ("  (esc clears all)", "$text-muted")))
        empty = self.query_one("#empty", Static)
        if visible or not self.loaded:
            empty.display = False
            self.table.display = True
            return
        name = self.review_app.review.name
        if not self.entries:
            others = [s for s in self.sessions if s != name]
            hint: list[str | tuple[str, str]] = [
                ("This session is empty.", "bold"),
                f"\nSession “{name}” has no drafts yet. Quit (q) and queue some:\n",
                (f"  triage review draft.md other.pdf --session {name}", "bold $text-primary"),
            ]
            if others:
                hint += ["\nOr did you mean another session? ", (", ".join(others[:8]), "bold")]
        else:
            hint = [("Nothing matches ", "bold"), (" · ".join(self.filters), "bold $text-primary"),
                    f"\n{plural(len(self.entries), 'item')} hidden by these filters. Press esc to clear them all."]
        empty.update(Content.assemble(*hint))
        empty.display = True
        self.table.display = False

    def show_detail_soon(self) -> None:
        """Draw the detail pane right after this frame, or, when the cursor is moving fast, once it rests."""
        now = time.monotonic()
        resting = now - self._last_move >= DETAIL_DELAY
        self._last_move = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_LEAD if resting and self._detail_timer is None else DETAIL_DELAY, self._detail_due)

    def _detail_due(self) -> None:
        self._detail_timer = None
        self._show_detail()

    @property
    def detail_pending(self) -> bool:
        """The detail pane is waiting to follow the cursor: tests and the app's `is_idle` wait for it."""
        return self._detail_timer is not None

    def _show_detail(self, without_text: bool = False) -> None:
        """Draw the selected item's evidence and text. A text not yet loaded is asked for first, and both are drawn
        together when it arrives (one layout pass, not two); `without_text` draws the evidence when it cannot come."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        entry = self.selected
        text = self.texts.get(entry.id) if entry else None
        key = (entry.id, entry.score.probe_version if entry.score else None) if entry else None
        if entry is not None and text is None and not without_text:
            self.review_app.load_text(entry.id)
            return
        text_pane = self.query_one(DraftText)
        with self.app.batch_update():
            self.query_one(Evidence).show(entry, self.review_app.reviewer, blind=self.review_app.blind, changes=text.changes if text else None)
            if key == self._shown_text:
                return
            if entry is None or text is None:
                text_pane.show("", [])
                self._shown_text = None
                return
            passages = [(p.start, p.end, list(p.drives)) for p in entry.score.document.passages] if entry.score else []
            text_pane.show(text.text, passages)
            self._shown_text = key

    def text_unavailable(self) -> None:
        """Loading the selected item's text failed (the app says why): its evidence is still shown."""
        self._show_detail(without_text=True)

    @on(QueueTable.Highlighted, "#queue")
    def _row_highlighted(self) -> None:
        self.show_detail_soon()

    def focus_item(self, item_id: int) -> None:
        """Put the cursor on an item, clearing the filters first when they hide it."""
        if not self.table.select(item_id) and item_id in self.entries:
            self.action_clear_filters()
            self.table.select(item_id)
        self._show_detail()

    def next_pending(self, after: int) -> None:
        """Move on from a decided item to the next pending one below it (wrapping), if any."""
        visible = self.visible_items
        ids = [e.id for e in visible]
        start = ids.index(after) + 1 if after in ids else 0
        for entry in visible[start:] + visible[:start]:
            if entry.state == PENDING and entry.id != after:
                self.table.select(entry.id)
                return

    # --- actions ------------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In the search box letters are text; only esc (clear) and enter (done) still act there.
        in_search = isinstance(self.focused, Input)
        return in_search if action == "search_done" else action == "clear_filters" or not in_search

    async def action_decide(self, state: str) -> None:
        entry = self.selected
        if entry is None:
            self.notify("nothing selected", severity="warning")
            return
        opened = self.review_app.start_decision(entry, state)
        if opened is not None:
            await opened  # the form is mounted and its rationale focused before the next key is read

    def action_undo(self) -> None:
        self.review_app.undo_last()

    def action_redo(self) -> None:
        self.review_app.redo_last()

    def action_retrain(self) -> None:
        self.review_app.start_retrain()

    def action_passage(self, step: int) -> None:
        pane = self.query_one(DraftText)
        index = pane.jump(step)
        if index is None:
            self.notify("no highlighted passages in this item", severity="warning")
        else:
            self.status.idle(pane.describe(index))

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
        self.set_focus(self.query_one("#search", Input))

    def action_clear_filters(self) -> None:
        """One key for everything that narrows the queue: search, tier and state."""
        box = self.query_one("#search", Input)
        box.value = ""
        self._show_search(False)
        self.set_view(tier=None, state=None, search="")
        self.set_focus(self.table)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if event.value != self.search:
            self.set_view(search=event.value)

    def action_search_done(self) -> None:
        self.set_focus(self.table)

    @on(OptionList.OptionSelected, "#prior")
    def _prior_selected(self, event: OptionList.OptionSelected) -> None:
        entry = self.selected
        if entry is None or entry.score is None or event.option.id is None:
            return
        from tui.screens.prior import PriorWorkScreen

        self.app.push_screen(PriorWorkScreen(entry.score.prior[int(event.option.id)]))
