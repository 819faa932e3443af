"""Split a document's text into overlapping, sentence-aligned passages with exact character offsets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice

from corpus.records import Passage

# A rough stand-in for a WordPiece tokenizer, so that splitting needs no model: a word costs one token per
# six characters (common words are one token, rare long ones several) and every punctuation mark costs one.
_TOKEN = re.compile(r"\w{1,6}|[^\w\s]")

# A sentence runs from a non-space character to terminal punctuation (with any closing quotes or brackets)
# followed by whitespace, or up to a paragraph break, or to the end of the text. "e.g. x" splits too early
# and "3.5" does not split: both are fine for passages that only need to be roughly sentence-aligned.
# A terminal run is tried only where it starts (the lookbehind; the first branch covers a sentence that opens
# with one), and possessively: otherwise a run of 10,000 dots costs quadratic time, tens of seconds.
_SENTENCE = re.compile(
    r"[.!?][.!?]++[\"')\]\u201d\u2019]*+(?=\s|\Z)"
    r"|\S.*?(?:(?<![.!?])[.!?]++[\"')\]\u201d\u2019]*+(?=\s|\Z)|(?=\n[ \t]*\n)|\Z)",
    re.DOTALL,
)


@dataclass(frozen=True)
class _Unit:
    """The smallest piece a passage is built from: a sentence, or a slice of an over-long one."""

    start: int
    end: int
    tokens: int


def estimate_tokens(text: str) -> int:
    """Approximate model token count of `text`, without loading a tokenizer."""
    return sum(1 for _ in _TOKEN.finditer(text))


def split_passages(text: str, target_tokens: int = 200, overlap_tokens: int = 40, *, limit: int | None = None) -> list[Passage]:
    """Cut `text` into passages of at most ~`target_tokens` that share ~`overlap_tokens` with their neighbour.

    Passages start and end on sentence boundaries where possible; a sentence longer than a passage is cut
    between word pieces. `text[p.start:p.end] == p.text` for every passage. Whitespace-only text gives none.
    With `limit`, splitting stops after `limit + 1` passages: enough for a caller to refuse the text, quickly.
    """
    if target_tokens < 1:
        raise ValueError("target_tokens must be at least 1")
    if not 0 <= overlap_tokens < target_tokens:
        raise ValueError("overlap_tokens must be at least 0 and smaller than target_tokens")

    # Over-long sentences are cut into overlap-sized slices, so that consecutive passages inside one
    # enormous sentence still overlap by one slice instead of being butted together.
    slice_tokens = overlap_tokens or target_tokens
    # Units are read as the passages need them, so that a `limit` also spares reading the rest of the text.
    source = _units(text, target_tokens, slice_tokens)
    units: list[_Unit] = []

    def has(index: int) -> bool:
        while len(units) <= index:
            unit = next(source, None)
            if unit is None:
                return False
            units.append(unit)
        return True

    passages: list[Passage] = []
    first = 0  # first unit of the current passage
    stop = 0  # one past the last unit of the current passage
    size = 0  # tokens in units[first:stop]
    while has(first):
        # Grow the passage; a lone unit never exceeds target_tokens, so each passage takes at least one.
        while has(stop) and (stop == first or size + units[stop].tokens <= target_tokens):
            size += units[stop].tokens
            stop += 1
        start, end = units[first].start, units[stop - 1].end
        passages.append(Passage(start=start, end=end, text=text[start:end]))
        if not has(stop) or (limit is not None and len(passages) > limit):
            break
        # The next passage repeats the trailing sentences whose length is nearest to the overlap, so that a
        # statement cut at the passage end is seen whole in one of the two. It shares at most half a passage,
        # which bounds the number of passages; walking back is bounded too, so the whole stays linear.
        next_first, tail = stop, 0
        while next_first - 1 > first and tail < overlap_tokens:
            cost = units[next_first - 1].tokens
            if tail + cost > target_tokens // 2:
                break
            if tail and tail + cost - overlap_tokens > overlap_tokens - tail:
                break  # taking this sentence would land further from the overlap than leaving it out
            next_first -= 1
            tail += cost
        size -= sum(unit.tokens for unit in units[first:next_first])
        first = next_first
    return passages


def _units(text: str, target_tokens: int, slice_tokens: int) -> Iterator[_Unit]:
    """Yield the sentences of `text`, each trimmed of whitespace, with over-long ones cut into slices."""
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        # Word pieces are taken a slice at a time: one 20 MB "sentence" must not become millions of match objects.
        pieces = _TOKEN.finditer(text, start, end)
        head = list(islice(pieces, target_tokens + 1))
        if len(head) <= target_tokens:
            yield _Unit(start, end, max(len(head), 1))
            continue
        rest = chain(head, pieces)
        while chunk := list(islice(rest, slice_tokens)):
            yield _Unit(chunk[0].start(), chunk[-1].end(), len(chunk))
