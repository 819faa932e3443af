"""The draft's text with its top capability and safety passages highlighted, and a cursor that jumps between them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.containers import VerticalScroll
from textual.widgets import Static

from triage.review_records import CAPABILITIES, HAZARD, SAFETY
from triage.safe_text import terminal_text

# A line break inside a paragraph (with the indentation around it); a Markdown heading or list line keeps its own line.
_SINGLE_NEWLINE = re.compile(r"[ \t]*(?<!\n)\n[ \t]*(?![\n#*\-+>]|\d+\.)")
_LEADING_SPACE = re.compile(r"^[ \t]+", re.MULTILINE)


@dataclass(frozen=True)
class Segment:
    """A stretch of text between passage boundaries, and the axes of the passages covering it."""

    start: int
    end: int
    axes: frozenset[str]


def segments(length: int, passages: list[tuple[int, int, list[str]]]) -> list[Segment]:
    """Cut [0, length) at every passage edge; overlapping passages give a segment both of their axes."""
    edges = sorted({0, length, *(max(0, min(length, p)) for s, e, _ in passages for p in (s, e))})
    out = []
    for start, end in zip(edges, edges[1:]):
        axes = frozenset(a for s, e, drives in passages if s <= start and end <= e for a in drives)
        out.append(Segment(start, end, axes))
    return out


def reflow(text: str) -> str:
    """Join hard-wrapped lines so the pane wraps to its own width; blank lines still separate paragraphs.

    Indentation goes too: the pane is for reading the words, and leading spaces read as a layout fault.
    """
    return _LEADING_SPACE.sub("", _SINGLE_NEWLINE.sub(" ", text.strip("\n"))).strip(" ")


class DraftText(VerticalScroll):
    """Plain text in segments; highlighted segments carry the axis they drive. `n`/`p` move between passages."""

    DEFAULT_CSS = """
    DraftText { height: 1fr; padding: 0 1; }
    DraftText > Static { width: 1fr; }
    DraftText > .-capabilities { background: $error-muted; }
    DraftText > .-safety { background: $success-muted; }
    DraftText > .-both { background: $warning-muted; }
    DraftText > .-hazard { background: $warning-muted; text-style: underline; }
    DraftText > .-current { text-style: bold; border-left: thick $accent; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._anchors: list[Static] = []
        self._covers: list[list[Static]] = []
        self._axes: list[list[str]] = []
        self.current = -1

    def show(self, text: str, passages: list[tuple[int, int, list[str]]]) -> None:
        """Replace the content; `passages` are (start, end, axes) character spans into `text`."""
        ordered = sorted(passages)
        pieces: list[tuple[str, str, Segment]] = []
        for segment in segments(len(text), ordered):
            piece = text[segment.start : segment.end]
            if not piece.strip() and not segment.axes:
                continue
            # A hazardous passage is marked as such whatever else it drives: it is what a reviewer must find first.
            if HAZARD in segment.axes:
                kind = "-hazard"
            else:
                kind = "-both" if len(segment.axes) > 1 else (f"-{next(iter(segment.axes))}" if segment.axes else "")
            pieces.append((terminal_text(reflow(piece), one_line=False), kind, segment))
        # Moving between drafts of the same shape reuses the pieces already mounted (an update, not a remount:
        # a remount costs a second layout pass once the new widgets have mounted).
        existing = list(self.query_children(Static))
        if len(existing) == len(pieces):
            widgets = existing
            for widget, (content, kind, _) in zip(widgets, pieces):
                widget.update(content)
                widget.set_classes(kind)
        else:
            self.remove_children()
            widgets = [Static(content, markup=False, classes=kind) for content, kind, _ in pieces]
            self.mount_all(widgets)
        self._anchors, self._covers, self.current = [], [[] for _ in ordered], -1
        for widget, (_, _, segment) in zip(widgets, pieces):
            for i, (s, e, _) in enumerate(ordered):
                if s <= segment.start and segment.end <= e:
                    self._covers[i].append(widget)
        # A passage that covers no visible text (whitespace only) cannot be jumped to; keep the lists aligned.
        self._axes = [list(drives) for cover, (_, _, drives) in zip(self._covers, ordered) if cover]
        self._covers = [cover for cover in self._covers if cover]
        self._anchors = [cover[0] for cover in self._covers]
        self.scroll_home(animate=False)
        count = {axis: sum(1 for *_, d in ordered if axis in d) for axis in (HAZARD, CAPABILITIES, SAFETY)}
        hazard = f"{count[HAZARD]} hazard, " if count[HAZARD] else ""
        self.border_title = f"text · {hazard}{count[CAPABILITIES]} capability, {count[SAFETY]} safety passages · n/p"

    def jump(self, step: int) -> int | None:
        """Move to the next (`step` 1) or previous (-1) passage, wrapping; returns its index, or None if there are none."""
        if not self._anchors:
            return None
        for widget in self._covers[self.current] if 0 <= self.current < len(self._covers) else []:
            widget.remove_class("-current")
        self.current = (self.current + step) % len(self._anchors)
        for widget in self._covers[self.current]:
            widget.add_class("-current")
        self.scroll_to_widget(self._anchors[self.current], top=True, animate=False)
        return self.current

    def describe(self, index: int) -> str:
        """`passage 2/5, capabilities`: where a jump landed and which axis the passage pushes up."""
        axes = ", ".join(self._axes[index]) if 0 <= index < len(self._axes) else ""
        return f"passage {index + 1}/{len(self._anchors)}" + (f", {axes}" if axes else "")
