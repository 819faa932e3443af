"""Training labels from CSV or JSONL: a text (or title + abstract) with safety, capabilities, hazard and area columns."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.readers import IssueSink, ReadIssue, ignore_issue
from corpus.readers.files import require_file
from corpus.readers.tables import collapse, iter_json_records, iter_lines, text_of
from corpus.records import LabelledText

_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}
_AREA_SEPARATORS = re.compile(r"[;,|]")


class _BadRow(ValueError):
    pass


def _flag(row: Mapping[str, Any], column: str) -> int | None:
    raw = text_of(row.get(column)).strip().lower()
    if raw == "":
        return None
    if raw in _TRUE:
        return 1
    if raw in _FALSE:
        return 0
    raise _BadRow(f"{column} must be 0 or 1 (got {raw!r})")


def label_from_row(row: Mapping[str, Any], source: str) -> LabelledText:
    """Map one row (keys lower-cased) to a label. Text is `text`, else `title. abstract`, else the title alone."""
    title = collapse(text_of(row.get("title")))
    body = collapse(text_of(row.get("abstract")) or text_of(row.get("text")))
    text = f"{title}. {body}" if title and body else (body or title)
    if not text:
        raise _BadRow("no text, abstract or title")
    safety, capabilities, hazard = _flag(row, "safety"), _flag(row, "capabilities"), _flag(row, "hazard")
    if safety is None and capabilities is None and hazard is None:
        raise _BadRow("no safety, capabilities or hazard label")
    raw_areas = row.get("area", row.get("areas"))
    if isinstance(raw_areas, list):
        areas = [collapse(text_of(a)).lower() for a in raw_areas if text_of(a).strip()]
    elif raw_areas is None or text_of(raw_areas).strip() == "":
        areas = None
    else:
        areas = [a.strip().lower() for a in _AREA_SEPARATORS.split(text_of(raw_areas)) if a.strip()]
    return LabelledText(text=text, safety=safety, capabilities=capabilities, areas=areas, title=title, source=source, hazard=hazard)


def read_labels(
    path: str | Path, on_issue: IssueSink = ignore_issue, *, source: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[LabelledText]:
    """Stream labels from a .csv or .jsonl file; rows without text or labels are reported and skipped."""
    path = require_file(path)
    name = path.name.lower()
    source = source or f"user:{path.name}"
    if name.endswith((".jsonl", ".jsonl.gz", ".json")):
        records = iter_json_records(path, on_issue, limits)
    elif name.endswith(".csv"):
        records = _csv_records(path, limits)
    else:
        raise InputError("labels must be a .csv or .jsonl file", source=str(path))
    for number, record in records:
        try:
            yield label_from_row(record, source)
        except _BadRow as exc:
            on_issue(ReadIssue(str(path), number, f"skipped: {exc}"))


def _checked_lines(path: Path, limits: ReadLimits) -> Iterator[str]:
    """The file's lines for csv, read within the line limit; a bad line fails the file, naming the line."""
    for number, line in iter_lines(path, limits):
        if isinstance(line, UnicodeDecodeError):
            raise InputError(f"invalid UTF-8 at byte {line.start} of the line", source=str(path), record=number)
        if not isinstance(line, str):
            raise InputError(str(line), source=str(path), record=number)
        yield line


def _csv_records(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        reader = csv.DictReader(_checked_lines(path, limits))
        if not reader.fieldnames:
            raise InputError("empty CSV: expected a header with text or title and safety/capabilities", source=str(path))
        for row in reader:
            yield reader.line_num, {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", source=str(path)) from None
