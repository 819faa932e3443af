"""Stream papers from CSV and JSON-lines tables (plain or gzipped), reporting bad rows and keeping good ones."""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from corpus.errors import InputError
from corpus.readers import IssueSink, ReadIssue, ignore_issue
from corpus.records import Paper, normalise_doi, parse_arxiv_id

# A row's text is its first non-empty one of these (column names are matched case-insensitively).
TEXT_COLUMNS = ("abstract", "text")

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_AUTHOR_SEPARATORS = re.compile(r"\s*,\s*|\s+and\s+")

# Maps one decoded record to a Paper. It raises RowError to skip the record, and calls the warn callback for a
# field it drops while keeping the record.
RecordMapper = Callable[[Mapping[str, Any], Callable[[str], None]], Paper]


class RowError(ValueError):
    """A record that cannot become a Paper; the reader reports it and moves on."""


# --- streaming -------------------------------------------------------------------------------------------------


@contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    """Open `path` for binary line iteration, gunzipping on the fly when it ends in .gz."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            yield handle  # type: ignore[misc]
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        # A corrupt or truncated archive cannot be resumed past the damage, so it fails the whole file.
        raise InputError(f"corrupt or truncated gzip data ({exc})", source=str(path)) from exc


def iter_lines(path: Path) -> Iterator[tuple[int, str | UnicodeDecodeError]]:
    """Yield (1-based line number, decoded line or its decoding error), reading one line at a time.

    Lines are decoded one by one so that a stray invalid byte costs one record, not the whole file.
    """
    with _open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, exc
                continue
            # Drop the byte-order mark that spreadsheet exports put first (after decoding, so offsets stay exact).
            yield number, line.removeprefix("\ufeff") if number == 1 else line


def _bad_utf8(exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 at byte {exc.start} of the line"


def decode_utf8(data: bytes, source: str) -> str:
    """A whole file's bytes as text, or an InputError giving the line and byte offset of the first bad byte.

    Guessing another encoding instead would silently garble the text that gets scored.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"invalid UTF-8 at byte {exc.start}; save the file as UTF-8"
        raise InputError(message, source=source, record=line) from exc
    return text.removeprefix("\ufeff")


# --- mapping a row ---------------------------------------------------------------------------------------------


def text_of(value: Any) -> str:
    """A scalar cell as text; None, lists and objects are not text and give ""."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    return ""


def collapse(text: str) -> str:
    """One line, single-spaced: hard-wrapped abstracts and titles compare and embed the same as unwrapped ones."""
    return " ".join(text.split())


def split_list(value: Any, separators: re.Pattern[str]) -> list[str]:
    """A list cell: a JSON list as is, a string split on `separators`."""
    if isinstance(value, list):
        items = [text_of(item) for item in value]
    else:
        items = separators.split(text_of(value))
    return [collapse(item) for item in items if item and item.strip()]


def split_authors(value: Any) -> list[str]:
    """Authors from a list or a string: "A; B" (names may hold commas) or arXiv's "A, B and C"."""
    if isinstance(value, str) and ";" in value:
        return split_list(value, re.compile(r"\s*;\s*"))
    return split_list(value, _AUTHOR_SEPARATORS)


def parse_date(value: Any) -> str | None:
    """An ISO date or bare year (2021, "2021", "2021-05", "2021-05-04T..."), cut to YYYY[-MM[-DD]]."""
    match = _DATE.match(text_of(value))
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)


def checked_arxiv_id(value: Any, warn: Callable[[str], None]) -> str | None:
    raw = text_of(value)
    if not raw:
        return None
    arxiv_id = parse_arxiv_id(raw)
    if arxiv_id is None:
        warn(f"invalid arXiv id {raw!r}; row kept without it")
    return arxiv_id


def checked_doi(value: Any, warn: Callable[[str], None]) -> str | None:
    raw = text_of(value)
    if not raw:
        return None
    doi = normalise_doi(raw)
    if not _DOI.match(doi):
        warn(f"invalid DOI {raw!r}; row kept without it")
        return None
    return doi


def paper_from_row(row: Mapping[str, Any], warn: Callable[[str], None], *, source: str = "jsonl") -> Paper:
    """Map a row to a Paper. Keys, already lower-cased: title, abstract or text, and optionally id, arxiv_id,
    doi, label, authors, categories, published or year, url. A bad optional field is warned about and dropped."""
    title = collapse(text_of(row.get("title")))
    abstract = collapse(text_of(row.get("abstract")) or text_of(row.get("text")))
    if not title and not abstract:
        raise RowError("no title and no abstract/text")
    if not title:
        raise RowError("no title")
    if not abstract:
        raise RowError("empty abstract/text")

    published = None
    for key in ("published", "year"):
        raw = text_of(row.get(key))
        if raw:
            published = parse_date(raw)
            if published is None:
                warn(f"invalid {key} {raw!r}; row kept without it")
            break

    url = text_of(row.get("url")) or None
    arxiv_id = checked_arxiv_id(row.get("arxiv_id"), warn)
    if arxiv_id is None and url:
        arxiv_id = parse_arxiv_id(url)  # an arxiv.org/abs link names the paper just as well; silent if not one

    return Paper(
        title=title,
        abstract=abstract,
        source=source,
        arxiv_id=arxiv_id,
        doi=checked_doi(row.get("doi"), warn),
        authors=split_authors(row.get("authors")),
        categories=split_list(row.get("categories"), re.compile(r"[\s,;]+")),
        published=published,
        url=url,
        external_id=text_of(row.get("id")) or None,
        label=text_of(row.get("label")) or None,
    )


