"""Pick the reader for a file by its extension, after checking that the file is there."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.readers import IssueSink, ignore_issue
from corpus.readers.bibtex import read_bibtex
from corpus.readers.snapshot import read_snapshot
from corpus.readers.tables import read_csv
from corpus.records import Paper

PaperReader = Callable[..., Iterator[Paper]]  # (path, on_issue, *, limits)

# Longest suffixes first, so that "x.jsonl.gz" is not taken for a bare ".gz". Every JSON-lines file goes
# through the snapshot reader because it recognises the snapshot shape record by record.
PAPER_READERS: dict[str, PaperReader] = {
    ".jsonl.gz": read_snapshot,
    ".json.gz": read_snapshot,
    ".csv.gz": read_csv,
    ".jsonl": read_snapshot,
    ".json": read_snapshot,
    ".csv": read_csv,
    ".bib": read_bibtex,
}
DRAFT_SUFFIXES = (".md", ".markdown", ".txt", ".tex", ".pdf")


def require_file(path: str | Path) -> Path:
    """`path` as a Path, or an InputError naming it when it is missing or not a regular file."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", source=str(path))
    if path.is_dir():
        raise InputError("is a directory, expected a file", source=str(path))
    if not path.is_file():
        raise InputError("is not a regular file", source=str(path))
    return path


def _matching_suffix(path: Path, suffixes: Iterable[str]) -> str | None:
    name = path.name.lower()
    return next((suffix for suffix in suffixes if name.endswith(suffix)), None)


def is_draft(path: str | Path) -> bool:
    """True when `path` names a draft document (read with read_document) rather than a list of papers."""
    return _matching_suffix(Path(path), DRAFT_SUFFIXES) is not None


def read_papers(path: str | Path, on_issue: IssueSink = ignore_issue, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Paper]:
    """Stream the papers of a CSV, JSON-lines (plain or .gz) or BibTeX file; bad records go to `on_issue`.

    The file and its extension are checked now, not on first iteration, so that a wrong path fails at once.
    """
    path = require_file(path)
    suffix = _matching_suffix(path, PAPER_READERS)
    if suffix is None:
        supported = ", ".join(sorted(PAPER_READERS))
        if is_draft(path):
            raise InputError(f"is a draft document, not a list of papers ({supported})", source=str(path))
        raise InputError(f"unsupported file type; supported: {supported}", source=str(path))
    return PAPER_READERS[suffix](path, on_issue, limits=limits)
