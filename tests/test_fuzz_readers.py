"""Property tests for every reader: whatever bytes arrive, the outcome is records, or an InputError or ReadIssue
naming the file (one line) — never another exception.

Examples per test: TRIAGE_FUZZ_EXAMPLES (default 200); the run's total is printed in the pytest summary.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from corpus import passages
from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS
from corpus.readers import ReadIssue, arxiv_api, bibtex, drafts, tables
from corpus.readers.drafts import read_document
from corpus.readers.files import read_papers
from corpus.readers.labels import read_labels
from corpus.records import Document, Paper
from tests.cli_helpers import run_cli
from tests.test_readers import TEXT_PDF, make_pdf

EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "200"))
# No example database: it would write .hypothesis/ into the checkout. No deadline: CI machines are shared.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
CLI_FUZZ = settings(FUZZ, max_examples=max(10, EXAMPLES // 5))
EXAMPLES_RUN: Counter[str] = Counter()  # read by tests/conftest.py for the summary line


# --- the property ----------------------------------------------------------------------------------------------


def outcome(path: Path, read: Callable[[Path, Callable[[ReadIssue], None]], object], errors: list[str] | None = None) -> object | None:
    """Run `read`; a clean result is returned, an InputError gives None (its message goes to `errors`). Anything
    else fails the test."""
    issues: list[ReadIssue] = []
    try:
        result = read(path, issues.append)
    except InputError as exc:
        message = str(exc)
        assert message.startswith(str(path)), f"the error does not name the file: {message!r}"
        assert "\n" not in message, f"the error is not one line: {message!r}"
        if errors is not None:
            errors.append(message)
        return None
    for issue in issues:
        assert isinstance(issue, ReadIssue) and issue.source == str(path), issue
        assert "\n" not in str(issue), f"the issue is not one line: {issue}"
    return result


def read_all_papers(path: Path, sink) -> list[Paper]:
    papers = list(read_papers(path, sink))
    for paper in papers:
        assert paper.title.strip(), paper  # the store refuses a paper without a title
    return papers


def read_draft(path: Path, sink) -> Document:
    document = read_document(path)
    assert document.text.strip() and document.title.strip()
    assert len(document.passages) <= DEFAULT_LIMITS.max_passages
    for passage in document.passages:
        assert document.text[passage.start : passage.end] == passage.text
    return document


def in_temp_file(name: str, data: bytes, read) -> object | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return outcome(path, read)


# --- strategies ------------------------------------------------------------------------------------------------

# Characters that readers treat specially, mixed into ordinary text.
SPECIAL = list(",;\"'\\{}[]()$%&#@.!?\n\r\t \x00\ufeff\u00a0\u201d") + ["and", "\\title{", "@article{", "[/]"]
text = st.one_of(st.text(max_size=40), st.lists(st.sampled_from(SPECIAL) | st.text(max_size=4), max_size=20).map("".join))
json_scalar = st.none() | st.booleans() | st.integers() | st.floats() | text
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12)
COLUMNS = [
    "title", "abstract", "text", "id", "arxiv_id", "doi", "authors", "categories", "published", "year", "url", "label",
    "versions", "authors_parsed", "update_date", "safety", "capabilities", "area", "areas",
]
plausible = st.sampled_from(
    ["2401.00001", "2401.00001v2", "hep-th/9901001", "10.1000/xyz", "2021", "2021-05-04", "cs.LG cs.AI", "A and B; C", "1", "0"]
)
record = st.dictionaries(st.sampled_from(COLUMNS) | text, json_value | plausible, max_size=8)
nasty_line = st.sampled_from(
    ["[" * 5000, '{"a": ' * 100 + "1" + "}" * 100, '{"title": "t", "abstract": "a", "year": ' + "9" * 5000 + "}", "\ufeff{}",
     '[{"title": "t", "abstract": "a"},', "]", "NaN", '{"title": "t", "abstract": "a"}\x00']
)
json_line = st.one_of(record.map(json.dumps), json_value.map(json.dumps), nasty_line, text).map(lambda s: s.encode("utf-8", "surrogatepass"))
any_line = json_line | st.binary(max_size=60)


@st.composite
def line_file(draw, lines) -> bytes:
    separator = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return separator.join(draw(st.lists(lines, max_size=8)))


@st.composite
def maybe_gzipped(draw, data: st.SearchStrategy[bytes], suffix: str) -> tuple[str, bytes]:
    raw = draw(data)
    how = draw(st.sampled_from(["plain", "plain", "gzip", "truncated-gzip"]))
    if how == "plain":
        return f"fuzz{suffix}", raw
    packed = gzip.compress(raw)
    if how == "truncated-gzip":
        packed = packed[: draw(st.integers(0, len(packed)))]
    return f"fuzz{suffix}.gz", packed


@st.composite
def csv_file(draw) -> bytes:
    header = draw(st.one_of(st.just(["title", "abstract"]), st.lists(st.sampled_from(COLUMNS) | text, max_size=6)))
    rows = draw(st.lists(st.lists(text | plausible, max_size=len(header) + 2), max_size=6))
    if draw(st.booleans()):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue().encode("utf-8", "surrogatepass")
    joined = "\n".join(",".join(row) for row in [header, *rows])  # unquoted: commas and quotes break rows
    return joined.encode("utf-8", "surrogatepass")


BIB_PARTS = [
    "@article{", "@book{", "@inproceedings{", "@comment{", "@string{", "@preamble{", "key,", "title = ", "author = ",
    "abstract = ", "doi = ", "eprint = ", "archivePrefix = {arXiv}", "year = ", "{", "}", '"', ",", "\n", " and ", "\\'e",
    "{\\bf x}", "$x^2$", "2401.00001", "10.1000/x", "%", "#", "=", "\\title", "\\",
]
bib_file = st.one_of(
    st.lists(st.sampled_from(BIB_PARTS) | text, max_size=30).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
)
TEX_PARTS = [
    "\\documentclass{article}", "\\title{", "\\title[", "\\begin{document}", "\\end{document}", "\\section{", "\\maketitle",
    "\\begin{itemize}", "\\item", "\\end{itemize}", "\\emph{", "\\cite{", "\\\\", "{", "}", "$", "$$", "%", "&", "_", "^",
    "\\", "\n\n", " ", "word", ".", "\\verb|", "\\newcommand{\\x}{", "\\def", "#1",
]
tex_file = st.one_of(
    st.lists(st.sampled_from(TEX_PARTS) | text, max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
)
MD_PARTS = ["# ", "## ", "#", "\n", "\n\n", " ", "\t", ".", "...", "!", "?", "word", "Title", "```", "* ", "\r\n", "\x00", "\ufeff"]
md_file = st.one_of(
    st.lists(st.sampled_from(MD_PARTS) | text, max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
)


def _encrypted(data: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt("pw", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF_BASES = [
    TEXT_PDF,
    make_pdf(b"BT /F1 12 Tf 72 720 Td (Only text.) Tj ET"),
    make_pdf(b"0 0 1 rg 72 72 200 200 re f"),
    _encrypted(TEXT_PDF),
    b"%PDF-1.4\n",
]


@st.composite
def pdf_file(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(PDF_BASES)))
    for _ in range(draw(st.integers(0, 4))):
        how = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "truncate":
            del data[at:]
        elif how == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif how == "insert":
            data[at:at] = draw(st.binary(max_size=20) | st.sampled_from([b"obj", b"endobj", b"<<", b">>", b"R", b"stream", b"9999999999"]))
        elif data:
            del data[at : at + draw(st.integers(1, 50))]
    return bytes(data)


xml_text = text.map(lambda s: escape("".join(ch for ch in s if ch in "\t\n\r" or (ch >= " " and ch not in "\ufffe\uffff"))))
dates = st.one_of(
    st.sampled_from(["2024-01-02T10:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "", "not a date"]),
    st.datetimes().map(lambda moment: moment.isoformat()),
    xml_text,
)


@st.composite
def atom_entry(draw) -> str:
    parts = []
    optional = {
        "id": lambda: f"<id>{draw(st.sampled_from(['http://arxiv.org/abs/2401.00001v1', 'http://arxiv.org/api/errors#x']) | xml_text)}</id>",
        "updated": lambda: f"<updated>{escape(draw(dates))}</updated>",
        "published": lambda: f"<published>{escape(draw(dates))}</published>",
        "title": lambda: f"<title>{draw(xml_text)}</title>",
        "summary": lambda: f"<summary>{draw(xml_text)}</summary>",
        "author": lambda: f"<author><name>{draw(xml_text)}</name></author>",
        "primary": lambda: f'<arxiv:primary_category term="{draw(xml_text)}"/>' if draw(st.booleans()) else "<arxiv:primary_category/>",
        "category": lambda: f'<category term="{draw(xml_text)}"/>',
        "doi": lambda: f"<arxiv:doi>{draw(xml_text)}</arxiv:doi>",
        "link": lambda: f'<link href="{draw(xml_text)}" rel="alternate"/>',
    }
    for name, make in optional.items():
        if draw(st.booleans()):
            parts.append(make())
    return "<entry>" + "".join(draw(st.permutations(parts))) + "</entry>"


@st.composite
def atom_feed(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    total = draw(st.sampled_from(["3", "0", "", "-1", "99999999999999999999"]) | xml_text)
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<opensearch:totalResults>{total}</opensearch:totalResults>" + "".join(draw(st.lists(atom_entry(), max_size=4))) + "</feed>"
    )
    data = body.encode()
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


# --- one test per reader -----------------------------------------------------------------------------------------


@FUZZ
@given(maybe_gzipped(line_file(any_line), ".jsonl"))
def test_jsonl_and_snapshot_reader(named):
    EXAMPLES_RUN["jsonl / snapshot"] += 1
    name, data = named
    in_temp_file(name, data, read_all_papers)


@FUZZ
@given(maybe_gzipped(line_file(any_line | st.builds(lambda text: json.dumps({"text": text}).encode(), text)), ".jsonl"))
def test_batch_case_reader(named):
    """`triage batch --input` reads JSON lines with corpus.readers.cases, which also takes label-style rows."""
    from corpus.readers.cases import read_cases

    EXAMPLES_RUN["batch cases"] += 1
    name, data = named
    in_temp_file(name, data, lambda path, sink: [p for p in read_cases(path, sink) if p.title.strip() or pytest.fail(repr(p))])


@FUZZ
@given(maybe_gzipped(csv_file() | line_file(st.binary(max_size=40)), ".csv"))
def test_csv_reader(named):
    EXAMPLES_RUN["csv"] += 1
    name, data = named
    in_temp_file(name, data, read_all_papers)


@FUZZ
@given(bib_file)
def test_bibtex_reader(data):
    EXAMPLES_RUN["bibtex"] += 1
    in_temp_file("fuzz.bib", data, read_all_papers)


@FUZZ
@given(st.sampled_from([".md", ".txt", ".markdown"]), md_file)
def test_markdown_and_text_drafts(suffix, data):
    EXAMPLES_RUN["markdown / text"] += 1
    in_temp_file(f"fuzz{suffix}", data, read_draft)


@FUZZ
@given(tex_file)
def test_tex_drafts(data):
    EXAMPLES_RUN["tex"] += 1
    in_temp_file("fuzz.tex", data, read_draft)


@FUZZ
@given(pdf_file() | st.binary(max_size=300))
def test_pdf_drafts(data):
    EXAMPLES_RUN["pdf"] += 1
    in_temp_file("fuzz.pdf", data, read_draft)


@FUZZ
@given(st.sampled_from([".csv", ".jsonl"]), csv_file() | line_file(json_line))
def test_label_reader(suffix, data):
    EXAMPLES_RUN["labels"] += 1
    in_temp_file(f"labels{suffix}", data, lambda path, sink: list(read_labels(path, sink)))


@FUZZ
@given(atom_feed())
def test_arxiv_atom_conversion(body):
    """The arXiv reader's pure half: a response body to papers, a retry, or an InputError; reports name the source."""
    EXAMPLES_RUN["arxiv atom"] += 1
    try:
        feed = arxiv_api._read_feed(body)
    except arxiv_api._Retryable:
        return  # retried, then a one-line FetchError (tests/test_reader_arxiv.py)
    except InputError as exc:
        assert str(exc).startswith("arxiv: ") and "\n" not in str(exc)
        return
    issues: list[ReadIssue] = []
    papers = arxiv_api._convert(feed.entries, 0, issues.append)
    assert len(papers) + len(issues) == len(feed.entries)  # every entry is either a paper or a report
    assert all(issue.source == "arxiv" and "\n" not in str(issue) for issue in issues)
    assert all(paper.title and paper.arxiv_id for paper in papers)