def _emit(
    record: Mapping[str, Any],
    mapper: RecordMapper,
    number: int,
    source: str,
    on_issue: IssueSink,
) -> Paper | None:
    """Map one record, turning its problems into issues; None when the record is skipped."""

    def warn(message: str) -> None:
        on_issue(ReadIssue(source, number, message))

    try:
        return mapper(record, warn)
    except RowError as exc:
        warn(f"skipped: {exc}")
        return None


# --- JSON lines ------------------------------------------------------------------------------------------------


def _loads_line(line: str) -> Any:
    """Parse one JSON line; also accepts a JSON array written one element per line ("[{..},", "{..}]")."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        trimmed = line.strip().removeprefix("[").removesuffix(",").removesuffix("]").rstrip(",")
        if trimmed == line.strip():
            raise
        return json.loads(trimmed)


def iter_json_records(path: Path, on_issue: IssueSink) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each JSON object line; report undecodable lines and non-objects."""
    source = str(path)
    for number, line in iter_lines(path):
        if isinstance(line, UnicodeDecodeError):
            on_issue(ReadIssue(source, number, f"skipped: {_bad_utf8(line)}"))
            continue
        if line.strip() in ("", "[", "]"):
            continue  # blank lines, and the bracket lines of a JSON array written one element per line
        try:
            record = _loads_line(line)
        except json.JSONDecodeError as exc:
            on_issue(ReadIssue(source, number, f"skipped: malformed JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(record, dict):
            on_issue(ReadIssue(source, number, f"skipped: expected a JSON object, found {type(record).__name__}"))
            continue
        yield number, {str(key).strip().lower(): value for key, value in record.items()}


def read_jsonl(
    path: str | Path, on_issue: IssueSink = ignore_issue, *, mapper: RecordMapper | None = None
) -> Iterator[Paper]:
    """Papers from a JSON-lines file (.gz too), one object per line with the table columns as keys.

    `mapper` replaces the column mapping; the snapshot reader passes one that knows the arXiv dump's shape.
    """
    path = Path(path)
    to_paper = mapper or (lambda row, warn: paper_from_row(row, warn, source="jsonl"))
    for number, record in iter_json_records(path, on_issue):
        paper = _emit(record, to_paper, number, str(path), on_issue)
        if paper is not None:
            yield paper


# --- CSV -------------------------------------------------------------------------------------------------------


class _DecodedLines:
    """Feeds csv.reader decoded lines and remembers which of the current record's lines were not UTF-8."""

    def __init__(self, lines: Iterable[tuple[int, str | UnicodeDecodeError]]):
        self._lines = iter(lines)
        self.bad: list[tuple[int, UnicodeDecodeError]] = []

    def __iter__(self) -> _DecodedLines:
        return self

    def __next__(self) -> str:
        number, line = next(self._lines)
        if isinstance(line, UnicodeDecodeError):
            self.bad.append((number, line))
            # Decode leniently so csv can still find where the record ends; the record is then skipped.
            return line.object.decode("utf-8", errors="replace")
        return line


def read_csv(path: str | Path, on_issue: IssueSink = ignore_issue) -> Iterator[Paper]:
    """Papers from a CSV file (.gz too) whose header names the table columns.

    A row's issue record is the line it starts on, the header being line 1 (a spreadsheet's row number when
    no cell spans lines). A header without `title` and `abstract`/`text` fails the whole file.
    """
    path = Path(path)
    source = str(path)
    lines = _DecodedLines(iter_lines(path))
    reader = csv.reader(lines)
    header: list[str] | None = None
    previous_end = 0
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            previous_end = reader.line_num
            on_issue(ReadIssue(source, start, f"skipped: malformed CSV ({exc})"))
            lines.bad.clear()
            continue
        previous_end = reader.line_num
        bad, lines.bad = lines.bad, []
        if header is None:
            if bad:
                raise InputError(f"header: {_bad_utf8(bad[0][1])}", source=source, record=bad[0][0])
            if not row:
                continue
            header = _check_header(row, source, start)
            continue
        if bad:
            on_issue(ReadIssue(source, bad[0][0], f"skipped: {_bad_utf8(bad[0][1])}"))
            continue
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines separate nothing in CSV; not worth an issue
        if len(row) != len(header):
            message = f"skipped: malformed row: {len(row)} fields, the header has {len(header)}"
            on_issue(ReadIssue(source, start, message))
            continue
        # Keep the first of duplicated column names, as a reader of the header would expect.
        record: dict[str, str] = {}
        for name, cell in zip(header, row):
            record.setdefault(name, cell)
        paper = _emit(record, lambda r, warn: paper_from_row(r, warn, source="csv"), start, source, on_issue)
        if paper is not None:
            yield paper
    if header is None:
        raise InputError("empty CSV: expected a header with 'title' and 'abstract' or 'text'", source=source)


def _check_header(row: list[str], source: str, line: int) -> list[str]:
    header = [name.strip().lower() for name in row]
    missing = []
    if "title" not in header:
        missing.append("'title'")
    if not any(name in header for name in TEXT_COLUMNS):
        missing.append("'abstract' or 'text'")
    if missing:
        found = ", ".join(repr(name) for name in header) or "nothing"
        raise InputError(f"CSV header lacks {' and '.join(missing)} (found {found})", source=source, record=line)
    return header
