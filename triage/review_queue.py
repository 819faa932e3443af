"""Ordering and narrowing a review queue: by risk, uncertainty or date; by tier, state or a search string."""

from __future__ import annotations

from typing import Sequence

from triage.errors import UsageError
from triage.review_records import PENDING, STATES, QueueItem

RISK, UNCERTAINTY, DATE = "risk", "uncertainty", "date"
SORTS = (RISK, UNCERTAINTY, DATE)
TIERS = ("publish", "review", "restrict", "unscored")
DECIDED = "decided"
STATE_FILTERS = (PENDING, DECIDED, *STATES)


def uncertainty(entry: QueueItem) -> float:
    """The largest ensemble spread of the axes; far-from-training items count as more uncertain still."""
    if entry.score is None:
        return -1.0
    s = entry.score.scores
    return max(s.safety_std, s.capabilities_std, s.hazard_std or 0.0) + (1.0 if "out-of-distribution" in s.reasons else 0.0)


def _risk(entry: QueueItem) -> float:
    s = entry.score.scores if entry.score else None
    return max(s.capabilities, s.hazard or 0.0) if s else 0.0


def sort_queue(entries: Sequence[QueueItem], by: str) -> list[QueueItem]:
    """risk: most capability-relevant or hazardous first; uncertainty: most uncertain first (active learning); date: newest first.

    Unscored items go last for risk and uncertainty, in queue order.
    """
    if by == RISK:
        return sorted(entries, key=lambda e: (e.score is None, -_risk(e), e.item.position))
    if by == UNCERTAINTY:
        return sorted(entries, key=lambda e: (e.score is None, -uncertainty(e), e.item.position))
    if by == DATE:
        return sorted(entries, key=lambda e: (e.item.added_at, e.item.position), reverse=True)
    raise UsageError(f"unknown sort {by!r}; choose one of: {', '.join(SORTS)}")


def filter_queue(entries: Sequence[QueueItem], *, tier: str | None = None, state: str | None = None, search: str = "") -> list[QueueItem]:
    """Entries of this tier ("unscored" for none yet) and state ("decided" for any), whose title, path or id contains `search`."""
    needle = search.strip().lower()
    kept = []
    for entry in entries:
        if tier and (entry.tier or "unscored") != tier:
            continue
        if state == DECIDED and entry.state == PENDING:
            continue
        if state and state != DECIDED and entry.state != state:
            continue
        if needle and not any(needle in field.lower() for field in (entry.title, entry.item.ref, entry.item.path or "")):
            continue
        kept.append(entry)
    return kept
