"""The records every reader produces: papers, draft documents and their passages."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

# New-style ids (0704.0001 .. 2612.99999) and old-style ids (hep-th/9901001, cs.AI/0101001).
_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_OLD_ID = re.compile(r"^([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?$")
_ARXIV_PREFIXES = ("arxiv:", "https://arxiv.org/abs/", "http://arxiv.org/abs/", "https://arxiv.org/pdf/", "http://arxiv.org/pdf/")


def parse_arxiv_id(raw: str) -> str | None:
    """Return the arXiv id without its version, or None when `raw` is not an arXiv id or URL."""
    text = raw.strip()
    lowered = text.lower()
    for prefix in _ARXIV_PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix):]
            break
    text = text.removesuffix(".pdf").strip("/")
    for pattern in (_NEW_ID, _OLD_ID):
        match = pattern.match(text)
        if match:
            return match.group(1)
    return None


def normalise_title(title: str) -> str:
    """Lower-case, accent-free, punctuation-free title used to spot the same paper from two sources."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    # A title with no Latin letter or digit (Chinese, Greek, symbols) would otherwise key as "", and every such
    # title would claim the same paper id: key it by its own case-folded words instead.
    return " ".join(text.split()) or " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def normalise_doi(doi: str) -> str:
    """DOIs are case-insensitive; strip resolver prefixes so two spellings compare equal."""
    text = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


def content_hash(text: str) -> str:
    """Stable hash of the exact text that is embedded; the key of the embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ascii_int(text: str) -> int | None:
    """`text` as an int when it is plain ASCII digits, else None ("¹".isdigit() is True, but int("¹") raises)."""
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass
class Paper:
    """A published or preprinted paper's metadata, as any reader produces it."""

    title: str
    abstract: str = ""
    source: str = "unknown"
    arxiv_id: str | None = None
    doi: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date, YYYY-MM-DD or YYYY
    updated: str | None = None
    url: str | None = None
    external_id: str | None = None  # the id a file gave the row, if any
    label: str | None = None  # a free-form label column, kept for later training
    uid: str | None = None  # stable id assigned by the store

    @property
    def year(self) -> int | None:
        return ascii_int(self.published[:4]) if self.published else None

    def embedding_text(self) -> str:
        """The text that represents this paper for embedding and similarity."""
        title = " ".join(self.title.split())
        abstract = " ".join(self.abstract.split())
        return f"{title}. {abstract}" if abstract else title


@dataclass(frozen=True)
class Passage:
    """A slice of a document, remembered by its character offsets into the document text."""

    start: int
    end: int
    text: str


@dataclass
class Document:
    """A local draft: its full text and the overlapping passages it is scored by."""

    title: str
    text: str
    path: str | None = None
    passages: list[Passage] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


@dataclass
class LabelledText:
    """A text with training labels: safety, capabilities and misuse hazard (0/1 or unknown) and sub-areas."""

    text: str
    safety: int | None
    capabilities: int | None
    areas: list[str] | None = None  # None: not labelled; []: labelled as none of the areas
    title: str = ""
    source: str = "user"
    hazard: int | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)
