"""Progress reporting for long operations; the library reports, each face decides how to show it."""

from __future__ import annotations


class Reporter:
    """Receives progress and notes. This base class ignores everything, which suits tests and notebooks."""

    def start(self, label: str, total: int | None = None) -> None:
        """A new phase begins (`total` units, or unknown)."""

    def advance(self, n: int = 1) -> None:
        """`n` more units of the current phase are done."""

    def finish(self) -> None:
        """The current phase is over."""

    def note(self, message: str) -> None:
        """Something the user should know that is not an error (an index rebuilt, rows skipped)."""


class RecordingReporter(Reporter):
    """Keeps notes and totals; used by tests and by callers that summarise afterwards."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.phases: list[tuple[str, int | None]] = []
        self.advanced = 0

    def start(self, label: str, total: int | None = None) -> None:
        self.phases.append((label, total))

    def advance(self, n: int = 1) -> None:
        self.advanced += n

    def note(self, message: str) -> None:
        self.notes.append(message)


NOTED_ISSUES = 20  # skipped records shown as notes; the rest are counted, and listed by --format json


def note_issues(reporter: Reporter, issues) -> None:
    """The first NOTED_ISSUES skipped records as notes, then one note counting the rest: a screen, not a flood."""
    shown = 0
    for issue in issues:
        if shown == NOTED_ISSUES:
            break
        reporter.note(f"skipped {issue}")
        shown += 1
    more = len(issues) - shown
    if more > 0:
        sources = ", ".join(sorted({issue.source for issue in issues}))  # every note names its file, this one too
        listed = min(len(issues), getattr(issues, "keep", len(issues)))
        reporter.note(f"{more} more records skipped in {sources}; --format json lists the first {listed}")
