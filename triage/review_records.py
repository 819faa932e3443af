"""The records of a review: decision states, the checklist, an item's scores as shown, and a queue entry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Iterable

from corpus.reviews import DecisionRow, ItemRow
from corpus.scores import ScoreRecord
from models.axes import CAPABILITIES, HAZARD, SAFETY  # noqa: F401  (re-exported for the faces)
from triage.errors import UsageError

if TYPE_CHECKING:
    from triage.scoring import DocumentScore
    from triage.similar import MatchedPassage

APPROVE, APPROVE_WITH_CHANGES, RESTRICT, HOLD, ESCALATE = "approve", "approve with changes", "restrict", "hold", "escalate"
STATES = (APPROVE, APPROVE_WITH_CHANGES, RESTRICT, HOLD, ESCALATE)
PENDING = "pending"
# Approving is the one outcome that needs no explanation; every other state is a judgement someone must justify.
RATIONALE_OPTIONAL = frozenset({APPROVE})


def parse_state(raw: str) -> str:
    """A state from what a user typed: `approve-with-changes`, `approve_with_changes` and any case all work."""
    text = " ".join(raw.replace("-", " ").replace("_", " ").lower().split())
    if text not in STATES:
        raise UsageError(f"unknown decision state {raw!r}; choose one of: {', '.join(STATES)}")
    return text


@dataclass
class Checklist:
    """The reviewer's short checklist, stored with each decision."""

    capability_uplift: bool = False
    novelty_vs_public: bool = False
    dual_use_hazard: bool = False
    safety_benefit: bool = False
    responsible_disclosure: bool = False  # affected parties told, attack artefacts withheld (for hazardous work)
    suggested_redactions: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict | None) -> "Checklist":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (raw or {}).items() if k in known})


@dataclass(frozen=True)
class PriorDetail:
    """One similar prior paper, with the summary the detail pane shows when it is selected."""

    id: str
    title: str
    similarity: float
    year: int | None = None
    url: str | None = None
    summary: str = ""
    passages: list["MatchedPassage"] = field(default_factory=list)  # draft passages beside this paper's matching text


@dataclass
class ItemScore:
    """An item's scored document from one probe version, and its similar prior work with summaries."""

    document: "DocumentScore"
    prior: list[PriorDetail]
    scored_at: str

    @property
    def probe_version(self) -> str:
        return self.document.probe_version

    @property
    def scores(self) -> ScoreRecord:
        return self.document.scores

    def shown(self) -> dict:
        """What the reviewer saw, recorded with a decision: the score record, and the probe that made it."""
        d = self.document
        return {**d.scores.to_row(), "probe_version": d.probe_version, "embedder_id": d.embedder_id, "scored_at": self.scored_at}

    def to_dict(self) -> dict:
        return {"score": self.document.to_dict(), "prior": [asdict(p) for p in self.prior], "scored_at": self.scored_at}

    @classmethod
    def from_dict(cls, raw: dict) -> "ItemScore | None":
        """The stored form back, or None when it was written by a version whose score fields differ."""
        from triage.scoring import DocumentScore, with_passages

        try:
            document = DocumentScore.from_dict(raw["score"])
            return cls(document=document, prior=[with_passages(PriorDetail, p) for p in raw["prior"]], scored_at=raw["scored_at"])
        except (KeyError, TypeError, ValueError):
            return None  # a stale cache entry: the next scoring run replaces it


@dataclass
class QueueItem:
    """A queue row: the item, its latest scores, this reviewer's decision in force, and other reviewers' states.

    `others` is empty while review is blind and this reviewer has not decided the item yet. A revised draft is one
    row, its latest version; `earlier` holds the versions before it, oldest first.
    """

    item: ItemRow
    score: ItemScore | None = None
    decision: DecisionRow | None = None
    others: dict[str, str] = field(default_factory=dict)
    earlier: list["QueueItem"] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def version(self) -> int:
        return self.item.version

    @property
    def title(self) -> str:
        return self.item.title

    @property
    def state(self) -> str:
        return self.decision.state if self.decision and self.decision.state else PENDING

    @property
    def tier(self) -> str | None:
        return self.score.scores.tier if self.score else None


def effective_decisions(log: Iterable[DecisionRow]) -> dict[tuple[int, str], DecisionRow]:
    """The decision in force per (item, reviewer): the latest one not undone. Undoing the latest restores the one before."""
    entries = list(log)
    reversed_ids = {d.reverses for d in entries if d.reverses is not None}
    current: dict[tuple[int, str], DecisionRow] = {}
    for entry in sorted(entries, key=lambda d: d.id):
        if entry.reverses is None and entry.id not in reversed_ids:
            current[(entry.item_id, entry.reviewer)] = entry
    return current


def scores_were_shown(decision: DecisionRow) -> bool | None:
    """Whether the reviewer saw scores when deciding; None on an undo entry, which decides nothing.

    Entries from before the flag was kept say so by carrying the scores themselves.
    """
    if decision.state is None:
        return None
    return decision.scores_shown if decision.scores_shown is not None else bool(decision.scores)
