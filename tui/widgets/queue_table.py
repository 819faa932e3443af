"""The queue: one row per item with its decision state, tier badge, safety and capabilities scores, and title."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from triage.review_records import QueueItem
from triage.safe_text import terminal_text
from tui.colours import STATE_COLOUR, TIER_COLOUR, palette, short_state

FIXED = (("State", 10), ("Tier", 8), ("S", 4), ("C", 4))


class QueueTable(DataTable):
    """Rows keyed by item id. The app owns the entries; this only draws them and keeps the cursor on the same item."""

    DEFAULT_CSS = "QueueTable { height: 1fr; }"

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._entries: list[QueueItem] = []
        self.scoring = False
        self._title = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show(self._entries))
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
            self.show(self._entries)

    def show(self, entries: list[QueueItem]) -> None:
        """Redraw every row, keeping the cursor on the item it was on when that item is still shown."""
        selected = self.selected_id
        self._entries = list(entries)
        colours = palette(self.app)
        self.clear(columns=True)
        self._add_columns()
        for entry in self._entries:
            self.add_row(*self._cells(entry, colours), key=str(entry.id))
        ids = [e.id for e in self._entries]
        if selected in ids:
            self.move_cursor(row=ids.index(selected), animate=False)

    def _cells(self, entry: QueueItem, colours: dict[str, str]) -> list:
        state = short_state(entry.state)
        if entry.others:
            state += f" +{len(entry.others)}"
        if entry.score is None:
            tier = Text("scoring…" if self.scoring else "–", style=colours["muted"])
            safety = capabilities = Text("–", style=colours["muted"])
        else:
            s = entry.score.score
            tier = Text(s.tier.upper(), style=f"bold {colours[TIER_COLOUR.get(s.tier, 'muted')]}")
            safety = Text(f"{s.safety:.2f}", style=colours["success"])
            capabilities = Text(f"{s.capabilities:.2f}", style=colours["error"])
        return [
            Text(state, style=colours[STATE_COLOUR.get(entry.state, "muted")]),
            tier, safety, capabilities, Text(terminal_text(entry.title), no_wrap=True, overflow="ellipsis"),
        ]

    @property
    def selected_id(self) -> int | None:
        if not self._entries or self.cursor_row is None or not 0 <= self.cursor_row < len(self._entries):
            return None
        return self._entries[self.cursor_row].id
