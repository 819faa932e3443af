"""Tests for the passage splitter and the file readers, on small files each test writes itself."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from corpus.errors import InputError
from corpus.limits import ReadLimits
from corpus.passages import estimate_tokens, split_passages
from corpus.readers import ReadIssue
from corpus.readers.bibtex import read_bibtex
from corpus.readers.drafts import read_document
from corpus.readers.files import is_draft, read_papers
from corpus.readers.snapshot import read_snapshot
from corpus.readers.tables import read_csv, read_jsonl

# --- helpers ---------------------------------------------------------------------------------------------------

WORDS = (
    "the widget model learns a robust representation of noisy graphs and we measure how calibration "
    "changes under shift while ablations isolate each component of the training recipe"
).split()


def sentence(i: int, length: int = 12) -> str:
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(length)]
    return " ".join(words).capitalize() + "."


def essay(paragraphs: int = 8, sentences: int = 6) -> str:
    return "\n\n".join(
        " ".join(sentence(p * sentences + s, 8 + (p + s) % 10) for s in range(sentences)) for p in range(paragraphs)
    )


class Issues(list[ReadIssue]):
    """An IssueSink that keeps what it is given."""

    def __call__(self, issue: ReadIssue) -> None:
        self.append(issue)

    def records(self) -> list[str | int]:
        return [issue.record for issue in self]


def make_pdf(content: bytes, title: str | None = None) -> bytes:
    """A one-page PDF written by hand, with `content` as its page content stream and Helvetica as F1."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title:
        objects.append(b"<< /Title (" + title.encode("ascii") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = b" /Info 6 0 R" if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


TEXT_PDF = make_pdf(
    b"BT /F1 12 Tf 72 720 Td (Sparse widgets are robust to noise. We test them on graphs.) Tj"
    b" 0 -16 Td (A second line of findings.) Tj ET",
    title="Robust Sparse Widgets",
)


# --- passages --------------------------------------------------------------------------------------------------


def test_short_text_is_one_passage() -> None:
    text = "  A short draft. Only two sentences.\n"
    [passage] = split_passages(text)
    assert passage.text == "A short draft. Only two sentences."
    assert text[passage.start : passage.end] == passage.text


def test_blank_text_has_no_passages() -> None:
    assert split_passages("") == []
    assert split_passages(" \n\t ") == []


def test_passages_have_exact_offsets_overlap_and_target_size() -> None:
    text = essay(paragraphs=20)
    passages = split_passages(text)
    assert len(passages) > 5
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert estimate_tokens(passage.text) <= 200
        # Cuts fall on sentence boundaries: a passage starts a sentence and ends one.
        assert passage.text[0].isupper() and passage.text.endswith(".")
    for before, after in zip(passages, passages[1:]):
        assert after.start < before.end, "consecutive passages share text"
        assert after.start > before.start
        assert 5 <= estimate_tokens(text[after.start : before.end]) <= 100
    for passage in passages[:-1]:
        assert estimate_tokens(passage.text) >= 150
    assert passages[0].start == 0 and passages[-1].end == len(text)


def test_single_enormous_sentence_is_hard_cut_with_overlap() -> None:
    text = " ".join(WORDS[i % len(WORDS)] for i in range(3000))  # no sentence end anywhere
    passages = split_passages(text, target_tokens=200, overlap_tokens=40)
    assert len(passages) > 10
    assert passages[0].start == 0 and passages[-1].end == len(text)
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert estimate_tokens(passage.text) <= 200
    for before, after in zip(passages, passages[1:]):
        assert estimate_tokens(text[after.start : before.end]) == 40


def test_one_huge_word_is_cut_too() -> None:
    text = "x" * 5000
    passages = split_passages(text)
    assert len(passages) > 1
    assert all(text[p.start : p.end] == p.text for p in passages)
    assert passages[-1].end == len(text)


def test_split_passages_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        split_passages("text", target_tokens=0)
    with pytest.raises(ValueError):
        split_passages("text", target_tokens=50, overlap_tokens=50)


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_happy_path(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_text(
        "id,Title,abstract,arxiv_id,doi,label,authors,categories,year,url\n"
        'p1,Robust Widgets,"We study widgets.\nThey are robust.",2101.00001v3,https://doi.org/10.1234/ABC.5,'
        'unsafe,"Ada Lovelace, Alan Turing",cs.LG cs.AI,2021,\n'
        "p2,Second Paper,Another abstract.,,,,,,,https://arxiv.org/abs/hep-th/9901001v2\n",
        encoding="utf-8",
    )
    issues = Issues()
    first, second = read_csv(path, issues)
    assert issues == []
    assert first.title == "Robust Widgets"
    assert first.abstract == "We study widgets. They are robust."
    assert first.source == "csv"
    assert first.arxiv_id == "2101.00001"
    assert first.doi == "10.1234/abc.5"
    assert first.label == "unsafe"
    assert first.authors == ["Ada Lovelace", "Alan Turing"]
    assert first.categories == ["cs.LG", "cs.AI"]
    assert first.published == "2021" and first.year == 2021
    assert first.external_id == "p1"
    assert second.arxiv_id == "hep-th/9901001"  # taken from the arXiv URL


def test_csv_text_column_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_bytes("\ufefftitle,text\nA Title,Some body text.\n".encode())
    [paper] = read_csv(path)
    assert (paper.title, paper.abstract) == ("A Title", "Some body text.")


def test_csv_bad_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    lines = [
        b"title,abstract,arxiv_id",  # line 1
        b"Good One,First abstract.,",  # 2
        b",No title here.,",  # 3
        b"Blank Text,   ,",  # 4
        b"Too,Many,Fields,Here",  # 5
        b"Bad Bytes,caf\xe9 au lait,",  # 6: Latin-1, not UTF-8
        b"Bad Id,Kept anyway.,not-an-id",  # 7
        b"",  # 8: blank lines are not rows
        b"Good Two,Last abstract.,",  # 9
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    issues = Issues()
    papers = list(read_csv(path, issues))
    assert [p.title for p in papers] == ["Good One", "Bad Id", "Good Two"]
    assert papers[1].arxiv_id is None
    assert issues.records() == [3, 4, 5, 6, 7]
    assert all(issue.source == str(path) for issue in issues)
    assert "no title" in issues[0].message
    assert "empty abstract" in issues[1].message
    assert "4 fields" in issues[2].message
    assert "UTF-8" in issues[3].message
    assert "invalid arXiv id" in issues[4].message and "kept" in issues[4].message


def test_csv_header_without_required_columns_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_text("name,summary\nA,B\n")
    with pytest.raises(InputError, match="title") as excinfo:
        list(read_csv(path))
    assert str(path) in str(excinfo.value)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty CSV"):
        list(read_csv(empty))


# --- JSON lines and the arXiv snapshot -------------------------------------------------------------------------


def test_jsonl_happy_path(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    rows = [
        {"title": "Widgets", "abstract": "About widgets.", "authors": ["A. One", "B. Two"], "year": 2020,
         "label": True},
        {"Title": "Gadgets", "text": "About gadgets.", "categories": ["cs.CL"],
         "published": "2022-03-04T10:00:00Z"},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    widgets, gadgets = read_jsonl(path)
    assert widgets.source == "jsonl" and widgets.authors == ["A. One", "B. Two"]
    assert widgets.published == "2020" and widgets.label == "true"
    assert gadgets.abstract == "About gadgets." and gadgets.categories == ["cs.CL"]
    assert gadgets.published == "2022-03-04"


def test_jsonl_bad_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    lines = [
        json.dumps({"title": "Good", "abstract": "Fine."}).encode(),  # 1
        b'{"title": "Broken", "abstract": ',  # 2
        b"",  # 3: blank, ignored
        json.dumps({"title": "No Text", "abstract": " \n "}).encode(),  # 4
        json.dumps({"abstract": "No title."}).encode(),  # 5
        b'{"title": "Latin", "abstract": "caf\xe9"}',  # 6
        b"[1, 2]",  # 7
        json.dumps({"title": "Bad id", "abstract": "Kept.", "arxiv_id": "12345"}).encode(),  # 8
        json.dumps({"title": "Good Too", "abstract": "Also fine."}).encode(),  # 9
    ]
    path.write_bytes(b"\n".join(lines))
    issues = Issues()
    papers = list(read_jsonl(path, issues))
    assert [p.title for p in papers] == ["Good", "Bad id", "Good Too"]
    assert papers[1].arxiv_id is None
    assert issues.records() == [2, 4, 5, 6, 7, 8]
    assert "malformed JSON" in issues[0].message
    assert "UTF-8" in issues[3].message
    assert "JSON object" in issues[4].message


def snapshot_record(number: int, **changes: object) -> dict[str, object]:
    """An invented record in the shape of arXiv's bulk metadata snapshot."""
    record: dict[str, object] = {
        "id": f"2301.{number:05d}",
        "submitter": "Ada Lovelace",
        "authors": "Ada Lovelace, Charles Babbage and others",
        "title": f"  Analytical Engines\n  Part {number}",
        "comments": "12 pages",
        "journal-ref": None,
        "doi": "10.5555/Engine.1 10.5555/engine.2",
        "report-no": None,
        "categories": "cs.LG stat.ML",
        "license": None,
        "abstract": "  We describe an engine\nthat computes.\n",
        "versions": [
            {"version": "v1", "created": "Mon, 2 Jan 2023 10:00:00 GMT"},
            {"version": "v2", "created": "Tue, 7 Feb 2023 09:30:00 GMT"},
        ],
        "update_date": "2023-02-07",
        "authors_parsed": [["Lovelace", "Ada", ""], ["Babbage", "Charles", "Jr"]],
    }
    record.update(changes)
    return record


def test_snapshot_gz_is_mapped(tmp_path: Path) -> None:
    path = tmp_path / "arxiv-metadata.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for number in (1, 2):
            handle.write(json.dumps(snapshot_record(number)) + "\n")
        handle.write(json.dumps(snapshot_record(3, id="bogus/1")) + "\n")
    issues = Issues()
    first, second, third = read_snapshot(path, issues)
    assert first.source == "snapshot"
    assert first.arxiv_id == "2301.00001"
    assert first.title == "Analytical Engines Part 1"
    assert first.abstract == "We describe an engine that computes."
    assert first.authors == ["Ada Lovelace", "Charles Babbage Jr"]
    assert first.categories == ["cs.LG", "stat.ML"]
    assert first.doi == "10.5555/engine.1"
    assert first.published == "2023-01-02" and first.updated == "2023-02-07"
    assert first.url == "https://arxiv.org/abs/2301.00001"
    assert second.arxiv_id == "2301.00002"
    assert third.arxiv_id is None and third.url is None
    assert issues.records() == [3] and "invalid arXiv id" in issues[0].message


def test_jsonl_detects_snapshot_records_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps(snapshot_record(7, id="2301.00007v4"))
        + "\n"
        + json.dumps({"id": "row-1", "title": "Plain", "abstract": "A plain row."})
        + "\n"
    )
    snap, plain = read_papers(path)
    assert (snap.source, snap.arxiv_id) == ("snapshot", "2301.00007")
    assert (plain.source, plain.external_id, plain.arxiv_id) == ("jsonl", "row-1", None)


def test_json_array_written_one_element_per_line(tmp_path: Path) -> None:
    path = tmp_path / "sample.json"
    records = [snapshot_record(1), snapshot_record(2)]
    path.write_text("[" + json.dumps(records[0]) + ",\n" + json.dumps(records[1]) + "]\n")
    assert [p.arxiv_id for p in read_papers(path)] == ["2301.00001", "2301.00002"]


def test_corrupt_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(b"this is not gzip data")
    with pytest.raises(InputError, match="gzip") as excinfo:
        list(read_papers(path))
    assert str(path) in str(excinfo.value)


# --- BibTeX ----------------------------------------------------------------------------------------------------

BIB = r"""@article{lovelace2021,
  title = {On {Robust} Widgets with $\alpha$-Sparsity and Sch{\"o}n Graphs},
  author = {Lovelace, Ada and Charles Babbage},
  abstract = {We study {widgets}.},
  journal = {Journal of Widgets},
  year = 2021,
  doi = {10.1234/JW.2021.7},
  eprint = {2105.01234v2},
  archivePrefix = {arXiv},
}

@inproceedings{broken,
  title = {An {unbalanced brace,
  year = {2020}
}

@misc{notitle,
  author = {Nobody},
}

@misc{badeprint,
  title = "Bad Eprint",
  eprint = {nonsense},
  archiveprefix = {arXiv},
  url = {https://example.org/paper},
}
"""


def test_bibtex_entries_and_failed_blocks(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(BIB, encoding="utf-8")
    issues = Issues()
    papers = list(read_bibtex(path, issues))
    assert [p.external_id for p in papers] == ["lovelace2021", "badeprint"]
    widget = papers[0]
    assert widget.title == "On Robust Widgets with α-Sparsity and Schön Graphs"
    assert widget.source == "bibtex"
    assert widget.abstract == "We study widgets."
    assert widget.authors == ["Ada Lovelace", "Charles Babbage"]
    assert widget.arxiv_id == "2105.01234"
    assert widget.doi == "10.1234/jw.2021.7"
    assert widget.published == "2021"
    assert papers[1].arxiv_id is None and papers[1].url == "https://example.org/paper"
    # The unbalanced entry starts on line 12, the title-less one on 17, the bad eprint on 21.
    assert issues.records() == [12, 17, 21]
    assert "malformed BibTeX" in issues[0].message
    assert "no title" in issues[1].message
    assert "invalid arXiv eprint" in issues[2].message


def test_bibtex_invalid_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.bib"
    path.write_bytes(b"@misc{a,\n  title = {Caf\xe9},\n}\n")
    with pytest.raises(InputError, match="byte 23") as excinfo:
        list(read_papers(path))
    assert str(excinfo.value).startswith(f"{path}:2:")


# --- drafts ----------------------------------------------------------------------------------------------------


def test_markdown_draft(tmp_path: Path) -> None:
    path = tmp_path / "draft.md"
    path.write_text("Some preface.\n\n## Robust Widgets ##\n\n" + essay(paragraphs=10), encoding="utf-8")
    document = read_document(path)
    assert document.title == "Robust Widgets"
    assert document.path == str(path)
    assert len(document.passages) > 1
    assert all(document.text[p.start : p.end] == p.text for p in document.passages)


def test_text_draft_title_is_first_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("\n\n  Sparse Widgets, a Note  \r\nBody text. More body.\r\n", encoding="utf-8")
    document = read_document(path)
    assert document.title == "Sparse Widgets, a Note"
    assert "\r" not in document.text
    assert [p.text for p in document.passages] == [document.text]


def test_tex_draft_strips_markup_and_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "paper.tex"
    path.write_text(
        r"""\documentclass{article}
\usepackage[utf8]{inputenc}
\newcommand{\secret}{PREAMBLE-ONLY}
\title{Widgets {Under} Shift\\ a Study}
\begin{document}
\maketitle
\begin{abstract}
We study \emph{widgets}~\cite{lovelace}. % a comment
\end{abstract}
\section{Introduction}\label{sec:intro}
Widgets matter (Section~\ref{sec:intro}) and $x^2$ grows.
\subsection*{Related Work}
Prior \textbf{work} exists.
\end{document}
""",
        encoding="utf-8",
    )
    document = read_document(path)
    assert document.title == "Widgets Under Shift a Study"
    assert "Introduction" in document.text and "Related Work" in document.text
    assert "We study widgets" in document.text
    for leftover in ("\\", "{", "§", "PREAMBLE-ONLY", "a comment", "sec:intro", "lovelace"):
        assert leftover not in document.text


def test_pdf_draft(tmp_path: Path) -> None:
    path = tmp_path / "draft.pdf"
    path.write_bytes(TEXT_PDF)
    document = read_document(path)
    assert document.title == "Robust Sparse Widgets"
    assert "Sparse widgets are robust to noise." in document.text
    assert "A second line of findings." in document.text
    assert document.passages and document.passages[0].start == 0

    untitled = tmp_path / "untitled-draft.pdf"
    untitled.write_bytes(make_pdf(b"BT /F1 12 Tf 72 720 Td (Only text.) Tj ET"))
    assert read_document(untitled).title == "untitled-draft"


def test_encrypted_pdf_is_an_input_error(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(TEXT_PDF)))
    writer.encrypt("secret", algorithm="RC4-128")  # RC4 needs no optional crypto package
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(InputError, match="encrypted") as excinfo:
        read_document(path)
    assert str(path) in str(excinfo.value)


def test_pdf_without_text_layer_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf(b"0 0 1 rg 72 72 200 200 re f"))  # a filled rectangle, no text
    with pytest.raises(InputError, match="no text layer"):
        read_document(path)


def test_damaged_pdf_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    with pytest.raises(InputError, match="not a readable PDF"):
        read_document(path)


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", "\ufeff \n".encode()])
def test_empty_draft_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(content)
    with pytest.raises(InputError, match="no text"):
        read_document(path)


def test_draft_with_invalid_utf8_names_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(b"Title\nA caf\xe9 draft.\n")
    with pytest.raises(InputError, match="byte 11") as excinfo:
        read_document(path)
    assert str(excinfo.value).startswith(f"{path}:2:")


def test_draft_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Words. " * 400)
    with pytest.raises(InputError, match="limit"):
        read_document(path, limits=ReadLimits(max_file_bytes=1000))
    assert read_document(path).title.startswith("Words.")


def test_draft_of_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "draft.docx"
    path.write_bytes(b"PK")
    with pytest.raises(InputError, match="unsupported"):
        read_document(path)


# --- dispatch --------------------------------------------------------------------------------------------------


def test_read_papers_dispatches_by_extension(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("title,abstract\nT,A.\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "T", "abstract": "A."}) + "\n")
    with gzip.open(tmp_path / "c.json.gz", "wt") as handle:
        handle.write(json.dumps(snapshot_record(1)) + "\n")
    (tmp_path / "d.bib").write_text("@misc{k, title={T}}\n")
    names = ("a.csv", "b.jsonl", "c.json.gz", "d.bib")
    sources = {name: [p.source for p in read_papers(tmp_path / name)] for name in names}
    assert sources == {"a.csv": ["csv"], "b.jsonl": ["jsonl"], "c.json.gz": ["snapshot"], "d.bib": ["bibtex"]}


def test_read_papers_bad_paths_fail_at_once(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="no such file") as excinfo:
        read_papers(missing)  # no iteration needed
    assert str(missing) in str(excinfo.value)
    assert excinfo.value.source == str(missing)

    with pytest.raises(InputError, match="directory"):
        read_papers(tmp_path)

    unknown = tmp_path / "papers.xlsx"
    unknown.write_bytes(b"")
    with pytest.raises(InputError, match="supported") as excinfo:
        read_papers(unknown)
    for suffix in (".csv", ".jsonl", ".json", ".jsonl.gz", ".json.gz", ".bib"):
        assert suffix in str(excinfo.value)

    draft = tmp_path / "draft.md"
    draft.write_text("# A draft\n")
    with pytest.raises(InputError, match="draft document"):
        read_papers(draft)


def test_is_draft() -> None:
    assert is_draft("paper.PDF") and is_draft("notes.md") and is_draft("main.tex") and is_draft("a.txt")
    assert not is_draft("papers.csv") and not is_draft("refs.bib") and not is_draft("dump.jsonl.gz")


def test_missing_draft(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_document(tmp_path / "absent.md")
