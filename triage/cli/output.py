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
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column, overflow="fold", justify="right" if rows and isinstance(rows[0].get(column), (int, float)) else "left")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console().print(table)