# --- through the real command line --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cli")


def assert_cli_outcome(result, path: Path) -> None:
    """Exit 0 with JSON on stdout, or one stderr line naming the file with exit 1 or 2; never a traceback."""
    assert "Traceback" not in result.err, result.err
    if result.code == 0:
        result.json()
        for line in result.err.strip().splitlines():
            assert path.name in line, f"a note that does not name the file: {line!r}"
        return
    assert result.code in (1, 2), result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and path.name in lines[0], result.err


@CLI_FUZZ
@given(st.one_of(
    maybe_gzipped(line_file(any_line), ".jsonl"), maybe_gzipped(csv_file(), ".csv"), bib_file.map(lambda data: ("fuzz.bib", data)),
))
def test_corpus_import_command(capsys, cli_home, named):
    EXAMPLES_RUN["cli: corpus import"] += 1
    name, data = named
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        result = run_cli(capsys, "--home", cli_home, "--model", "fake", "corpus", "import", path, "--no-index", "--format", "json")
        assert_cli_outcome(result, path)


@CLI_FUZZ
@given(st.one_of(
    md_file.map(lambda data: ("fuzz.md", data)), tex_file.map(lambda data: ("fuzz.tex", data)), pdf_file().map(lambda data: ("fuzz.pdf", data)),
))
def test_similar_file_command(capsys, cli_home, named):
    EXAMPLES_RUN["cli: similar --file"] += 1
    name, data = named
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        result = run_cli(capsys, "--home", cli_home, "--model", "fake", "-q", "similar", "--file", path, "-k", "2", "--format", "json")
        assert_cli_outcome(result, path)


