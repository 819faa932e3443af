"""Read a local draft (.md, .txt, .tex, .pdf) into a Document with its title, plain text and passages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pypdf import PdfReader
from pypdf.errors import DependencyError

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits, describe_bytes
from corpus.passages import split_passages
from corpus.readers.files import DRAFT_SUFFIXES, require_file
from corpus.readers.tables import decode_utf8
from corpus.records import Document

# The heading's closing #s and spaces are stripped in Python (_heading_text): as a lazy group followed by three
# optional runs, a line of a few thousand spaces took minutes to match.
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+)$", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
# The optional argument stops at the next bracket: "\title[" repeated without a "]" was quadratic.
_TITLE_MACRO = re.compile(r"\\title\s*+(?:\[[^\]\[]*+\]\s*+)?\{")
_DOCUMENT_BODY = re.compile(r"\\begin\s*\{document\}(.*?)(?:\\end\s*\{document\}|\Z)", re.DOTALL)
_UNTITLED = {"", "untitled", "untitled document", "microsoft word"}
# pypdf logs each repair it makes to a damaged file; Python's last-resort handler would print those on stderr,
# around the one line of error the CLI promises.
logging.getLogger("pypdf").addHandler(logging.NullHandler())


def read_document(path: str | Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """Read a draft and split it into passages; any unreadable, empty or over-limit draft is an InputError naming the file."""
    path = require_file(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in DRAFT_SUFFIXES:
        raise InputError(f"unsupported draft type; supported: {', '.join(DRAFT_SUFFIXES)}", source=source)
    # Checked before a byte is read, so a huge file is refused at once and in constant memory.
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        limit = describe_bytes(limits.max_file_bytes)
        raise InputError(f"is {size:,} bytes, over the {limit} limit for drafts (--max-file-mb)", source=source)
    if suffix == ".tex" and size > limits.max_tex_bytes:
        limit = describe_bytes(limits.max_tex_bytes)
        message = f"is {size:,} bytes, over the {limit} limit for LaTeX sources, whose conversion is slow (--max-file-mb)"
        raise InputError(message, source=source)

    if suffix == ".pdf":
        title, text = _read_pdf(path, limits)
    else:
        raw = decode_utf8(path.read_bytes(), source)
        if suffix == ".tex":
            try:
                title, text = _tex_title(raw), _tex_to_text(raw)
            except RecursionError:
                # pylatexenc recurses per brace level; thousands of nested groups exhaust the stack.
                raise InputError("LaTeX nests groups too deeply to convert", source=source) from None
            except Exception as exc:  # noqa: BLE001
                # pylatexenc trips over some malformed macros (a bare \title: AttributeError); the draft is unreadable.
                # Only the exception's type is shown: its message may quote the draft.
                raise InputError(f"LaTeX could not be converted ({type(exc).__name__})", source=source) from exc
        elif suffix in (".md", ".markdown"):
            heading = _MARKDOWN_HEADING.search(raw)
            title, text = (_heading_text(heading.group(1)) if heading else None), raw
        else:
            title, text = _first_line(raw), raw

    text = _tidy(text)
    if not text:
        raise InputError("has no text", source=source)
    title = " ".join((title or "").split()) or path.stem
    passages = split_passages(text, limit=limits.max_passages)
    if len(passages) > limits.max_passages:
        message = f"has more than {limits.max_passages:,} passages, the limit for one draft (--max-passages)"
        raise InputError(message, source=source)
    return Document(title=title, text=text, path=source, passages=passages)


def _heading_text(line: str) -> str:
    """A Markdown heading's text without its closing sequence: trailing spaces, then #s, then spaces (one char at least)."""
    end = len(line.rstrip(" \t"))
    end = len(line[:end].rstrip("#"))
    end = len(line[:end].rstrip(" \t"))
    return line[: max(end, 1)]


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

    def heading(node, l2tobj) -> str:
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
    return "".join(_LATEX.latex_to_text(chunk) for chunk in _paragraph_chunks(body.group(1) if body else source))


# What decides whether a blank line is outside every group and environment. Escaped braces and comments come
# first so that they are skipped rather than counted.
_STRUCTURE = re.compile(r"\\[{}%]|%[^\n]*|\\begin\s*\{|\\end\s*\{|[{}]|\n[ \t]*\n")
_CHUNK_CHARS = 32_768


def _paragraph_chunks(source: str) -> list[str]:
    """`source` cut at blank lines outside every group and environment into pieces of at least _CHUNK_CHARS.

    pylatexenc is quadratic in the length of a run of plain text (1 MB took 96 s, 500 KB 18 s); converted a
    piece at a time, LaTeX costs linear time. A source under _CHUNK_CHARS, or one whose braces never balance,
    stays one piece, converted exactly as before.
    """
    if len(source) < 2 * _CHUNK_CHARS:
        return [source]
    chunks, start, braces, environments = [], 0, 0, 0
    for match in _STRUCTURE.finditer(source):
        token = match.group()
        if token in ("{", "}"):
            braces += 1 if token == "{" else -1
        elif token.startswith("\\begin"):
            braces, environments = braces + 1, environments + 1
        elif token.startswith("\\end"):
            braces, environments = braces + 1, environments - 1
        elif token.startswith("\n") and braces == 0 and environments == 0 and match.end() - start >= _CHUNK_CHARS:
            chunks.append(source[start : match.end()])
            start = match.end()
    chunks.append(source[start:])
    return chunks


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


def _read_pdf(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[str | None, str]:
    # pypdf bounds each stream's decompression and parsing work itself (pypdf.Configuration, 75 MB a stream);
    # the running total below bounds the text of the whole file.
    source = str(path)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _open_without_password(reader):
            raise InputError("is an encrypted PDF; remove the password and try again", source=source)
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            total += len(pages[-1])
            if total > limits.max_file_bytes:
                message = f"PDF holds more than {limits.max_file_bytes:,} characters of text, the limit for drafts (--max-file-mb)"
                raise InputError(message, source=source)
        title = reader.metadata.title if reader.metadata else None
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        # pypdf parses untrusted bytes and raises whatever its parser hits on damage (KeyError, struct.error,
        # ZeroDivisionError, RecursionError on cyclic or deep objects, ...); every one means "unreadable".
        raise InputError(f"is not a readable PDF ({type(exc).__name__}: {_first_line_of(exc)})", source=source) from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise InputError("PDF has no text layer (a scan?); run OCR on it or supply the text", source=source)
    if title and title.strip().lower() in _UNTITLED:
        title = None
    return title, text


def _first_line_of(exc: BaseException) -> str:
    """An exception's message cut to one line, so the error stays one line on stderr."""
    lines = str(exc).strip().splitlines()
    return (lines[0][:200] if lines else "") or "no detail"


def _open_without_password(reader: PdfReader) -> bool:
    """Try the empty user password, which opens the common "owner password only" PDFs without asking."""
    try:
        return bool(reader.decrypt(""))
    except DependencyError:
        return False  # AES needs the optional `cryptography` package; without it the file stays closed
