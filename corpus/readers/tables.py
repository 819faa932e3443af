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
from corpus.limits import DEFAULT_LIMITS, ReadLimits, describe_bytes
from corpus.readers import IssueSink, ReadIssue, ignore_issue
from corpus.records import Paper, normalise_doi, parse_arxiv_id

# A row's text is its first non-empty one of these (column names are matched case-insensitively).
TEXT_COLUMNS = ("abstract", "text")

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
# The lookbehinds make a separator start only where a run of spaces starts: without them a long run of spaces
# costs quadratic time (every position in it retries the whole run), which a hostile file can make hours.
_AUTHOR_SEPARATORS = re.compile(r"(?:(?<!\s)\s++)?,\s*|(?<!\s)\s++and\s+")
_SEMICOLONS = re.compile(r"(?:(?<!\s)\s++)?;\s*")

# Maps one decoded record to a Paper. It raises RowError to skip the record, and calls the warn callback for a
# field it drops while keeping the record.
RecordMapper = Callable[[Mapping[str, Any], Callable[[str], None]], Paper]


class RowError(ValueError):
    """A record that cannot become a Paper; the reader reports it and moves on."""


# --- streaming -------------------------------------------------------------------------------------------------


_DRAIN_BLOCK = 1 << 20  # an over-long line is skipped this many bytes at a time, never held whole


class LineTooLong(ValueError):
    """A line over `ReadLimits.max_line_bytes`; it was skipped without being read into memory."""

    def __init__(self, limit: int):
        super().__init__(f"line longer than the {describe_bytes(limit)} limit for one record (--max-line-kb)")
        self.limit = limit

    def __reduce__(self):
        # Rebuilt from the limit, not the message, when a line travels to another process (the Ray engine).
        return LineTooLong, (self.limit,)


LineProblem = UnicodeDecodeError | LineTooLong


class _CountedReads:
    """The compressed file, read in small pieces and counted, so the guard knows how much input made the output."""

    _PIECE = 16 * 1024  # Python 3.12's gzip asks for 128 KiB at a time, which would blur the ratio 8-fold

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(self._PIECE if size < 0 else min(size, self._PIECE))
        self.consumed += len(data)
        return data

    def tell(self) -> int:
        return self.consumed

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._raw.seek(offset, whence)
        self.consumed = position
        return position


class _GzipGuard:
    """Counts what a gzip stream unpacks to, and stops a decompression bomb before it fills memory or disk time."""

    def __init__(self, handle: BinaryIO, raw: _CountedReads, limits: ReadLimits, source: str):
        self._handle, self._raw, self._limits, self._source = handle, raw, limits, source
        self._out = 0

    def readline(self, size: int) -> bytes:
        line = self._handle.readline(size)
        self._out += len(line)
        limits = self._limits
        if self._out > limits.max_decompressed_bytes:
            message = f"gzip data unpacks to more than {describe_bytes(limits.max_decompressed_bytes)}; refusing the rest"
            raise InputError(message, source=self._source)
        if self._out > limits.ratio_check_after_bytes and self._out > limits.max_compression_ratio * max(self._raw.consumed, 1):
            message = (
                f"gzip data unpacks to over {limits.max_compression_ratio} times its size (a decompression bomb?); "
                "refusing the rest"
            )
            raise InputError(message, source=self._source)
        return line


