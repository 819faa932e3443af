"""The tier policy: clear calls only when the evidence is clear, abstention otherwise."""

from __future__ import annotations

import pytest

from triage.errors import UsageError
from triage.policy import TierPolicy, decide_tier

POLICY = TierPolicy()
CLEAR = dict(safety_std=0.01, capabilities_std=0.01, hazard_std=0.01, labelled_similarity=0.6)
NO_HAZARD = dict(CLEAR, hazard=0.02)


def _logit(p):
    import math

    return math.log(p / (1 - p))


@pytest.mark.parametrize(
    "safety, capabilities, tier, reason",
    [
        (0.95, 0.05, "publish", "safety-dominant"),
        (0.05, 0.95, "restrict", "capability-dominant"),
        (0.9, 0.8, "review", "dual-use"),
        (0.2, 0.3, "review", "low-relevance"),
        (0.6, 0.45, "review", "mixed"),
        (0.3, 0.05, "publish", "no-capability-content"),
    ],
)
def test_tiers(safety, capabilities, tier, reason):
    decision = decide_tier(POLICY, safety=safety, capabilities=capabilities, differential=_logit(safety) - _logit(capabilities), **NO_HAZARD)
    assert (decision.tier, decision.reasons) == (tier, [reason])


def test_disagreeing_ensemble_abstains():
    decision = decide_tier(
        POLICY, safety=0.05, capabilities=0.95, hazard=0.02, differential=-5.9, safety_std=0.3, capabilities_std=0.01, hazard_std=0.01,
        labelled_similarity=0.6,
    )
    assert decision.tier == "review" and decision.reasons == ["uncertain"]


def test_a_safety_spread_does_not_hold_work_with_nothing_to_withhold():
    """Societal work scored low on capabilities and hazard publishes whether it is read as safety or not, so only the
    capabilities spread can make it uncertain."""
    low = dict(safety=0.02, capabilities=0.01, hazard=0.01, differential=_logit(0.02) - _logit(0.01), hazard_std=0.01, labelled_similarity=0.6)
    decision = decide_tier(POLICY, safety_std=0.3, capabilities_std=0.01, **low)
    assert decision.tier == "publish" and decision.reasons == ["no-capability-content"]
    decision = decide_tier(POLICY, safety_std=0.01, capabilities_std=0.15, **low)
    assert decision.tier == "review" and decision.reasons == ["uncertain"]
    near_the_line = dict(low, capabilities=0.25, differential=_logit(0.02) - _logit(0.25))
    assert decide_tier(POLICY, safety_std=0.3, capabilities_std=0.01, **near_the_line).reasons == ["uncertain"]


def test_far_from_labelled_data_abstains():
    decision = decide_tier(POLICY, safety=0.95, capabilities=0.05, differential=5.9, **dict(NO_HAZARD, labelled_similarity=0.1))
    assert decision.tier == "review" and "out-of-distribution" in decision.reasons


def test_a_capability_heavy_passage_keeps_a_draft_out_of_publish():
    decision = decide_tier(POLICY, safety=0.95, capabilities=0.05, differential=5.9, max_passage_capabilities=0.95, **NO_HAZARD)
    assert decision.tier == "review" and decision.reasons == ["capability-passage"]


def test_a_hazardous_document_is_never_published_however_safe_it_reads():
    decision = decide_tier(POLICY, safety=0.97, capabilities=0.05, hazard=0.95, differential=6.4, **CLEAR)
    assert decision.tier == "review" and decision.reasons == ["misuse-hazard", "safety-dominant"]


def test_a_hazardous_passage_is_enough_to_hold_a_safe_draft():
    decision = decide_tier(POLICY, safety=0.97, capabilities=0.05, hazard=0.1, differential=6.4, max_passage_hazard=0.995, **CLEAR)
    assert decision.tier == "review" and decision.reasons[0] == "misuse-hazard"


def test_hazard_keeps_a_stricter_tier_and_says_why():
    decision = decide_tier(POLICY, safety=0.05, capabilities=0.95, hazard=0.9, differential=-5.9, **CLEAR)
    assert decision.tier == "restrict" and decision.reasons == ["misuse-hazard", "capability-dominant"]


def test_hazard_is_flagged_even_when_the_ensemble_abstains():
    decision = decide_tier(POLICY, safety=0.5, capabilities=0.5, hazard=0.95, differential=0.0, **dict(CLEAR, labelled_similarity=0.1))
    assert decision.tier == "review" and decision.reasons == ["misuse-hazard", "out-of-distribution"]


def test_a_hazard_spread_that_reaches_the_line_holds_a_publish_when_the_group_asks():
    below = POLICY.hazard - 0.1  # one spread (0.2) reaches the line
    decision = decide_tier(TierPolicy(hazard_spread=1.0), safety=0.97, capabilities=0.05, hazard=below, differential=6.4, **dict(CLEAR, hazard_std=0.2))
    assert decision.tier == "review" and decision.reasons == ["uncertain-hazard", "safety-dominant"]


def test_societal_work_with_no_capability_or_hazard_content_publishes():
    decision = decide_tier(POLICY, safety=0.1, capabilities=0.05, hazard=0.03, differential=_logit(0.1) - _logit(0.05), **CLEAR)
    assert decision.tier == "publish" and decision.reasons == ["no-capability-content"]


def test_policy_file_overrides_and_rejects_unknown_keys(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"publish_margin": 2.5}')
    assert TierPolicy.load(path).publish_margin == 2.5
    path.write_text('{"publish_margn": 2.5}')
    with pytest.raises(UsageError, match="unknown policy keys"):
        TierPolicy.load(path)
    path.write_text("{oops")
    with pytest.raises(UsageError, match="not valid JSON"):
        TierPolicy.load(path)


def test_by_default_a_hazard_spread_below_the_line_does_not_hold_a_publish():
    decision = decide_tier(POLICY, safety=0.97, capabilities=0.05, hazard=POLICY.hazard - 0.1, differential=6.4, **dict(CLEAR, hazard_std=0.2))
    assert decision.tier == "publish" and decision.reasons == ["safety-dominant"]
