"""Exporting a session's decision log, with the scores each decision was made on, as CSV or JSONL."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from corpus.reviews import DecisionRow, ItemRow
from corpus.scores import SCORE_FLOATS
from triage.csv_safe import csv_cell
from triage.output_files import output_target, replacing
from triage.review_records import Checklist, effective_decisions, scores_were_shown

FORMATS = {".csv": "csv", ".jsonl": "jsonl"}
SCORE_COLUMNS = (*SCORE_FLOATS, "tier")
CHECKLIST_COLUMNS = tuple(Checklist().to_dict())
COLUMNS = (
    "decision_id", "session", "item_id", "item", "title", "version", "path", "reviewer", "decided_at", "state", "in_force",
    "reverses", "redoes", "blind", "scores_shown", "rationale", *CHECKLIST_COLUMNS, "probe_version", "embedder_id",
    *SCORE_COLUMNS, "reasons", "content_hash",
)


@dataclass(frozen=True)
class ExportReport:
    path: Path
    rows: int
    format: str


def resolve_output(out: Path | str, *, base: Path | None = None, workspace_home: Path | None = None) -> tuple[Path, str]:
    """The path to write and its format, under the rule every output file follows (triage.output_files)."""
    raw = Path(out).expanduser()
    target = output_target(raw if raw.is_absolute() else (base or Path.cwd()) / raw, suffixes=tuple(FORMATS), workspace_home=workspace_home)
    return target, FORMATS[raw.suffix.lower()]


def export_rows(session: str, items: list[ItemRow], log: list[DecisionRow]) -> list[dict]:
    """One row per log entry, oldest first; `in_force` says whether the entry is a decision still standing.

    `version` is the draft version the entry is about; `scores_shown` false flags a decision made before any score
    was shown; `blind` whether it was made without having seen other reviewers' (empty: not recorded).
    """
    known = {item.id: item for item in items}
    standing = {d.id for d in effective_decisions(log).values()}
    rows = []
    for d in log:
        item = known.get(d.item_id)
        checklist = Checklist.from_dict(d.checklist).to_dict()
        rows.append({
            "decision_id": d.id, "session": session, "item_id": d.item_id, "item": item.ref if item else "",
            "title": item.title if item else "", "version": item.version if item else None, "path": item.path if item else None,
            "reviewer": d.reviewer, "decided_at": d.decided_at, "state": d.state or "undo", "in_force": d.id in standing,
            "reverses": d.reverses, "redoes": d.redoes, "blind": d.blind, "scores_shown": scores_were_shown(d), "rationale": d.rationale,
            **checklist, "probe_version": d.probe_version, "embedder_id": d.embedder_id,
            **{c: d.scores.get(c) for c in SCORE_COLUMNS}, "reasons": d.scores.get("reasons", []),
            "content_hash": d.content_hash, "checklist": checklist, "scores": d.scores,
        })
    return rows


def write_rows(rows: list[dict], target: Path, fmt: str, *, shown: Path | str | None = None) -> None:
    """Write through a temporary file and rename, so a failure never leaves half an export behind.

    CSV cells get the formula rule (triage.csv_safe); every other value is written as it is.
    """
    with replacing(target, shown) as temp, temp.open("w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            for row in rows:
                cells = {
                    **row, "reasons": ";".join(row["reasons"]), "in_force": int(row["in_force"]),
                    **{flag: "" if row[flag] is None else int(row[flag]) for flag in ("blind", "scores_shown")},
                }
                writer.writerow({column: csv_cell(cells.get(column)) for column in COLUMNS})
        else:
            for row in rows:
                slim = {k: v for k, v in row.items() if k not in CHECKLIST_COLUMNS and k not in SCORE_COLUMNS and k != "reasons"}
                out.write(json.dumps(slim, ensure_ascii=False, sort_keys=False) + "\n")
