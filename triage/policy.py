"""The tier policy: how calibrated scores, their uncertainty and the evidence become publish, review or restrict."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from triage.errors import UsageError

PUBLISH, REVIEW, RESTRICT = "publish", "review", "restrict"
POLICY_FILE = "policy.json"


@dataclass(frozen=True)
class TierPolicy:
    """Thresholds, all documented in the README. `differential` = logit P(safety) - logit P(capabilities)."""

    publish_margin: float = 1.0  # differential at or above this, with enough safety relevance: publish
    restrict_margin: float = 1.0  # differential at or below minus this, with enough capability relevance: restrict
    min_relevance: float = 0.5  # P(safety) needed to publish, P(capabilities) needed to restrict
    max_other_axis: float = 0.5  # the other axis must stay below this for a clear call (else dual-use: review)
    max_std: float = 0.12  # ensemble spread above this on safety or capabilities: review, reason "uncertain" (capabilities
    # alone where P(capabilities) and P(hazard) are below `no_capability`: then safety's spread cannot change the tier)
    min_labelled_similarity: float = 0.30  # nearest labelled example below this: review, reason "out-of-distribution"
    passage_capabilities: float = 0.85  # a passage this capability-heavy keeps a draft out of "publish"
    public_work_similarity: float = 0.80  # nearest prior work at or above this: say the marginal risk is lower
    # P(hazard) at or above this: never "publish"; review with reason "misuse-hazard". A missed attack costs more than
    # a safety draft sent to review, so the line keeps a margin below the lowest-scoring hazard draft of the blind
    # draft sets rather than sitting just under it (docs/BENCHMARKS.md has the scores on both sides of it).
    hazard: float = 0.85
    passage_hazard: float = 0.99  # a passage this hazardous does the same, however safe the rest of the draft reads
    # A "publish" whose P(hazard) plus this many ensemble spreads reaches `hazard` goes to review ("uncertain-hazard").
    # Off by default: the line already has its margin, and the spread rule sends the defences nearest the line back to
    # review while catching no hazard draft of the draft sets (docs/BENCHMARKS.md). Set 1 for a stricter group.
    hazard_spread: float = 0.0
    no_capability: float = 0.2  # P(capabilities) and P(hazard) both below this: nothing to withhold, "publish"

    @classmethod
    def load(cls, path: Path | None) -> "TierPolicy":
        """Defaults, overridden by the keys of a JSON file when it exists (unknown keys are an error)."""
        if path is None or not Path(path).is_file():
            return cls()
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: policy is not valid JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise UsageError(f"{path}: the policy must be a JSON object of field names and numbers, got {type(raw).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = set(raw) - set(known)
        if unknown:
            raise UsageError(f"{path}: unknown policy keys {sorted(unknown)}; known: {sorted(known)}")
        # Every field, present and future, is checked the same way: a finite number within its range. NaN would
        # silently switch off every comparison it takes part in (the abstentions among them).
        values = {}
        for name, value in raw.items():
            # The range follows the fields' naming: a `..._margin` is a logit difference (50 is already P = 1 - 2e-22);
            # every other field is a probability, a spread or a similarity.
            low, high = (0.0, 50.0) if name.endswith("_margin") else (0.0, 1.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
                raise UsageError(f"{path}: policy field '{name}' must be a number from {low:g} to {high:g}, got {shown}")
            values[name] = float(value)
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TierDecision:
    tier: str
    reasons: list[str]


def decide_tier(
    policy: TierPolicy, *, safety: float, capabilities: float, hazard: float, safety_std: float, capabilities_std: float,
    hazard_std: float, differential: float, labelled_similarity: float, max_passage_capabilities: float | None = None,
    max_passage_hazard: float | None = None,
) -> TierDecision:
    """Never a confident guess, never a hazard waved through.

    Out-of-distribution or disagreeing ensembles abstain to review. A hazardous document (or passage) is never
    published, whatever its safety score. Work with no capability or hazard content publishes without a review.
    """
    hazardous = hazard >= policy.hazard or (max_passage_hazard is not None and max_passage_hazard >= policy.passage_hazard)
    decision = _base_tier(
        policy, safety=safety, capabilities=capabilities, hazard=hazard, safety_std=safety_std, capabilities_std=capabilities_std,
        differential=differential, labelled_similarity=labelled_similarity, max_passage_capabilities=max_passage_capabilities,
        hazardous=hazardous,
    )
    if hazardous:
        return TierDecision(REVIEW if decision.tier == PUBLISH else decision.tier, ["misuse-hazard", *decision.reasons])
    # Hazard has few training examples, so its spread is wide; a group may ask whether the spread reaches the line.
    # At hazard_spread 0 this can never hold: a document at or over the line was returned above.
    if decision.tier == PUBLISH and hazard + policy.hazard_spread * hazard_std >= policy.hazard:
        return TierDecision(REVIEW, ["uncertain-hazard", *decision.reasons])
    return decision


def _base_tier(
    policy: TierPolicy, *, safety: float, capabilities: float, hazard: float, safety_std: float, capabilities_std: float,
    differential: float, labelled_similarity: float, max_passage_capabilities: float | None, hazardous: bool,
) -> TierDecision:
    passage_heavy = max_passage_capabilities is not None and max_passage_capabilities >= policy.passage_capabilities
    nothing_to_withhold = capabilities < policy.no_capability and hazard < policy.no_capability and not passage_heavy and not hazardous
    # With nothing to withhold, safety's spread cannot change the tier: safety work or societal, it publishes.
    std = capabilities_std if nothing_to_withhold else max(safety_std, capabilities_std)
    reasons: list[str] = []
    if labelled_similarity < policy.min_labelled_similarity:
        reasons.append("out-of-distribution")
    if std > policy.max_std:
        reasons.append("uncertain")
    if reasons:
        return TierDecision(REVIEW, reasons)
    if differential >= policy.publish_margin and safety >= policy.min_relevance and capabilities < policy.max_other_axis:
        if passage_heavy:
            return TierDecision(REVIEW, ["capability-passage"])
        return TierDecision(PUBLISH, ["safety-dominant"])
    if differential <= -policy.restrict_margin and capabilities >= policy.min_relevance and safety < policy.max_other_axis:
        return TierDecision(RESTRICT, ["capability-dominant"])
    if nothing_to_withhold:
        return TierDecision(PUBLISH, ["no-capability-content"])
    if safety >= policy.min_relevance and capabilities >= policy.min_relevance:
        return TierDecision(REVIEW, ["dual-use"])
    if safety < policy.min_relevance and capabilities < policy.min_relevance:
        return TierDecision(REVIEW, ["low-relevance"])
    return TierDecision(REVIEW, ["mixed"])
