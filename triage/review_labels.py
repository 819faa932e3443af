"""Decisions become training labels (source "decision"); the full mapping is documented in docs/REVIEW.md."""

from __future__ import annotations

from typing import Iterable

from corpus.records import LabelledText
from corpus.reviews import DecisionRow
from triage.review_records import APPROVE, APPROVE_WITH_CHANGES, RESTRICT, Checklist, effective_decisions

DECISION_SOURCE = "decision"


def labels_for(state: str, checklist: Checklist) -> tuple[int | None, int | None]:
    """(safety, capabilities) one decision implies; None where it says nothing. Hold and escalate say nothing."""
    capability_flag = checklist.capability_uplift or checklist.dual_use_hazard
    if state == RESTRICT:
        return (1 if checklist.safety_benefit else 0), 1
    if state == APPROVE:
        # Approving asserts the reviewer weighed uplift: an unticked box there is a considered "no".
        return (1 if checklist.safety_benefit else None), (1 if capability_flag else 0)
    if state == APPROVE_WITH_CHANGES:
        return (1 if checklist.safety_benefit else None), (1 if capability_flag else None)
    return None, None


def _combine(values: Iterable[int | None]) -> int | None:
    """Reviewers who agree give the label; reviewers who disagree leave it unknown rather than pick a side."""
    known = {v for v in values if v is not None}
    return known.pop() if len(known) == 1 else None


def derived_label(decisions: Iterable[DecisionRow], *, text: str, title: str) -> LabelledText | None:
    """The label every decision in force on this text implies together, or None when they imply nothing."""
    implied = [labels_for(d.state or "", Checklist.from_dict(d.checklist)) for d in effective_decisions(decisions).values()]
    safety = _combine(s for s, _ in implied)
    capabilities = _combine(c for _, c in implied)
    if safety is None and capabilities is None:
        return None
    return LabelledText(text=text, safety=safety, capabilities=capabilities, areas=None, title=title, source=DECISION_SOURCE)
