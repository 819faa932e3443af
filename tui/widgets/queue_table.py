"""The queue: one row per item with its decision state, tier badge, safety, capabilities and hazard scores, and title."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from triage.review_records import QueueItem, scores_were_shown
from triage.safe_text import terminal_text
from tui.colours import STATE_COLOUR, TIER_COLOUR, palette, short_state

# State is wide enough for the longest state with its marks ("escalate ! +12"), so +N is never cut off.
FIXED = (("State", 14), ("Tier", 8), ("S", 4), ("C", 4), ("H", 4))


def state_label(entry: QueueItem) -> str:
    """Your state, `!` when you decided without a score shown, `+N` for the other reviewers you may see."""
    label = short_state(entry.state)
    if entry.decision is not None and scores_were_shown(entry.decision) is False:
        label += " !"
    if entry.others:
        label += f" +{len(entry.others)}"
    return label


class QueueTable(DataTable):
    """Rows keyed by item id. The app owns the entries; this only draws them and keeps the cursor on the same item.

    Redrawing the same rows in the same order updates only the rows that changed, so a batch of scores arriving
    in a 500-item queue costs a few cell updates, not a rebuild.
    """

    DEFAULT_CSS = "QueueTable { height: 1fr; }"
    BINDINGS = [Binding("home", "first_row", "first", show=False), Binding("end", "last_row", "last", show=False)]

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._entries: list[QueueItem] = []
        self._drawn: dict[int, tuple] = {}  # item id -> what its row shows now
        self.scoring = False
        self._title = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show(self._entries, rebuild=True))
        self._add_columns()

    def _add_columns(self) -> None:
        for label, width in FIXED:
            self.add_column(label, width=width, key=label)
        self._title = self._title_width()
        self.add_column("Title", width=self._title, key="Title")

    def _title_width(self) -> int:
        used = sum(width + 2 * self.cell_padding for _, width in FIXED) + 2 * self.cell_padding + 2
        return max(12, (self.size.width or 80) - used)

    def on_resize(self) -> None:
        # Only a new width needs a redraw; redrawing on every resize event would feed itself.
        if self._title_width() != self._title:
            self.show(self._entries, rebuild=True)

    def show(self, entries: list[QueueItem], *, rebuild: bool = False) -> None:
        """Draw `entries`, keeping the cursor on the item it was on when that item is still shown."""
        selected = self.selected_id
        same_rows = not rebuild and [e.id for e in entries] == [e.id for e in self._entries] and self.row_count == len(entries)
        self._entries = list(entries)
        colours = palette(self.app)
        if same_rows:
            for entry in self._entries:
                shown = self._signature(entry)
                if self._drawn.get(entry.id) != shown:
                    for column, cell in zip((*(label for label, _ in FIXED), "Title"), self._cells(entry, colours)):
                        self.update_cell(str(entry.id), column, cell)
                    self._drawn[entry.id] = shown
            return
        self.clear(columns=True)
        self._add_columns()
        self._drawn = {}
        for entry in self._entries:
            self.add_row(*self._cells(entry, colours), key=str(entry.id))
            self._drawn[entry.id] = self._signature(entry)
        ids = [e.id for e in self._entries]
        if selected in ids:
            self.move_cursor(row=ids.index(selected), animate=False)

    def _signature(self, entry: QueueItem) -> tuple:
        score = entry.score.scores if entry.score else None
        scores = (score.tier, score.safety, score.capabilities, score.hazard) if score else None
        return (state_label(entry), entry.state, scores, self.scoring and score is None, entry.title, entry.version)

    def _cells(self, entry: QueueItem, colours: dict[str, str]) -> list:
        if entry.score is None:
            tier = Text("scoring…" if self.scoring else "–", style=colours["muted"])
            safety = capabilities = hazard = Text("–", style=colours["muted"])
        else:
            s = entry.score.scores
            tier = Text(s.tier.upper(), style=f"bold {colours[TIER_COLOUR.get(s.tier, 'muted')]}")
            safety = Text(f"{s.safety:.2f}", style=colours["success"])
            capabilities = Text(f"{s.capabilities:.2f}", style=colours["error"])
            hazard = Text("–" if s.hazard is None else f"{s.hazard:.2f}", style=colours["warning"])
        title = Text(no_wrap=True, overflow="ellipsis")
        if entry.version > 1:
            title.append(f"v{entry.version} ", style=f"bold {colours['accent']}")
        title.append(terminal_text(entry.title))
        return [Text(state_label(entry), style=colours[STATE_COLOUR.get(entry.state, "muted")]), tier, safety, capabilities, hazard, title]

    @property
    def selected_id(self) -> int | None:
        if not self._entries or self.cursor_row is None or not 0 <= self.cursor_row < len(self._entries):
            return None
        return self._entries[self.cursor_row].id

    def select(self, item_id: int) -> bool:
        """Put the cursor on an item; False when it is not shown."""
        ids = [e.id for e in self._entries]
        if item_id not in ids:
            return False
        self.move_cursor(row=ids.index(item_id), animate=False)
        return True

    def action_first_row(self) -> None:
        self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        self.move_cursor(row=max(0, len(self._entries) - 1), animate=False)
