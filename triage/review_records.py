"""The records of a review: decision states, the checklist, an item's scores as shown, and a queue entry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Iterable

from corpus.reviews import DecisionRow, ItemRow
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


def _with_passages(cls, raw: dict):
    """A prior-work record back from JSON, its matched passages made objects again (none in records from before them)."""
    from triage.similar import MatchedPassage

    return cls(**{**raw, "passages": [MatchedPassage(**m) for m in raw.get("passages", [])]})


@dataclass
class ItemScore:
    """An item's scores from one probe version, and its similar prior work with summaries."""

    score: "DocumentScore"
    prior: list[PriorDetail]
    scored_at: str

    @property
    def probe_version(self) -> str:
        return self.score.probe_version

    def shown(self) -> dict:
        """What the reviewer saw, recorded with a decision: the numbers, the tier and why, and the probe."""
        s = self.score
        return {
            "safety": s.safety, "safety_std": s.safety_std, "capabilities": s.capabilities,
            "capabilities_std": s.capabilities_std, "differential": s.differential, "tier": s.tier,
            "reasons": list(s.reasons), "areas": [a.area for a in s.areas], "probe_version": s.probe_version,
            "embedder_id": s.embedder_id, "scored_at": self.scored_at,
        }

    def to_dict(self) -> dict:
        return {"score": self.score.to_dict(), "prior": [asdict(p) for p in self.prior], "scored_at": self.scored_at}

    @classmethod
    def from_dict(cls, raw: dict) -> "ItemScore | None":
        """The stored form back, or None when it was written by a version whose score fields differ."""
        from triage.scoring import AreaScore, DocumentScore, LabelledExample, PassageScore, PriorWork

        try:
            body = dict(raw["score"])
            body["areas"] = [AreaScore(**a) for a in body["areas"]]
            body["passages"] = [PassageScore(**p) for p in body["passages"]]
            body["similar"] = [_with_passages(PriorWork, p) for p in body["similar"]]
            body["nearest_labelled"] = [LabelledExample(**e) for e in body["nearest_labelled"]]
            return cls(score=DocumentScore(**body), prior=[_with_passages(PriorDetail, p) for p in raw["prior"]], scored_at=raw["scored_at"])
        except (KeyError, TypeError):
            return None  # a stale cache entry: the next scoring run replaces it


@dataclass
class QueueItem:
    """A queue row: the item, its latest scores, this reviewer's decision in force, and other reviewers' states."""

    item: ItemRow
    score: ItemScore | None = None
    decision: DecisionRow | None = None
    others: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def title(self) -> str:
        return self.item.title

    @property
    def state(self) -> str:
        return self.decision.state if self.decision and self.decision.state else PENDING

    @property
    def tier(self) -> str | None:
        return self.score.score.tier if self.score else None


def effective_decisions(log: Iterable[DecisionRow]) -> dict[tuple[int, str], DecisionRow]:
    """The decision in force per (item, reviewer): the latest one not undone. Undoing the latest restores the one before."""
    entries = list(log)
    reversed_ids = {d.reverses for d in entries if d.reverses is not None}
    current: dict[tuple[int, str], DecisionRow] = {}
    for entry in sorted(entries, key=lambda d: d.id):
        if entry.reverses is None and entry.id not in reversed_ids:
            current[(entry.item_id, entry.reviewer)] = entry
    return current