@contextmanager
def _open_binary(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[BinaryIO | _GzipGuard]:
    """Open `path` for binary line reading, gunzipping on the fly (within the limits) when it ends in .gz."""
    try:
        with open(path, "rb") as raw:
            if not path.name.lower().endswith(".gz"):
                yield raw
                return
            counted = _CountedReads(raw)
            with gzip.GzipFile(fileobj=counted, mode="rb") as handle:
                yield _GzipGuard(handle, counted, limits, str(path))  # type: ignore[arg-type]
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        # A corrupt or truncated archive cannot be resumed past the damage, so it fails the whole file.
        raise InputError(f"corrupt or truncated gzip data ({exc})", source=str(path)) from exc


def _raw_lines(handle: BinaryIO | _GzipGuard, max_line: int) -> Iterator[bytes | None]:
    """Each line's bytes, or None for a line over `max_line` bytes, which is drained a block at a time."""
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:
                rest = handle.readline(_DRAIN_BLOCK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def iter_lines(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[tuple[int, str | LineProblem]]:
    """Yield (1-based line number, decoded line or why it was unreadable), reading one line at a time.

    Lines are decoded one by one so that a stray invalid byte costs one record, not the whole file; a line over
    `limits.max_line_bytes` costs one record too, and never more memory than the limit.
    """
    with _open_binary(path, limits) as handle:
        for number, raw in enumerate(_raw_lines(handle, limits.max_line_bytes), start=1):
            if raw is None:
                yield number, LineTooLong(limits.max_line_bytes)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, exc
                continue
            # Drop the byte-order mark that spreadsheet exports put first (after decoding, so offsets stay exact).
            yield number, line.removeprefix("\ufeff") if number == 1 else line


def _unreadable(exc: LineProblem) -> str:
    """Why a line could not be read, for its issue."""
    if isinstance(exc, LineTooLong):
        return str(exc)
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
        return split_list(value, _SEMICOLONS)
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


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON `value` nests containers more than `limit` deep, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def iter_json_records(
    path: Path, on_issue: IssueSink, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each JSON object line; report undecodable, over-long, too deep and non-object lines."""
    return json_records(iter_lines(path, limits), str(path), on_issue, limits.max_json_depth)


def json_records(
    lines: Iterable[tuple[int, str | LineProblem]], source: str, on_issue: IssueSink, depth: int = DEFAULT_LIMITS.max_json_depth
) -> Iterator[tuple[int, dict[str, Any]]]:
    """`iter_json_records` over lines already read (numbered as in `source`), e.g. one partition of a file."""
    for number, line in lines:
        if not isinstance(line, str):
            on_issue(ReadIssue(source, number, f"skipped: {_unreadable(line)}"))
            continue
        if line.strip() in ("", "[", "]"):
            continue  # blank lines, and the bracket lines of a JSON array written one element per line
        try:
            record = _loads_line(line)
        except json.JSONDecodeError as exc:
            on_issue(ReadIssue(source, number, f"skipped: malformed JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            # Python's parser recurses per level; a line of 100,000 brackets would otherwise crash the import.
            on_issue(ReadIssue(source, number, f"skipped: JSON nested deeper than {depth} levels"))
            continue
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            on_issue(ReadIssue(source, number, f"skipped: malformed JSON ({exc})"))
            continue
        # Counting brackets first keeps the walk off the common, shallow records.
        if line.count("[") + line.count("{") > depth and _deeper_than(record, depth):
            on_issue(ReadIssue(source, number, f"skipped: JSON nested deeper than {depth} levels"))
            continue
        if not isinstance(record, dict):
            on_issue(ReadIssue(source, number, f"skipped: expected a JSON object, found {type(record).__name__}"))
            continue
        yield number, {str(key).strip().lower(): value for key, value in record.items()}


def read_jsonl(
    path: str | Path,
    on_issue: IssueSink = ignore_issue,
    *,
    mapper: RecordMapper | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Iterator[Paper]:
    """Papers from a JSON-lines file (.gz too), one object per line with the table columns as keys.

    `mapper` replaces the column mapping; the snapshot reader passes one that knows the arXiv dump's shape.
    """
    path = Path(path)
    to_paper = mapper or (lambda row, warn: paper_from_row(row, warn, source="jsonl"))
    return map_records(iter_json_records(path, on_issue, limits), to_paper, str(path), on_issue)


def map_records(records: Iterable[tuple[int, Mapping[str, Any]]], mapper: RecordMapper, source: str, on_issue: IssueSink) -> Iterator[Paper]:
    """Papers from numbered records; a record the mapper rejects becomes an issue at its number."""
    for number, record in records:
        paper = _emit(record, mapper, number, source, on_issue)
        if paper is not None:
            yield paper


# --- CSV -------------------------------------------------------------------------------------------------------


class _DecodedLines:
    """Feeds csv.reader decoded lines and remembers which of the current record's lines were unreadable.

    It also follows the quoting of the current record (the parity of its `"` characters: a doubled quote inside
    a quoted field changes nothing), so that after a record csv refuses part-way (a field over its 128 KiB limit)
    the reader can skip the rest of that record instead of reading the inside of a quoted field as rows.
    """

    def __init__(self, lines: Iterable[tuple[int, str | LineProblem]]):
        self._lines = iter(lines)
        self.bad: list[tuple[int, LineProblem]] = []
        self.number = 0  # the line last handed out
        self.in_quotes = False  # whether that line ended inside a quoted field

    def __iter__(self) -> _DecodedLines:
        return self

    def __next__(self) -> str:
        number, line = next(self._lines)
        self.number = number
        if isinstance(line, LineTooLong):
            self.bad.append((number, line))
            return "\n"  # stands in for the skipped line, so line numbers stay right; the record is then skipped
        if isinstance(line, UnicodeDecodeError):
            self.bad.append((number, line))
            # Decode leniently so csv can still find where the record ends; the record is then skipped.
            line = line.object.decode("utf-8", errors="replace")
        if line.count('"') % 2:
            self.in_quotes = not self.in_quotes
        return line

    def record_done(self) -> None:
        self.in_quotes = False
        self.bad.clear()

    def skip_rest_of_record(self) -> None:
        """Read past the end of a quoted field csv gave up inside, one line at a time (never held whole)."""
        while self.in_quotes:
            try:
                next(self)
            except StopIteration:
                break
        self.record_done()


def read_csv(path: str | Path, on_issue: IssueSink = ignore_issue, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Paper]:
    """Papers from a CSV file (.gz too) whose header names the table columns.

    A row's issue record is the line it starts on, the header being line 1 (a spreadsheet's row number when
    no cell spans lines). A header without `title` and `abstract`/`text` fails the whole file.
    """
    path = Path(path)
    source = str(path)
    lines = _DecodedLines(iter_lines(path, limits))
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
            lines.skip_rest_of_record()
            previous_end = lines.number
            span = f"; the record spans lines {start}-{previous_end}" if previous_end > start else ""
            on_issue(ReadIssue(source, start, f"skipped: malformed CSV ({exc}){span}"))
            continue
        previous_end = lines.number
        bad = list(lines.bad)
        lines.record_done()
        if header is None:
            if bad:
                raise InputError(f"header: {_unreadable(bad[0][1])}", source=source, record=bad[0][0])
            if not row:
                continue
            header = _check_header(row, source, start)
            continue
        if bad:
            on_issue(ReadIssue(source, bad[0][0], f"skipped: {_unreadable(bad[0][1])}"))
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