# --- the linear-time patterns ----------------------------------------------------------------------------------------
# Five patterns were rewritten because hostile input made them quadratic or worse (minutes for a few KB). These
# properties pin the rewrites to the originals' behaviour on every input, and the timing test to linear time.

ORIGINAL_SENTENCE = re.compile(r"\S.*?(?:[.!?]+[\"')\]\u201d\u2019]*(?=\s|\Z)|(?=\n[ \t]*\n)|\Z)", re.DOTALL)
ORIGINAL_AUTHORS = re.compile(r"\s*,\s*|\s+and\s+")
ORIGINAL_SEMICOLONS = re.compile(r"\s*;\s*")
ORIGINAL_AND = re.compile(r"\s+and\s+")
ORIGINAL_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
ORIGINAL_TITLE = re.compile(r"\\title\s*(?:\[[^\]]*\]\s*)?\{")
tricky = st.lists(st.sampled_from(list("ab .!?\"')]\n\t\u201d,;#[{") + ["and", " and ", "\\title", "## "]), max_size=30).map("".join)


@FUZZ
@given(tricky)
def test_linear_time_patterns_match_the_originals(text):
    EXAMPLES_RUN["pattern equivalence"] += 1
    assert [m.span() for m in passages._SENTENCE.finditer(text)] == [m.span() for m in ORIGINAL_SENTENCE.finditer(text)]
    assert tables._AUTHOR_SEPARATORS.split(text) == ORIGINAL_AUTHORS.split(text)
    assert tables._SEMICOLONS.split(text) == ORIGINAL_SEMICOLONS.split(text)
    assert bibtex._AND.split(text) == ORIGINAL_AND.split(text)
    old, new = ORIGINAL_HEADING.search(text), drafts._MARKDOWN_HEADING.search(text)
    assert (old and (old.start(), old.group(1))) == (new and (new.start(), drafts._heading_text(new.group(1))))
    old, new = ORIGINAL_TITLE.search(text), drafts._TITLE_MACRO.search(text)
    if old is None or "[" not in text[old.start() + 7 : old.end()]:  # the one change: no "[" inside \title[...]
        assert (old and old.span()) == (new and new.span())


