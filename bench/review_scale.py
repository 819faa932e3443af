"""The review app with a 500-draft queue: first paint, cursor and filter latency, and background scoring in batches.

Usage: .venv/bin/python bench/review_scale.py [--drafts 500] [--reps 5]

Drafts are generated (a few paragraphs each, distinct text) and queued in a fresh workspace. Each figure is the
median over --reps fresh app runs (Textual's headless driver, 120x40):
- first paint, reopened: app start until the queue shows every row, with every item's scores cached (a reopened
  session); and new: the same with no score yet (the first launch on a new queue).
- key latency: a Pilot key press until the app is idle again (cursor down, Home/End, a tier filter, esc), medians
  over many presses.
- scoring: the test embedder (FakeEmbedder, no model weights) scores the whole queue in a background worker in
  batches; the figure is wall time to the last batch and the number of progress lines posted. Its point is that the
  keys stay responsive meanwhile: cursor latency is measured again while scoring runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = "attention kernel sparse routing safety probe circuit evaluation jailbreak agent robustness scaling data".split()


def make_drafts(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(120)]
        body = "\n\n".join(" ".join(words[k : k + 40]) + f" (draft {i}, part {k})." for k in range(0, 120, 40))
        path = folder / f"draft_{i:03d}.md"
        path.write_text(f"# Generated draft {i}: {words[0]} and {words[1]}\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


async def _press_times(pilot, app, keys: list[str]) -> list[float]:
    times = []
    for key in keys:
        started = time.perf_counter()
        await pilot.press(key)
        times.append(time.perf_counter() - started)
    return times


async def one_run(workspace, session: str, *, embedder=None) -> dict[str, object]:
    from tui.app import build_app

    factory = (lambda: embedder) if embedder is not None else None
    app = build_app(workspace, factory, session, "bench", [], cursor_blink=False)
    started = time.perf_counter()
    figures: dict[str, object] = {}
    progress: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not (app.main.loaded and app.main.table.row_count == len(app.main.entries) > 0):
            await pilot.pause(0.005)
        figures["first_paint"] = time.perf_counter() - started
        if embedder is not None:
            figures["cursor_while_scoring"] = statistics.median(await _press_times(pilot, app, ["down"] * 30))
            while app.model_busy:
                if app.main.status.activity.startswith("scoring") and app.main.status.activity not in progress:
                    progress.append(app.main.status.activity)
                await pilot.pause(0.02)
            figures["scoring"] = time.perf_counter() - started
            figures["progress_lines"] = len(progress)  # distinct "scoring n/500" lines seen while polling
            return figures
        figures["cursor"] = statistics.median(await _press_times(pilot, app, ["down"] * 60))
        figures["home_end"] = statistics.median(await _press_times(pilot, app, ["end", "home"] * 10))
        figures["filter"] = statistics.median(await _press_times(pilot, app, ["t"] * 8))
        figures["clear"] = statistics.median((await _press_times(pilot, app, ["t", "escape"] * 5))[1::2])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    from corpus import reviews
    from models.embedders import FakeEmbedder
    from tests.review_helpers import seed_snapshot_session
    from triage.review import ReviewSession
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    home = Path(tempfile.mkdtemp(prefix="review-scale-"))
    workspace = Workspace.at(home / "ws")
    drafts = make_drafts(home, args.drafts)
    fresh = ReviewSession.open(workspace, "new")
    fresh.queue_drafts(drafts)
    # A reopened session: the same drafts, each with cached scores (the fixed scores the snapshot tests use).
    template = seed_snapshot_session(workspace, "template").queue("x")[0].score
    assert template is not None, "the snapshot session is scored from fixed scores"
    cached = ReviewSession.open(workspace, "reopened")
    with open_store(workspace) as store:
        for item_id in cached.queue_drafts(drafts).items:
            reviews.put_score(store, item_id, probe_version=template.probe_version, embedder_id=template.document.embedder_id, score=template.to_dict())

    runs: dict[str, list[dict]] = {"reopened": [], "new": [], "scoring": []}
    for rep in range(args.reps):
        runs["reopened"].append(asyncio.run(one_run(workspace, "reopened")))
        runs["new"].append(asyncio.run(one_run(workspace, "new")))
        scoring = ReviewSession.open(workspace, f"scoring-{rep}")
        scoring.queue_drafts(drafts)
        runs["scoring"].append(asyncio.run(one_run(workspace, f"scoring-{rep}", embedder=FakeEmbedder(dim=64))))

    def median(kind: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs[kind])

    print(f"{args.drafts} drafts, {args.reps} runs each, medians:")
    print(f"  first paint, reopened (scores cached): {median('reopened', 'first_paint'):.3f} s")
    print(f"  first paint, new queue (no scores):    {median('new', 'first_paint'):.3f} s")
    print(f"  cursor down:                           {median('reopened', 'cursor') * 1000:.1f} ms")
    print(f"  home / end:                            {median('reopened', 'home_end') * 1000:.1f} ms")
    print(f"  tier filter (t):                       {median('reopened', 'filter') * 1000:.1f} ms")
    print(f"  clear all filters (esc):               {median('reopened', 'clear') * 1000:.1f} ms")
    print(f"  cursor down while scoring:             {median('scoring', 'cursor_while_scoring') * 1000:.1f} ms")
    print(f"  scoring the queue (test embedder):     {median('scoring', 'scoring'):.2f} s, {median('scoring', 'progress_lines'):.0f} progress lines")


if __name__ == "__main__":
    main()
