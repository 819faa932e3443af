"""Shared by the review app tests: waiting for the app to settle, and a session with fixed scores for screenshots."""

from __future__ import annotations

import time
from pathlib import Path

from corpus import reviews
from triage.review import ReviewSession
from triage.review_records import Checklist, ItemScore, PriorDetail
from triage.workspace_data import open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "triage" / "data" / "examples"
SAE = EXAMPLES / "interpretability_sae_draft.md"
FLASHMIX = EXAMPLES / "efficient_training_draft.md"
RED_TEAM = EXAMPLES / "red_team_agent_draft.md"


async def settle(pilot, timeout: float = 120.0) -> None:
    """Wait until nothing is loading, scoring or being written, and the messages that produced are handled."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        quiet = quiet + 1 if pilot.app.is_idle else 0
        if quiet >= 3:
            return
    raise AssertionError(f"the app did not settle in {timeout:.0f}s")


async def burst(pilot, data: str) -> None:
    """Send `data` as a terminal would in one write: parsed into keys, all queued before the app handles any."""
    from textual._xterm_parser import XTermParser

    parser = XTermParser()
    keys = [*parser.feed(data), *parser.feed("")]
    for key in keys:
        key.set_sender(pilot.app)
        pilot.app._driver.send_message(key)
    await settle(pilot)


def screen_text(app) -> str:
    """The screen as plain text, line by line, from its SVG screenshot (what a reviewer would read)."""
    import html
    import re

    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', app.export_screenshot()):
        rows.setdefault(float(match.group(2)), []).append((float(match.group(1)), html.unescape(match.group(3))))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(int(round(x / 12.2))) + text
        lines.append(line.rstrip())
    return "\n".join(lines).replace("\xa0", " ")


def fixed_scores() -> dict[Path, dict]:
    """Hand-made scores, so screenshots do not depend on a trained probe or on floating point."""
    return {
        FLASHMIX: dict(safety=0.08, safety_std=0.03, capabilities=0.93, capabilities_std=0.04, hazard=0.11, hazard_std=0.03, tier="restrict",
                       reasons=["capability-dominant"], areas=[("efficiency", 0.88), ("scaling", 0.81)], drives=(("capabilities",), ("capabilities",), ())),
        SAE: dict(safety=0.91, safety_std=0.05, capabilities=0.22, capabilities_std=0.06, hazard=0.04, hazard_std=0.02, tier="publish",
                  reasons=["safety-dominant"], areas=[("interpretability", 0.94), ("honesty", 0.61)], drives=(("safety",), ("safety", "capabilities"), ())),
        RED_TEAM: dict(safety=0.71, safety_std=0.16, capabilities=0.64, capabilities_std=0.12, hazard=0.61, hazard_std=0.09, tier="review",
                       reasons=["misuse-hazard", "uncertain"], areas=[("agents", 0.72), ("robustness", 0.58)], drives=(("capabilities",), ("safety",), ())),
    }


PRIOR = [
    PriorDetail("2309.08600", "Sparse Autoencoders Find Highly Interpretable Features in Language Models", 0.78, 2023,
                "https://arxiv.org/abs/2309.08600", "Trains sparse autoencoders on a language model's activations and finds more interpretable, monosemantic features than neurons."),
    PriorDetail("2212.03827", "Discovering Latent Knowledge in Language Models Without Supervision", 0.64, 2022,
                "https://arxiv.org/abs/2212.03827", "Finds a direction in activation space that tracks truth, without labels."),
    PriorDetail("2205.14135", "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness", 0.52, 2022,
                "https://arxiv.org/abs/2205.14135", "An IO-aware exact attention algorithm that tiles to reduce memory reads and writes."),
]


def seed_snapshot_session(workspace, name: str = "snap") -> ReviewSession:
    """Three example drafts with fixed scores stored as if a probe had shown them, and one decision by alice."""
    from corpus.readers.drafts import read_document
    from corpus.scores import ScoreRecord
    from triage.scoring import AreaScore, DocumentScore, PassageScore

    review = ReviewSession.open(workspace, name)
    paths = [FLASHMIX, SAE, RED_TEAM]
    ids = review.add_drafts(paths)
    with open_store(workspace) as store:
        for item_id, path in zip(ids, paths):
            spec = fixed_scores()[path]
            document = read_document(path)
            passages = [
                PassageScore(p.start, p.end, p.text, spec["safety"], spec["capabilities"], spec["hazard"], drives=list(drives))
                for p, drives in zip(document.passages, spec["drives"]) if drives
            ]
            score = DocumentScore(
                id=f"draft:{document.content_hash[:12]}", title=document.title,
                scores=ScoreRecord(
                    safety=spec["safety"], safety_std=spec["safety_std"], capabilities=spec["capabilities"],
                    capabilities_std=spec["capabilities_std"], hazard=spec["hazard"], hazard_std=spec["hazard_std"],
                    differential=0.0, tier=spec["tier"], reasons=spec["reasons"], areas=[a for a, _ in spec["areas"]],
                ),
                areas=[AreaScore(a, p, "") for a, p in spec["areas"]], passages=passages, similar=[],
                nearest_labelled=[], notes=[], probe_version="5eed5eed5eed", embedder_id="sentence-transformers/all-MiniLM-L6-v2",
                content_hash=document.content_hash, kind="draft",
            )
            shown = ItemScore(document=score, prior=list(PRIOR), scored_at="2025-01-01T00:00:00+00:00")
            reviews.put_score(store, item_id, probe_version=score.probe_version, embedder_id=score.embedder_id, score=shown.to_dict())
    flashmix = next(e for e in review.queue("alice") if e.item.path == str(FLASHMIX))
    review.decide(flashmix.id, reviewer="alice", state="restrict", rationale="releases kernels for frontier-scale training",
                  checklist=Checklist(capability_uplift=True), shown=flashmix.score)
    return review
