"""Read papers from a BibTeX file with bibtexparser v2, reporting the blocks it could not parse."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import bibtexparser
from bibtexparser.exceptions import BlockAbortedException
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits, describe_bytes
from corpus.readers import IssueSink, ReadIssue, ignore_issue
from corpus.readers.tables import checked_doi, collapse, decode_utf8, parse_date
from corpus.records import Paper, parse_arxiv_id

# Starts only where a run of spaces starts, so a long run costs linear time (see tables._AUTHOR_SEPARATORS).
_AND = re.compile(r"(?<!\s)\s++and\s+")
_LATEX = LatexNodes2Text()
# bibtexparser logs every block it gives up on, several lines each; each is reported as a ReadIssue instead,
# and Python's last-resort handler would otherwise print them around the CLI's one line.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())


def read_bibtex(path: str | Path, on_issue: IssueSink = ignore_issue, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Paper]:
    """Papers from the entries of a .bib file, in file order; issue records are 1-based line numbers.

    An entry without a title is skipped; one without an abstract is kept (few .bib files carry abstracts,
    and the title alone still places a paper). An invalid DOI or arXiv eprint is reported and dropped.
    """
    path = Path(path)
    source = str(path)
    # BibTeX files are small, and the parser needs the whole text anyway; the size limit keeps that true.
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        message = f"is {size:,} bytes, over the {describe_bytes(limits.max_file_bytes)} limit for BibTeX files (--max-file-mb)"
        raise InputError(message, source=source)
    text = decode_utf8(path.read_bytes(), source)

    library = bibtexparser.parse_string(text)
    for block in library.blocks:
        # bibtexparser counts lines from 0.
        line = (block.start_line or 0) + 1
        if isinstance(block, ParsingFailedBlock):
            on_issue(ReadIssue(source, line, f"skipped: {_failure(block)}"))
        elif isinstance(block, Entry):

            def warn(message: str, line: int = line) -> None:
                on_issue(ReadIssue(source, line, message))

            try:
                paper = _paper_from_entry(block, warn)
            except _Unconvertible as exc:
                warn(f"skipped: entry {block.key!r}: {exc}")
                continue
            if paper is not None:
                yield paper


def _failure(block: ParsingFailedBlock) -> str:
    error = block.error
    if isinstance(error, BlockAbortedException):
        return f"malformed BibTeX entry: {error.abort_reason}"
    if isinstance(block, DuplicateBlockKeyBlock):
        return f"duplicate entry key {block.key!r}"
    return f"malformed BibTeX block: {error}"


def _paper_from_entry(entry: Entry, warn: Callable[[str], None]) -> Paper | None:
    # Field names are case-insensitive in BibTeX (archivePrefix, ArchivePrefix, archiveprefix).
    fields = {field.key.lower(): str(field.value) for field in entry.fields}
    title = _plain(fields.get("title", ""))
    if not title:
        warn(f"skipped: entry {entry.key!r} has no title")
        return None
    return Paper(
        title=title,
        abstract=_plain(fields.get("abstract", "")),
        source="bibtex",
        arxiv_id=_arxiv_id(fields, warn),
        doi=checked_doi(fields.get("doi", ""), warn),
        authors=[_display_name(_plain(name)) for name in _AND.split(fields.get("author", "")) if name.strip()],
        published=parse_date(fields.get("date", "")) or parse_date(fields.get("year", "")),
        url=fields.get("url", "").strip() or None,
        external_id=entry.key,
    )


class _Unconvertible(ValueError):
    """A field pylatexenc cannot convert; it costs its entry, not the file."""


def _plain(latex: str) -> str:
    """LaTeX to single-spaced plain text: braces, accents and simple math become Unicode."""
    try:
        return collapse(_LATEX.latex_to_text(latex))
    except RecursionError:
        # pylatexenc recurses per brace level; thousands of nested groups exhaust the stack.
        raise _Unconvertible("a field nests braces too deeply to convert") from None
    except Exception as exc:  # noqa: BLE001  (pylatexenc trips over some malformed macros, e.g. a bare \title)
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise _Unconvertible(f"a field's LaTeX could not be converted ({type(exc).__name__}: {detail})") from None


def _display_name(name: str) -> str:
    """BibTeX's "Last, First" and "Last, Jr, First" as "First Last [Jr]", the order other sources use."""
    parts = [part.strip() for part in name.split(",")]
    if len(parts) == 2:
        return collapse(f"{parts[1]} {parts[0]}")
    if len(parts) == 3:
        return collapse(f"{parts[2]} {parts[0]} {parts[1]}")
    return name


def _arxiv_id(fields: dict[str, str], warn: Callable[[str], None]) -> str | None:
    """The arXiv id from eprint (BibTeX archivePrefix or biblatex eprinttype), else from an arxiv.org url."""
    eprint = fields.get("eprint", "").strip()
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if eprint and prefix in ("arxiv", ""):
        arxiv_id = parse_arxiv_id(eprint)
        if arxiv_id is None and prefix == "arxiv":
            warn(f"invalid arXiv eprint {eprint!r}; entry kept without it")
        if arxiv_id is not None:
            return arxiv_id
    return parse_arxiv_id(fields.get("url", ""))