@pytest.mark.parametrize(
    "name, run",
    [
        ("sentences in 1M dots", lambda: list(passages._SENTENCE.finditer("a" + "." * 1_000_000 + "x"))),
        ("authors with 1M spaces", lambda: tables.split_authors("A" + " " * 1_000_000 + "B")),
        ("semicolon authors with 1M spaces", lambda: tables.split_authors("A;" + " " * 1_000_000 + "B")),
        ("BibTeX authors with 1M spaces", lambda: bibtex._AND.split("A" + " " * 1_000_000 + "B")),
        ("heading with 1M spaces", lambda: drafts._MARKDOWN_HEADING.search("# a" + " " * 1_000_000 + "x")),
        ("100k \\title[", lambda: drafts._TITLE_MACRO.search("\\title[" * 100_000)),
        ("split 1M-char sentence", lambda: passages.split_passages("word " * 200_000)),
    ],
)
def test_patterns_take_linear_time_on_hostile_input(name, run):
    began = time.monotonic()
    run()
    assert time.monotonic() - began < 5.0, f"{name} is not linear any more"  # each took minutes to hours before


def test_latex_is_converted_in_balanced_pieces_with_the_same_result():
    """Large LaTeX is cut at blank lines outside groups and environments; the text is what one pass gives."""
    import random

    pieces = [
        "\\section{Introduction}\\label{s}\nWidgets matter (\\ref{s}) and $x^2$ grows. % a {comment\nWe cite~\\cite{x}, 50\\% {\\bf bold}.\n\n",
        "\\begin{itemize}\n\\item one\n\n\\item two \\textbf{bold}\n\\end{itemize}\n\n",
        "\\begin{equation}\na = \\frac{1}{2}\n\nb\n\\end{equation}\nEscaped \\{ braces \\} here.\n\n",
        "Plain paragraph of words that goes on for a while without any markup at all here.\n\n",
    ]
    rng = random.Random(3)
    body = "".join(rng.choice(pieces) for _ in range(900))
    assert len(drafts._paragraph_chunks(body)) > 1
    assert drafts._tidy(drafts._tex_to_text(body)) == drafts._tidy(drafts._LATEX.latex_to_text(body))


def test_read_limits_validate_and_take_the_cli_overrides():
    from corpus.limits import MIB, ReadLimits

    with pytest.raises(ValueError):
        ReadLimits(max_line_bytes=0)
    raised = ReadLimits().with_options(max_file_mb=50, max_line_kb=4096, max_passages=9)
    assert (raised.max_file_bytes, raised.max_tex_bytes, raised.max_line_bytes, raised.max_passages) == (50 * MIB, 50 * MIB, 4 * MIB, 9)
    assert ReadLimits().with_options() == ReadLimits()
