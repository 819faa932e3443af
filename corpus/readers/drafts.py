"""Read a local draft (.md, .txt, .tex, .pdf) into a Document with its title, plain text and passages."""

from __future__ import annotations

import re
from pathlib import Path

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

from corpus.errors import InputError
from corpus.passages import split_passages
from corpus.readers.files import DRAFT_SUFFIXES, require_file
from corpus.readers.tables import decode_utf8
from corpus.records import Document

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_TITLE_MACRO = re.compile(r"\\title\s*(?:\[[^\]]*\]\s*)?\{")
_DOCUMENT_BODY = re.compile(r"\\begin\s*\{document\}(.*?)(?:\\end\s*\{document\}|\Z)", re.DOTALL)
_UNTITLED = {"", "untitled", "untitled document", "microsoft word"}


def read_document(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read a draft and split it into passages; any unreadable or empty draft is an InputError naming the file."""
    path = require_file(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in DRAFT_SUFFIXES:
        raise InputError(f"unsupported draft type; supported: {', '.join(DRAFT_SUFFIXES)}", source=source)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"is {size:,} bytes, over the {max_bytes:,}-byte limit for drafts", source=source)

    if suffix == ".pdf":
        title, text = _read_pdf(path)
    else:
        raw = decode_utf8(path.read_bytes(), source)
        if suffix == ".tex":
            title, text = _tex_title(raw), _tex_to_text(raw)
        elif suffix in (".md", ".markdown"):
            heading = _MARKDOWN_HEADING.search(raw)
            title, text = (heading.group(1) if heading else None), raw
        else:
            title, text = _first_line(raw), raw

    text = _tidy(text)
    if not text:
        raise InputError("has no text", source=source)
    title = " ".join((title or "").split()) or path.stem
    return Document(title=title, text=text, path=source, passages=split_passages(text))


def _tidy(text: str) -> str:
    """Unify line endings and squeeze runs of blanks, which markup removal and PDF extraction leave behind."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _first_line(text: str) -> str | None:
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


# --- LaTeX -----------------------------------------------------------------------------------------------------


def _latex_converter() -> LatexNodes2Text:
    """pylatexenc's converter, with headings kept as plain lines and references and title blocks dropped.

    The default renders \\section as "§ TITLE" and \\maketitle with today's date, which would make the same
    draft hash differently from day to day.
    """
    db = get_default_latex_context_db()

    def heading(node, l2tobj) -> str:  # type: ignore[no-untyped-def]
        return "\n\n" + l2tobj.node_arg_to_text(node, 2).strip() + "\n\n"

    headings = ("part", "chapter", "section", "subsection", "subsubsection", "paragraph", "subparagraph")
    dropped = (
        *("maketitle", "label", "includegraphics"),
        *("cite", "citep", "citet", "ref", "eqref", "autoref", "cref", "Cref"),
    )
    db.add_context_category(
        "pubtriage-drafts",
        prepend=True,
        macros=[MacroTextSpec(name, simplify_repl=heading) for name in headings]
        + [MacroTextSpec(name, discard=True) for name in dropped],
    )
    return LatexNodes2Text(latex_context=db)


_LATEX = _latex_converter()


def _tex_to_text(source: str) -> str:
    # The preamble is only configuration; converting it would leak package options and macro bodies.
    body = _DOCUMENT_BODY.search(source)
    return _LATEX.latex_to_text(body.group(1) if body else source)


def _tex_title(source: str) -> str | None:
    """The argument of \\title{...}, braces balanced, as plain text."""
    match = _TITLE_MACRO.search(source)
    if not match:
        return None
    depth, index = 1, match.end()
    while index < len(source) and depth:
        char = source[index]
        if char == "\\":
            index += 2  # an escaped brace does not count
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        index += 1
    # \\ inside a title is a line break, not part of the text.
    return _LATEX.latex_to_text(source[match.end() : index - 1].replace("\\\\", " "))


# --- PDF -------------------------------------------------------------------------------------------------------


def _read_pdf(path: Path) -> tuple[str | None, str]:
    source = str(path)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _open_without_password(reader):
            raise InputError("is an encrypted PDF; remove the password and try again", source=source)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except InputError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, NotImplementedError) as exc:
        # pypdf raises assorted exceptions on damaged files and unsupported encryption; all mean "unreadable".
        raise InputError(f"is not a readable PDF ({type(exc).__name__}: {exc})", source=source) from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise InputError("PDF has no text layer (a scan?); run OCR on it or supply the text", source=source)
    if title and title.strip().lower() in _UNTITLED:
        title = None
    return title, text


def _open_without_password(reader: PdfReader) -> bool:
    """Try the empty user password, which opens the common "owner password only" PDFs without asking."""
    try:
        return bool(reader.decrypt(""))
    except DependencyError:
        return False  # AES needs the optional `cryptography` package; without it the file stays closed
