"""Readers turn files and remote feeds into `Paper` and `Document` records, reporting bad rows instead of failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator


@dataclass(frozen=True)
class ReadIssue:
    """One record that a reader skipped, with where it was and why."""

    source: str
    record: str | int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.record}: {self.message}"


IssueSink = Callable[[ReadIssue], None]

KEPT_ISSUES = 1000


@dataclass
class IssueLog:
    """An IssueSink that keeps the first `keep` issues and counts every one: a file of a million bad rows costs no
    more memory than one of a thousand. `len()` is the count; iterating gives the issues kept."""

    keep: int = KEPT_ISSUES
    kept: list[ReadIssue] = field(default_factory=list)
    count: int = 0

    def __call__(self, issue: ReadIssue) -> None:
        self.count += 1
        if len(self.kept) < self.keep:
            self.kept.append(issue)

    append = __call__

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[ReadIssue]:
        return iter(self.kept)


def ignore_issue(issue: ReadIssue) -> None:
    """Default sink for callers that only want the good records."""
