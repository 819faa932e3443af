"""Agreement between reviewers: decisions per state, Cohen's kappa for two, Fleiss' kappa for more, and disagreements."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from corpus.reviews import DecisionRow, ItemRow
from triage.review_records import STATES, effective_decisions, scores_were_shown


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when chance agreement is total (kappa undefined)."""
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    if not first:
        return None
    categories = sorted(set(first) | set(second))
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for a, b in zip(first, second):
        table[index[a], index[b]] += 1
    n = table.sum()
    observed = np.trace(table) / n
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if np.isclose(expected, 1.0):
        return None
    return float((observed - expected) / (1 - expected))


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa: one row per item, each row the states all raters gave it (the same number per row)."""
    if not ratings:
        return None
    raters = len(ratings[0])
    if raters < 2 or any(len(r) != raters for r in ratings):
        raise ValueError("every item needs the same number (two or more) of ratings")
    categories = sorted({c for row in ratings for c in row})
    counts = np.array([[Counter(row)[c] for c in categories] for row in ratings], dtype=float)
    per_item = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    observed = per_item.mean()
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares**2).sum())
    if np.isclose(expected, 1.0):
        return None
    return float((observed - expected) / (1 - expected))


@dataclass
class Agreement:
    """Chance-corrected agreement over the items every reviewer in `reviewers` decided."""

    method: str  # "cohen" or "fleiss"
    reviewers: list[str]
    items: int
    observed: float | None
    kappa: float | None
    not_blind: int = 0  # items every reviewer decided, left out because a decision was made after seeing others'


@dataclass
class Disagreement:
    item_id: int
    ref: str
    title: str
    states: dict[str, str]
    version: int = 1


@dataclass
class ReviewStats:
    """What `triage review stats` reports for one session."""

    session: str
    items: int
    decided_items: int
    log_entries: int
    reversals: int
    per_state: dict[str, int]
    per_reviewer: dict[str, int]
    agreement: Agreement | None
    disagreements: list[Disagreement] = field(default_factory=list)
    without_scores: int = 0  # decisions in force recorded with scores_shown false
    on_earlier_versions: int = 0  # decisions in force on a version a later revision replaced
    per_version: dict[int, int] = field(default_factory=dict)  # decisions in force per draft version


def _observed(rows: list[list[str]]) -> float | None:
    return float(np.mean([len(set(r)) == 1 for r in rows])) if rows else None


def agreement(current: dict[tuple[int, str], DecisionRow]) -> Agreement | None:
    """Cohen's kappa for two reviewers, Fleiss' for three or more, over the items all of them decided blind.

    A decision made after its reviewer saw another's on the item (or one not recorded as blind) would bias
    agreement upwards, so such items are counted in `not_blind` and left out.
    """
    reviewers = sorted({reviewer for _, reviewer in current})
    if len(reviewers) < 2:
        return None
    items = sorted({item for item, _ in current})
    shared = [i for i in items if all((i, r) in current for r in reviewers)]
    blind = [i for i in shared if all(current[(i, r)].blind for r in reviewers)]
    rows = [[current[(i, r)].state or "" for r in reviewers] for i in blind]
    if len(reviewers) == 2:
        kappa = cohen_kappa([r[0] for r in rows], [r[1] for r in rows])
        method = "cohen"
    else:
        kappa = fleiss_kappa(rows)
        method = "fleiss"
    return Agreement(method=method, reviewers=reviewers, items=len(rows), observed=_observed(rows), kappa=kappa, not_blind=len(shared) - len(blind))


def session_stats(session: str, items: list[ItemRow], log: list[DecisionRow]) -> ReviewStats:
    current = effective_decisions(log)
    per_state = {state: 0 for state in STATES}
    per_reviewer: dict[str, int] = {}
    by_item: dict[int, dict[str, str]] = {}
    for (item_id, reviewer), decision in current.items():
        per_state[decision.state or ""] = per_state.get(decision.state or "", 0) + 1
        per_reviewer[reviewer] = per_reviewer.get(reviewer, 0) + 1
        by_item.setdefault(item_id, {})[reviewer] = decision.state or ""
    known = {item.id: item for item in items}
    latest: dict[int, int] = {}
    for item in items:
        latest[item.root] = max(latest.get(item.root, 0), item.version)
    per_version: dict[int, int] = {}
    for item_id, _ in current:
        version = known[item_id].version if item_id in known else 1
        per_version[version] = per_version.get(version, 0) + 1
    disagreements = [
        Disagreement(item_id=i, ref=known[i].ref, title=known[i].title, states=dict(sorted(states.items())), version=known[i].version)
        for i, states in sorted(by_item.items())
        if len(set(states.values())) > 1 and i in known
    ]
    return ReviewStats(
        session=session, items=len(items), decided_items=len(by_item), log_entries=len(log),
        reversals=sum(1 for d in log if d.reverses is not None), per_state=per_state,
        per_reviewer=dict(sorted(per_reviewer.items())), agreement=agreement(current), disagreements=disagreements,
        without_scores=sum(1 for d in current.values() if not scores_were_shown(d)),
        on_earlier_versions=sum(1 for i, _ in current if i in known and known[i].version < latest[known[i].root]),
        per_version=dict(sorted(per_version.items())),
    )

