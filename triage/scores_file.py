"""The batch scores file: one row per paper, as .parquet or .csv (through pandas) or .jsonl, and read back with pandas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from corpus.errors import InputError
from corpus.scores import SCORE_FLOATS
from triage.csv_safe import csv_cell, csv_value
from triage.output_files import replacing

SUFFIXES = (".parquet", ".csv", ".jsonl")
# The order of the file's columns; docs/BATCH.md describes each. The score columns come from the one score record.
COLUMNS = (
    "id", "arxiv_id", "title", "authors", "categories", "published", "url",
    *SCORE_FLOATS, "tier", "reasons", "top_areas", "prior_id", "prior_similarity",
)
LIST_COLUMNS = ("authors", "categories", "reasons", "top_areas")
FLOAT_COLUMNS = (*SCORE_FLOATS, "prior_similarity")
TEXT_COLUMNS = tuple(column for column in COLUMNS if column not in FLOAT_COLUMNS)
# CSV has no lists; their items are joined with this and split again on reading.
CSV_LIST_SEPARATOR = "; "


def scores_format(path: Path) -> str:
    """'parquet', 'csv' or 'jsonl' from the file name, or an InputError naming the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"the scores file must end in {', '.join(SUFFIXES)}", source=str(path))
    return suffix[1:]


def _frame(rows: list[dict], fmt: str):
    import pandas as pd  # heavy: only exporting and reporting load it

    frame = pd.DataFrame([{column: row.get(column) for column in COLUMNS} for row in rows], columns=list(COLUMNS))
    for column in FLOAT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    if fmt == "csv":
        for column in LIST_COLUMNS:
            frame[column] = frame[column].map(lambda items: CSV_LIST_SEPARATOR.join(items or []))
        for column in TEXT_COLUMNS:
            frame[column] = frame[column].map(csv_cell)  # the spreadsheet formula rule; read_scores undoes it
    return frame


def _arrow_schema():
    import pyarrow as pa

    text, texts, number = pa.string(), pa.list_(pa.string()), pa.float64()
    types = {column: number for column in FLOAT_COLUMNS} | {column: texts for column in LIST_COLUMNS}
    return pa.schema([(column, types.get(column, text)) for column in COLUMNS])


def write_scores(chunks: Iterable[list[dict]], path: Path) -> int:
    """Write the rows chunk by chunk (memory stays bounded), atomically: a reader never sees half a file."""
    path = Path(path)
    fmt = scores_format(path)
    written = 0
    with replacing(path) as tmp:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = _arrow_schema()
            with pq.ParquetWriter(tmp, schema) as writer:
                for rows in chunks:
                    writer.write_table(pa.Table.from_pandas(_frame(rows, fmt), schema=schema, preserve_index=False))
                    written += len(rows)
        else:
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                if fmt == "csv":
                    handle.write(",".join(COLUMNS) + "\n")
                for rows in chunks:
                    if fmt == "csv":
                        _frame(rows, fmt).to_csv(handle, header=False, index=False, lineterminator="\n")
                    else:
                        # json, not DataFrame.to_json: that escapes every "/" in the URLs and writes NaN for missing.
                        handle.writelines(json.dumps({c: row.get(c) for c in COLUMNS}, ensure_ascii=False) + "\n" for row in rows)
                    written += len(rows)
    return written


def read_scores(path: Path):
    """A scores file as a DataFrame with list columns as lists, whichever format it was written in."""
    import pandas as pd

    path = Path(path)
    fmt = scores_format(path)
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "csv":
            frame = pd.read_csv(path, dtype={"id": str, "arxiv_id": str, "published": str}, keep_default_na=False, na_values=[""])
        else:
            frame = pd.read_json(path, lines=True, dtype={"id": str, "arxiv_id": str, "published": str})
    except (ValueError, OSError) as exc:
        raise InputError(f"not a readable {fmt} scores file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})", source=str(path)) from None
    return _checked(frame, path, fmt)


# What `triage report` needs of each row; a value outside these bounds is one line naming the column and row.
REQUIRED = ("title", "safety", "capabilities", "differential", "tier")
NUMBER_RANGES = {"safety": (0.0, 1.0), "capabilities": (0.0, 1.0), "differential": (-1000.0, 1000.0)}
OPTIONAL_NUMBER_RANGES = {"safety_std": (0.0, 1.0), "capabilities_std": (0.0, 1.0), "prior_similarity": (-1.0, 1.0)}


def _bad_row(path: Path, column: str, position: int, problem: str, value) -> InputError:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
    # Rows count from 1 after the header, in every format.
    return InputError(f"column '{column}', row {position + 1}: {problem}, got {shown}", source=str(path))


def _checked(frame, path: Path, fmt: str):
    """The frame with every column the report reads, or an InputError naming the first bad column and row."""
    import numpy as np
    import pandas as pd

    missing = [column for column in REQUIRED if column not in frame.columns]
    if missing:
        raise InputError(f"not a scores file: missing columns {', '.join(missing)}", source=str(path))
    frame = frame.reset_index(drop=True)
    for column, (low, high) in {**NUMBER_RANGES, **OPTIONAL_NUMBER_RANGES}.items():
        if column not in frame.columns:
            frame[column] = np.nan
            continue
        raw = frame[column]
        numbers = pd.to_numeric(raw.map(lambda v: None if isinstance(v, bool) else v), errors="coerce").astype("float64")
        optional = column in OPTIONAL_NUMBER_RANGES
        blank = raw.isna() if optional else pd.Series(False, index=raw.index)
        bad = ~blank & ~((numbers >= low) & (numbers <= high))  # NaN, text and infinities fail the comparison
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad_row(path, column, position, f"expected a number from {low:g} to {high:g}", raw.iloc[position])
        frame[column] = numbers
    tiers = frame["tier"]
    bad = ~tiers.map(lambda v: isinstance(v, str) and bool(v.strip()))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise _bad_row(path, "tier", position, "expected a tier name", tiers.iloc[position])
    for column in TEXT_COLUMNS:
        if column in LIST_COLUMNS:
            continue
        if column not in frame.columns:
            frame[column] = None
        elif fmt == "csv":
            frame[column] = frame[column].map(csv_value)
    for column in LIST_COLUMNS:
        if column not in frame.columns:
            frame[column] = [[] for _ in range(len(frame))]
            continue
        values = frame[column].map(lambda v: csv_value(v) if fmt == "csv" else v)
        for position, value in enumerate(values):
            if not (value is None or isinstance(value, (str, list, tuple, np.ndarray)) or (isinstance(value, float) and value != value)):
                raise _bad_row(path, column, position, "expected a list or text", value)
        frame[column] = values.map(_as_list)
    return frame


def _as_list(value) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(CSV_LIST_SEPARATOR.strip()) if item.strip()]
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [str(item) for item in value]
