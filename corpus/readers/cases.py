"""Papers to score in a batch: any paper file, plus JSON-lines rows that carry only a text, as label files do."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from corpus.readers import IssueSink, ignore_issue
from corpus.readers.files import read_papers, require_file
from corpus.readers.snapshot import is_snapshot_record, paper_from_record
from corpus.readers.tables import LineProblem, collapse, json_records, map_records, paper_from_row, read_jsonl, text_of
from corpus.records import Paper

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
MAX_TITLE = 120
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def split_title(text: str) -> tuple[str, str]:
    """A title for a text that has none, and the rest: the whole of a short text, else its first sentence or words.

    The two join back into the text (`Paper.embedding_text` puts ". " between them), so the text is scored as written.
    """
    text = collapse(text)
    if len(text) <= MAX_TITLE:
        return text, ""
    match = _SENTENCE_END.search(text)
    if match and match.end() <= MAX_TITLE:
        return text[: match.start()], text[match.end() :].strip()
    cut = text.rfind(" ", 0, MAX_TITLE)
    cut = cut if cut > 0 else MAX_TITLE
    return text[:cut].strip(), text[cut:].strip()


def case_from_record(record: Mapping[str, Any], warn: Callable[[str], None]) -> Paper:
    """A paper from a JSON-lines record of any shape the paper readers know, or from a label-style row.

    A row without `abstract` or `text` may name its abstract `summary` (as the arXiv API and the seed file do);
    a row without a title (a label file's `text` column) is titled by its own opening.
    """
    if is_snapshot_record(record):
        return paper_from_record(record, warn)
    row = dict(record)
    if not text_of(row.get("abstract")) and not text_of(row.get("text")) and text_of(row.get("summary")):
        row["abstract"] = row["summary"]
    body = text_of(row.get("abstract")) or text_of(row.get("text"))
    if text_of(row.get("title")) or not body:
        return paper_from_row(row, warn, source="jsonl")  # the usual mapping and its usual errors
    title, rest = split_title(body)
    paper = paper_from_row({**row, "title": title, "abstract": rest or title, "text": None}, warn, source="jsonl")
    paper.abstract = rest  # a one-sentence text is all title; repeating it as the abstract would skew its vector
    return paper


def read_cases(path: str | Path, on_issue: IssueSink = ignore_issue) -> Iterator[Paper]:
    """Like `read_papers`, but JSON-lines rows that have only a text (or a summary) are scored rather than skipped."""
    path = require_file(path)
    if path.name.lower().endswith(JSONL_SUFFIXES):
        return read_jsonl(path, on_issue, mapper=case_from_record)
    return read_papers(path, on_issue)


def cases_from_lines(lines: Iterable[tuple[int, str | LineProblem]], source: str, on_issue: IssueSink = ignore_issue) -> Iterator[Paper]:
    """`read_cases` of a JSON-lines file, over (line number, line) pairs already read from `source`: the same
    validation and the same issues, for a partition of the file that another process read."""
    return map_records(json_records(lines, source, on_issue), case_from_record, source, on_issue)
