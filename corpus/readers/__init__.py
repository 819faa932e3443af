"""Readers turn files and remote feeds into `Paper` and `Document` records, reporting bad rows instead of failing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ReadIssue:
    """One record that a reader skipped, with where it was and why."""

    source: str
    record: str | int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.record}: {self.message}"


IssueSink = Callable[[ReadIssue], None]


def ignore_issue(issue: ReadIssue) -> None:
    """Default sink for callers that only want the good records."""
