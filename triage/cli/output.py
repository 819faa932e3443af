"""Rendering results as a table, JSON or CSV: one place, so every command offers the same formats."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from typing import Any, Sequence


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


def _column_widths(columns: Sequence[str], cells: list[list[str]], total: int) -> list[int]:
    """Short columns get their natural width; long ones (titles) share what is left, so a table fits the terminal."""
    natural = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    budget = total - 3 * len(columns)  # padding on both sides of every column, plus the table's edges
    if sum(natural) <= budget:
        return natural
    # Give up to 14 characters to every column, then split the rest among the columns that still want more.
    widths = [min(n, 14) for n in natural]
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


def render(rows: Sequence[dict], fmt: OutputFormat, *, columns: Sequence[str] | None = None, title: str | None = None, payload: Any = None) -> None:
    """Print `rows`. JSON prints `payload` when given (a richer object than the table), else the rows."""
    if fmt is OutputFormat.json:
        json.dump(payload if payload is not None else list(rows), sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _cell(row.get(c)) for c in columns})
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    console = Console()
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column, width in zip(columns, _column_widths(columns, cells, console.width)):
        numeric = bool(rows) and isinstance(rows[0].get(column), (int, float))
        table.add_column(column, justify="right" if numeric else "left", width=width, min_width=width, overflow="fold")
    for cell_row in cells:
        table.add_row(*cell_row)
    console.print(table)
