"""The queue: one row per item with its decision state, tier badge, safety, capabilities and hazard scores, and title."""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from triage.review_records import QueueItem, scores_were_shown
from triage.safe_text import terminal_text
from tui.colours import STATE_COLOUR, TIER_COLOUR, palette, short_state

# State is wide enough for the longest state with its marks ("escalate ! +12"), so +N is never cut off.
FIXED = (("State", 14), ("Tier", 8), ("S", 4), ("C", 4), ("H", 4))
PADDING = 1  # blank cells either side of every column


def state_label(entry: QueueItem) -> str:
    """Your state, `!` when you decided without a score shown, `+N` for the other reviewers you may see."""
    label = short_state(entry.state)
    if entry.decision is not None and scores_were_shown(entry.decision) is False:
        label += " !"
    if entry.others:
        label += f" +{len(entry.others)}"
    return label


class QueueTable(ScrollView, can_focus=True):
    """Rows keyed by item id, drawn line by line: only the rows in view are rendered, each once until it changes.

    The app owns the entries; this only draws them and keeps the cursor on the same item. Showing a new list (a
    filter, a sort, a batch of scores) swaps the list and redraws what is in view, so its cost does not grow with
    the queue: a 500-item queue filters as fast as a 5-item one. The header row stays put while the rows scroll.
    """

    COMPONENT_CLASSES = {"queue-table--header", "queue-table--cursor"}
    DEFAULT_CSS = """
    QueueTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        &:focus {
            background-tint: $foreground 5%;
            & > .queue-table--header { background-tint: $foreground 5%; }
        }
        & > .queue-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .queue-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .queue-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "first_row", "first", show=False),
        Binding("end", "last_row", "last", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        """The cursor is on another item (None: nothing shown)."""

        table: "QueueTable"
        item_id: int | None

        @property
        def control(self) -> "QueueTable":
            return self.table

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._entries: list[QueueItem] = []
        self._rows: dict[int, int] = {}  # item id -> row
        self._lines: dict[tuple, Strip] = {}  # rendered rows, by what they show; cleared on theme or width changes
        self._colours: dict[str, str] = {}
        self.cursor_row = 0
        self._highlighted: int | None = None
        self.scoring = False

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        self._restyle()

    def _restyle(self) -> None:
        self._colours = palette(self.app)
        self._lines.clear()
        self.refresh()

    # --- what the screen calls ----------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._entries)

    def show(self, entries: list[QueueItem], *, rebuild: bool = False) -> None:
        """Show `entries`, keeping the cursor on the item it was on when that item is still shown (else the first)."""
        selected = self.selected_id
        self._entries = list(entries)
        self._rows = {e.id: i for i, e in enumerate(self._entries)}
        if rebuild:
            self._lines.clear()
        self.virtual_size = Size(self._table_width(), len(self._entries) + 1)
        self._move(self._rows.get(selected, 0) if selected is not None else 0)
        self.refresh()

    @property
    def selected_id(self) -> int | None:
        return self._entries[self.cursor_row].id if 0 <= self.cursor_row < len(self._entries) else None

    def select(self, item_id: int) -> bool:
        """Put the cursor on an item; False when it is not shown."""
        row = self._rows.get(item_id)
        if row is None:
            return False
        self._move(row)
        return True

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self._move(row)

    # --- cursor and scrolling -----------------------------------------------------------------------------------

    def _move(self, row: int) -> None:
        row = max(0, min(row, len(self._entries) - 1))
        if row != self.cursor_row:
            self.cursor_row = row
            self.refresh()
        self._scroll_to_cursor()
        item_id = self.selected_id
        if item_id != self._highlighted:
            self._highlighted = item_id
            self.post_message(self.Highlighted(self, item_id))

    def _scroll_to_cursor(self) -> None:
        rows_in_view = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows_in_view:
            self.scroll_to(y=self.cursor_row - rows_in_view + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self._move(self.cursor_row + step * max(1, self.scrollable_content_region.height - 2))

    def action_first_row(self) -> None:
        self._move(0)

    def action_last_row(self) -> None:
        self._move(len(self._entries) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._move(round(self.scroll_y) + event.y - 1)

    def on_resize(self) -> None:
        self.virtual_size = Size(self._table_width(), len(self._entries) + 1)
        self._scroll_to_cursor()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- drawing ------------------------------------------------------------------------------------------------

    def _widths(self) -> list[int]:
        used = sum(width + 2 * PADDING for _, width in FIXED) + 2 * PADDING
        return [w for _, w in FIXED] + [max(12, self.scrollable_content_region.width - used)]

    def _table_width(self) -> int:
        return sum(w + 2 * PADDING for w in self._widths())

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._line(("header", width), lambda: [Text(label) for label, _ in FIXED] + [Text("Title")], "queue-table--header")
        row = round(self.scroll_y) + y - 1
        if not 0 <= row < len(self._entries):
            return Strip.blank(width, self.rich_style)
        entry = self._entries[row]
        cursor = row == self.cursor_row
        key = (entry.id, self._signature(entry), cursor, cursor and self.has_focus, width)
        return self._line(key, lambda: self._cells(entry), "queue-table--cursor" if cursor else None)

    def _line(self, key: tuple, cells, component: str | None) -> Strip:
        line = self._lines.get(key)
        if line is None:
            if len(self._lines) > 4096:
                self._lines.clear()
            style = self.get_component_rich_style(component) if component else Style()
            # The header's style is a base under the cells' colours; the cursor's is laid over them, as in DataTable.
            base, over = (style, None) if component != "queue-table--cursor" else (Style(), style)
            text = Text(no_wrap=True, end="")
            for cell, width in zip(cells(), self._widths()):
                cell = cell.copy()
                cell.truncate(width, overflow="ellipsis", pad=True)
                text.append(" " * PADDING)
                text.append_text(cell)
                text.append(" " * PADDING)
            segments = list(Segment.apply_style(text.render(self.app.console), base, over))
            line = Strip(segments).adjust_cell_length(self.scrollable_content_region.width, over or base)
            self._lines[key] = line
        return line.apply_style(self.rich_style)

    def _signature(self, entry: QueueItem) -> tuple:
        score = entry.score.scores if entry.score else None
        scores = (score.tier, score.safety, score.capabilities, score.hazard) if score else None
        return (state_label(entry), entry.state, scores, self.scoring and score is None, entry.title, entry.version)

    def _cells(self, entry: QueueItem) -> list[Text]:
        colours = self._colours
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
