"""Generators for the nasty-file corpus: each writes one hostile or broken file; nothing binary is committed.

`build(folder)` writes them all (a few seconds, about 2 MB on disk: the 200 MB files are sparse) and returns
{name: path}. `KIND` says which reader each file goes to: "papers" (corpus import) or "draft" (score).
"""

from __future__ import annotations

import gzip
import io
import json
import random
from functools import partial
from pathlib import Path
from typing import Callable

from pypdf import PdfReader, PdfWriter

from tests.test_readers import TEXT_PDF, make_pdf

BIG_BYTES = 200 * 1024 * 1024
SECRET = "Confidential draft marker zq7x"  # nasty drafts carry it, so tests can look for it where it must not be

Generator = Callable[[Path], None]
GENERATORS: dict[str, Generator] = {}
KIND: dict[str, str] = {}


def nasty(name: str, kind: str) -> Callable[[Generator], Generator]:
    def register(write: Generator) -> Generator:
        GENERATORS[name] = write
        KIND[name] = kind
        return write

    return register


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _random_bytes(seed: int, size: int = 8192) -> bytes:
    return random.Random(seed).randbytes(size)


def _sparse(path: Path, size: int, head: bytes = b"") -> None:
    """A file of `size` bytes that takes no disk space: `head`, then zeros (NULs) the file system never stores."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)


# --- random bytes, for every reader ------------------------------------------------------------------------------

for _seed, (_suffix, _kind) in enumerate(
    [(".csv", "papers"), (".jsonl", "papers"), (".json", "papers"), (".bib", "papers"), (".jsonl.gz", "papers"),
     (".csv.gz", "papers"), (".md", "draft"), (".txt", "draft"), (".tex", "draft"), (".pdf", "draft")]
):
    nasty(f"random{_suffix}", _kind)(partial(_write, data=_random_bytes(_seed)))


@nasty("random-after-pdf-header.pdf", "draft")
def _pdf_header_then_noise(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n" + _random_bytes(99) + b"\n%%EOF\n")


# --- PDFs ----------------------------------------------------------------------------------------------------------


@nasty("truncated.pdf", "draft")
def _truncated_pdf(path: Path) -> None:
    path.write_bytes(TEXT_PDF[: len(TEXT_PDF) // 2])


@nasty("truncated-tail.pdf", "draft")
def _truncated_tail_pdf(path: Path) -> None:
    path.write_bytes(TEXT_PDF[:-40])  # the xref table and trailer are gone; pypdf has to rebuild them


@nasty("encrypted.pdf", "draft")
def _encrypted_pdf(path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(TEXT_PDF)))
    writer.encrypt("a user password", algorithm="RC4-128")  # RC4 needs no optional crypto package
    with path.open("wb") as handle:
        writer.write(handle)


@nasty("no-text-layer.pdf", "draft")
def _scan_pdf(path: Path) -> None:
    path.write_bytes(make_pdf(b"0 0 1 rg 72 72 200 200 re f"))  # one filled rectangle, as a scan would be


@nasty("blank-pages.pdf", "draft")
def _blank_pdf(path: Path) -> None:
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=612, height=792)
    with path.open("wb") as handle:
        writer.write(handle)


@nasty("cyclic-pages.pdf", "draft")
def _cyclic_pdf(path: Path) -> None:
    # A page tree whose /Kids point back at itself: naive walkers recurse until the stack runs out.
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


@nasty("pdf-flate-bomb.pdf", "draft")
def _pdf_flate_bomb(path: Path) -> None:
    # A content stream that inflates ~1000:1 to 100 MB, past pypdf's 75 MB per-stream limit.
    import zlib

    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    body = b"".join(compressor.compress(chunk) for _ in range(100)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


# --- invalid UTF-8 -------------------------------------------------------------------------------------------------

_LATIN1 = "Caf\xe9 na\xefve r\xe9sum\xe9".encode("latin-1")

for _suffix, _kind, _body in [
    (".md", "draft", b"# A draft\n\n" + _LATIN1 + b"\n"),
    (".tex", "draft", b"\\title{" + _LATIN1 + b"}\n"),
    (".csv", "papers", b"title,abstract\nGood,Fine\n" + _LATIN1 + b",x\n"),
    (".jsonl", "papers", b'{"title": "Good", "abstract": "Fine"}\n{"title": "' + _LATIN1 + b'", "abstract": "x"}\n'),
    (".bib", "papers", b"@article{a, title={" + _LATIN1 + b"}}\n"),
]:
    nasty(f"invalid-utf8{_suffix}", _kind)(partial(_write, data=_body))


# --- 200 MB files (sparse: written in microseconds, no disk used) ---------------------------------------------------


@nasty("huge.txt", "draft")
def _huge_text(path: Path) -> None:
    _sparse(path, BIG_BYTES, f"{SECRET}\n".encode())


@nasty("huge.csv", "papers")
def _huge_csv(path: Path) -> None:
    _sparse(path, BIG_BYTES, b"title,abstract\nA fine paper,With an abstract\n")


@nasty("huge.jsonl", "papers")
def _huge_jsonl(path: Path) -> None:
    _sparse(path, BIG_BYTES, b'{"title": "A fine paper", "abstract": "With an abstract"}\n')


@nasty("huge.bib", "papers")
def _huge_bib(path: Path) -> None:
    _sparse(path, BIG_BYTES, b"@article{a, title={A fine paper}}\n")


# --- JSON: deep, huge, odd -----------------------------------------------------------------------------------------


@nasty("deep-nesting.jsonl", "papers")
def _deep_jsonl(path: Path) -> None:
    deep_object = '{"a": ' * 70 + "1" + "}" * 70
    lines = [
        json.dumps({"title": "Good", "abstract": "Fine"}),
        "[" * 200_000 + "]" * 200_000,  # past the interpreter's recursion limit
        "[" * 200_000,  # unbalanced, and deep
        '{"title": "Deep", "abstract": "x", "extra": ' + deep_object + "}",  # parses; deeper than the limit
        json.dumps({"title": "Also good", "abstract": "Fine too"}),
    ]
    path.write_text("\n".join(lines) + "\n")


@nasty("huge-values.jsonl", "papers")
def _huge_values_jsonl(path: Path) -> None:
    lines = [
        json.dumps({"title": "Long line", "abstract": "x" * (3 * 1024 * 1024)}),  # over the 1 MiB line limit
        '{"title": "Big number", "abstract": "x", "year": ' + "9" * 100_000 + "}",  # over int parsing's digit limit
        json.dumps({"title": "Spaces", "abstract": "x", "authors": "A" + " " * 500_000 + "B"}),  # once quadratic
        json.dumps({"title": "NaN", "abstract": "x", "year": float("nan")}),
        json.dumps({"title": "Fine", "abstract": "Fine"}),
    ]
    path.write_text("\n".join(lines) + "\n")


# --- CSV -------------------------------------------------------------------------------------------------------------


@nasty("embedded-nul.csv", "papers")
def _nul_csv(path: Path) -> None:
    path.write_bytes(
        b"title,abstract\nGood,Fine\nNUL\x00in title,x\n\"Quoted\x00NUL\",\"in\x00abstract\"\n\x00\x00\x00\nLast,Row\n"
    )


@nasty("nul-header.csv", "papers")
def _nul_header_csv(path: Path) -> None:
    path.write_bytes(b"ti\x00tle,abs\x00tract\nA,B\n")


@nasty("unterminated-quote.csv", "papers")
def _open_quote_csv(path: Path) -> None:
    path.write_text('title,abstract\nGood,Fine\n"Never closed,' + "x" * 300_000 + "\nMore,Rows\n")


# --- BibTeX ----------------------------------------------------------------------------------------------------------


@nasty("unbalanced-braces.bib", "papers")
def _unbalanced_bib(path: Path) -> None:
    path.write_text(
        "@article{good, title={A Good Entry}, author={Ada Example}}\n"
        "@article{open, title={Never {closed, author={B}\n"
        "@book{extra, title={Too many}}}}}}\n"
        "@inproceedings{nested, title={" + "{" * 5000 + "deep" + "}" * 5000 + "}}\n"
        "@misc{last, title={The Last One}}\n"
    )


@nasty("only-opening-braces.bib", "papers")
def _open_braces_bib(path: Path) -> None:
    path.write_text("@article{x, title=" + "{" * 50_000 + "\n")


# --- drafts that once took minutes: long runs of one character ------------------------------------------------------


@nasty("dot-run.md", "draft")
def _dots_md(path: Path) -> None:
    path.write_text(f"# {SECRET}\n\nA table of contents" + "." * 200_000 + "x\n")


@nasty("spaced-heading.md", "draft")
def _spaced_heading_md(path: Path) -> None:
    path.write_text("# Title" + " " * 100_000 + "x\n\nBody text.\n")


@nasty("title-brackets.tex", "draft")
def _title_brackets_tex(path: Path) -> None:
    path.write_text("\\title[" * 20_000)  # quadratic once: ~20 s; now linear


@nasty("nested-groups.tex", "draft")
def _nested_tex(path: Path) -> None:
    path.write_text("\\begin{document}" + "{" * 5000 + SECRET + "}" * 5000 + "\\end{document}")


@nasty("unclosed.tex", "draft")
def _unclosed_tex(path: Path) -> None:
    path.write_text("\\title{Open\n\\begin{document}\n\\section{A\n$x^{2\n\\begin{itemize}\\item one\n" + SECRET + "\n")


@nasty("too-many-passages.txt", "draft")
def _many_passages(path: Path) -> None:
    path.write_text(f"{SECRET}. " * 2 + "Short sentence here. " * 220_000)


# --- gzip bombs ------------------------------------------------------------------------------------------------------


def _bomb(content: bytes, total: int) -> bytes:
    """Gzip members repeated: each member unpacks to `content`, and gzip readers chain members."""
    member = gzip.compress(content, compresslevel=9)
    return member * (total // len(content))


@nasty("zeros-bomb.jsonl.gz", "papers")
def _zeros_bomb(path: Path) -> None:
    path.write_bytes(_bomb(b"\0" * (16 << 20), 2 << 30))  # 2 GiB of zeros from ~4 MB


@nasty("lines-bomb.jsonl.gz", "papers")
def _lines_bomb(path: Path) -> None:
    line = json.dumps({"title": "Same paper", "abstract": "Again and again"}).encode() + b"\n"
    path.write_bytes(_bomb(line * ((16 << 20) // len(line)), 2 << 30))  # valid rows, 2 GiB of them


@nasty("csv-bomb.csv.gz", "papers")
def _csv_bomb(path: Path) -> None:
    row = b"A title of a paper,An abstract of a paper\n"
    path.write_bytes(_bomb(b"title,abstract\n" + row * ((16 << 20) // len(row)), 2 << 30))


@nasty("truncated.jsonl.gz", "papers")
def _truncated_gz(path: Path) -> None:
    data = gzip.compress(b'{"title": "A", "abstract": "B"}\n' * 1000)
    path.write_bytes(data[: len(data) // 2])


def build(folder: Path) -> dict[str, Path]:
    """Write every nasty file into `folder`; returns {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, write in GENERATORS.items():
        path = folder / name
        write(path)
        paths[name] = path
    return paths
