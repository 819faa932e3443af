"""Messages the app's workers post with their results, and the decision draft a reviewer fills in."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from triage.review import ItemText
from triage.review_records import Checklist, DecisionRow, ItemScore, QueueItem


@dataclass
class DecisionDraft:
    """What a reviewer has entered in the decision form; kept until it is saved, so nothing typed is lost."""

    item_id: int
    state: str
    rationale: str = ""
    checklist: Checklist = field(default_factory=Checklist)


@dataclass
class QueueLoaded(Message):
    entries: list[QueueItem]
    sessions: list[str] = field(default_factory=list)  # every session in the workspace, for the empty-queue hint


@dataclass
class TextLoaded(Message):
    item_id: int
    text: ItemText


@dataclass
class ItemsScored(Message):
    """One batch of fresh scores: the queue redraws once per batch, not once per item."""

    scores: dict[int, ItemScore]


@dataclass
class ScoringFinished(Message):
    probe_version: str | None
    scored: int  # scored in this run
    kept: int = 0  # already scored by this probe: cached scores kept


@dataclass
class Retrained(Message):
    probe_version: str
    previous: str | None


@dataclass
class DecisionRecorded(Message):
    decision: DecisionRow


@dataclass
class DecisionRefused(Message):
    draft: DecisionDraft
    reason: str


@dataclass
class Undone(Message):
    reversal: DecisionRow | None
    undone: DecisionRow | None


@dataclass
class Redone(Message):
    decision: DecisionRow


@dataclass
class Progress(Message):
    label: str
    done: int = 0
    total: int | None = None


@dataclass
class WorkFailed(Message):
    task: str
    error: str


WriteResult = DecisionRecorded | DecisionRefused | Undone | Redone | WorkFailed  # what one queued write produces


@dataclass
class WriteFinished(Message):
    """One queued write is done, whatever its outcome."""

    result: WriteResult
