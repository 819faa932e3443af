"""Rendering results as a table, JSON or CSV: one place, so every command offers the same formats.

Every value is data, never markup or terminal control: table cells are `rich.text.Text` made from
`terminal_text`, JSON escapes what a terminal would act on, and CSV cells pass `csv_cell` (the formula rule) and
`terminal_text`, since CSV on stdout is read on a terminal as often as it is redirected.
"""

from __future__ import annotations

import csv
import sys
from enum import Enum
from typing import Any, Sequence

from triage.csv_safe import csv_cell
from triage.safe_text import terminal_json, terminal_text

# Columns cut to one line with an ellipsis when the table is too wide, and lists of words that wrap. Any other
# column with a space in its values wraps too; the rest (ids, tiers, scores) keep their whole width, never wrapping.
ELLIPSIS_COLUMNS = ("title",)
WRAP_COLUMNS = ("areas", "reasons", "issue")
MIN_TEXT_WIDTH = 8


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    return str(value)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        value = _cell(value)
    if isinstance(value, str):
        return terminal_text(csv_cell(value))
    return _cell(value)


def _is_word(column: str, cells: list[list[str]], i: int) -> bool:
    """A column whose values hold no space (an id, a tier, a score) is read whole: it must never wrap."""
    return column not in ELLIPSIS_COLUMNS + WRAP_COLUMNS and not any(" " in row[i] for row in cells)


def _column_widths(columns: Sequence[str], cells: list[list[str]], total: int) -> list[int]:
    """Word columns get their natural width; text columns (titles) share what is left, so a table fits the terminal."""
    natural = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    budget = total - 2 - 3 * (len(columns) - 1)  # box.SIMPLE_HEAD: an edge each side, a rule and padding between columns
    if sum(natural) <= budget:
        return natural
    words = [_is_word(c, cells, i) for i, c in enumerate(columns)]
    widths = [n if word else min(n, MIN_TEXT_WIDTH) for n, word in zip(natural, words)]
    spare = budget - sum(widths)
    wanting = [i for i, n in enumerate(natural) if n > widths[i]]
    while spare > 0 and wanting:
        share = max(spare // len(wanting), 1)
        for i in list(wanting):
            grant = min(share, natural[i] - widths[i], spare)
            widths[i] += grant
            spare -= grant
            if widths[i] >= natural[i]:
                wanting.remove(i)
    return widths


def say(message: str) -> None:
    """One line of plain text on stdout (a summary, a heading), shown as text whatever it quotes."""
    sys.stdout.write(terminal_text(message) + "\n")


def render(
    rows: Sequence[dict], fmt: OutputFormat, *, columns: Sequence[str] | None = None, title: str | None = None, payload: Any = None,
    caption: str | None = None,
) -> None:
    """Print `rows`. JSON prints `payload` when given (a richer object than the table), else the rows. `caption`, a
    line under the table, explains it; JSON and CSV carry data only."""
    if fmt is OutputFormat.json:
        sys.stdout.write(terminal_json(payload if payload is not None else list(rows), indent=2, default=str) + "\n")
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _csv_cell(row.get(c)) for c in columns})
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells = [[terminal_text(_cell(row.get(c))) for c in columns] for row in rows]
    # Not a terminal: rich takes COLUMNS when set, else 80; tables are laid out for that width either way.
    console = Console(highlight=False)
    table = Table(
        title=Text(terminal_text(title)) if title else None, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
        caption=Text(terminal_text(caption)) if caption else None, caption_justify="left",
    )
    for i, (column, width) in enumerate(zip(columns, _column_widths(columns, cells, console.width))):
        numeric = bool(rows) and isinstance(rows[0].get(column), (int, float))
        style: dict[str, Any]
        if column in ELLIPSIS_COLUMNS:
            style = {"no_wrap": True, "overflow": "ellipsis"}
        elif _is_word(column, cells, i):
            style = {"no_wrap": True, "overflow": "ellipsis", "min_width": width}
        else:
            style = {"overflow": "fold"}
        table.add_column(Text(terminal_text(column)), justify="right" if numeric else "left", width=width, **style)
    for cell_row in cells:
        table.add_row(*(Text(cell) for cell in cell_row))
    console.print(table)
