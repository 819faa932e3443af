"""Map records of arXiv's bulk metadata snapshot (the one-object-per-line dump) to papers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.readers import IssueSink, ignore_issue
from corpus.readers.tables import (
    RowError,
    checked_arxiv_id,
    checked_doi,
    collapse,
    paper_from_row,
    parse_date,
    read_jsonl,
    split_authors,
    split_list,
    text_of,
)
from corpus.records import Paper

# Keys only the snapshot has; a generic row that merely has an `id` column is not mistaken for one.
_SNAPSHOT_KEYS = ("versions", "authors_parsed", "update_date")


def is_snapshot_record(record: Mapping[str, Any]) -> bool:
    """True when `record` has the snapshot's shape rather than the plain table columns."""
    return "id" in record and any(key in record for key in _SNAPSHOT_KEYS)


def paper_from_snapshot(record: Mapping[str, Any], warn: Callable[[str], None]) -> Paper:
    """Map one snapshot record. Its `id` is the arXiv id; an invalid one is warned about and dropped."""
    title = collapse(text_of(record.get("title")))
    abstract = collapse(text_of(record.get("abstract")))
    if not title:
        raise RowError("no title")
    if not abstract:
        raise RowError("empty abstract")
    arxiv_id = checked_arxiv_id(record.get("id"), warn)
    return Paper(
        title=title,
        abstract=abstract,
        source="snapshot",
        arxiv_id=arxiv_id,
        # The dump sometimes lists several DOIs separated by spaces; the first is the paper's own.
        doi=checked_doi((text_of(record.get("doi")).split() or [""])[0], warn),
        authors=_authors(record),
        categories=split_list(record.get("categories"), re.compile(r"\s+")),
        published=_first_version_date(record.get("versions")),
        updated=parse_date(record.get("update_date")),
        url=f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None,
        external_id=text_of(record.get("id")) or None,
    )


def paper_from_record(record: Mapping[str, Any], warn: Callable[[str], None]) -> Paper:
    """Map a JSON-lines record of either shape, so that one reader serves snapshots and plain tables alike."""
    if is_snapshot_record(record):
        return paper_from_snapshot(record, warn)
    return paper_from_row(record, warn, source="jsonl")


def read_snapshot(path: str | Path, on_issue: IssueSink = ignore_issue, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Paper]:
    """Papers from a JSON-lines file (.gz too), detecting the snapshot shape record by record.

    Snapshot records get source "snapshot"; records with the plain table columns get source "jsonl".
    """
    return read_jsonl(path, on_issue, mapper=paper_from_record, limits=limits)


def _authors(record: Mapping[str, Any]) -> list[str]:
    """Prefer `authors_parsed` ([last, first, suffix]): the `authors` string mixes commas into affiliations."""
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if isinstance(parts, list) and parts:
                last, first, suffix = ([text_of(part) for part in parts] + ["", ""])[:3]
                name = collapse(f"{first} {last} {suffix}")
                if name:
                    names.append(name)
        if names:
            return names
    return split_authors(record.get("authors"))


def _first_version_date(versions: Any) -> str | None:
    """The v1 submission date as YYYY-MM-DD, from the RFC 2822 `created` stamp of the first version."""
    if not isinstance(versions, list) or not versions or not isinstance(versions[0], dict):
        return None
    try:
        return parsedate_to_datetime(text_of(versions[0].get("created"))).date().isoformat()
    except (TypeError, ValueError):
        return None
