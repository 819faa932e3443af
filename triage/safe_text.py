"""Text that is safe to show on a terminal: data from papers and files never becomes a control sequence.

Titles, authors, file names and session names come from files anyone can write. An ESC or BEL in one would let
it retitle the window, clear the screen or hide a hyperlink; a bidi override (U+202E) would reorder what the
reader sees. Everything shown on a terminal goes through `terminal_text`; files written with --out keep the data
as it is (CSV cells get `triage.csv_safe.csv_cell` instead).
"""

from __future__ import annotations

import json
from typing import Any

# Bidi embeddings, overrides, isolates and marks: invisible, and they reorder the characters around them.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Characters that end a line on some terminal or viewer; in a one-line value they become a space.
LINE_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_CONTROLS = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))] + list(BIDI_CONTROLS)
# Shown as a visible escape (`\x1b`, `\u202e`), so the reader sees that the data held one.
_VISIBLE = {ord(c): _escaped(c) for c in _CONTROLS}
_ONE_LINE = _VISIBLE | {ord(c): " " for c in LINE_BREAKS}
_MULTI_LINE = _VISIBLE | {ord("\n"): "\n", ord("\t"): "    "}


def terminal_text(value: Any, *, one_line: bool = True) -> str:
    """`value` as text with every control character and bidi override made visible; line breaks become spaces
    unless `one_line` is false (then newlines stay, for multi-line text such as a draft or a summary)."""
    text = "" if value is None else str(value)
    return text.translate(_ONE_LINE if one_line else _MULTI_LINE)


# C0 controls inside strings are escaped by json itself; a raw newline in its output is indentation.
_JSON_UNSAFE = {ord(c): f"\\u{ord(c):04x}" for c in (*_CONTROLS, "\u2028", "\u2029") if ord(c) >= 0x7F}


def terminal_json(payload: Any, **dumps: Any) -> str:
    """JSON for a terminal: the same data (every escape below is valid JSON), with no raw control character in it.

    `json.dumps` already escapes C0 controls; with `ensure_ascii=False` it leaves DEL, C1 controls and bidi
    overrides raw, so those are written as `\\uXXXX` escapes, which parse back to the very same string.
    """
    return json.dumps(payload, ensure_ascii=False, **dumps).translate(_JSON_UNSAFE)
