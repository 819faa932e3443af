"""The review app with a 500-draft queue: first paint, key latency, and keys while the queue is scored in the background.

Usage: .venv/bin/python bench/review_scale.py [--drafts 500] [--reps 3] [--embedder fake|bundled] [--json OUT]
           [--before OLD.json] [--write-docs]

Drafts are generated (a few paragraphs each, distinct text) and queued in a fresh workspace. Each figure is the
median over --reps fresh app runs (Textual's headless driver, 120x40) of the medians within a run:
- first paint, reopened: app start until the queue shows every row, with every item's scores cached (a reopened
  session); and new: the same with no score yet (the first launch on a new queue).
- key to frame: a key event is posted to the app, and the figure is the time until the first frame painted with
  its effect (the cursor on the next row, the filter applied, ...). The detail pane (evidence and text) is timed
  the same way, up to the frame that shows the new item's text. Keys are pressed one at a time, 0.25 s apart.
  Holding a key: 30 presses of down at 30 a second (a terminal's key repeat), timed from the last press to the
  frame with the cursor on the last row it moved to.
- Pilot: `pilot.press` until Textual reports the app idle, the measure of the first version of this bench. It
  waits for the whole process's CPU to go quiet, so it includes Pilot's own waits (a bare 500-row DataTable app
  is measured as the floor) and says nothing while a scoring thread keeps the CPU busy.
- scoring: the whole queue is scored in a background worker in batches (--embedder fake: FakeEmbedder, pure
  Python, no weights; bundled: the bundled MiniLM through ONNX Runtime); key to frame is measured meanwhile, and
  the progress lines the status bar showed are counted.

--json writes the figures; --before reads such a file from a run on other code and shows it side by side;
--write-docs replaces the `review-scale` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = "attention kernel sparse routing safety probe circuit evaluation jailbreak agent robustness scaling data".split()
GAP = 0.25  # seconds between timed key presses: each is a single press, not a held key


def make_drafts(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(120)]
        body = "\n\n".join(" ".join(words[k : k + 40]) + f" (draft {i}, part {k})." for k in range(0, 120, 40))
        path = folder / f"draft_{i:03d}.md"
        path.write_text(f"# Generated draft {i}: {words[0]} and {words[1]}\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


class Frames:
    """Timestamps the frames the screen paints, and resolves waits on the first frame painted in a given state."""

    def __init__(self, app) -> None:
        self.waits: list[tuple[Callable[[], bool], asyncio.Future]] = []
        screen = app.screen
        original = screen._compositor_refresh

        def painted() -> None:
            original()
            now = time.perf_counter()
            for condition, future in list(self.waits):
                if not future.done() and condition():
                    future.set_result(now)
                    self.waits.remove((condition, future))

        screen._compositor_refresh = painted

    def wait(self, condition: Callable[[], bool]) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waits.append((condition, future))
        return future


def _key_event(key: str):
    from textual import events

    return events.Key(key, key if len(key) == 1 else ("\x1b" if key == "escape" else None))


async def key_to_frame(app, frames: Frames, key: str, done: Callable[[], bool], detail: Callable[[], bool] | None = None) -> tuple[float, float | None]:
    """Post `key`; seconds until the first frame painted with `done()` true (and with `detail()` true, if given)."""
    shown = frames.wait(done)
    follows = frames.wait(detail) if detail is not None else None
    started = time.perf_counter()
    app.post_message(_key_event(key))
    first = await asyncio.wait_for(shown, 30)
    second = await asyncio.wait_for(follows, 30) if follows is not None else None
    return first - started, (second - started if second is not None else None)


async def _press_times(pilot, keys: list[str]) -> list[float]:
    times = []
    for key in keys:
        started = time.perf_counter()
        await pilot.press(key)
        times.append(time.perf_counter() - started)
    return times


def _cursor_at(main, row: int) -> Callable[[], bool]:
    return lambda: main.table.cursor_row == row


def _text_shown(main) -> Callable[[], bool]:
    def check() -> bool:
        shown = getattr(main, "_shown_text", None)
        return shown is not None and shown[0] == main.table.selected_id

    return check


async def _downs(app, frames: Frames, count: int) -> tuple[list[float], list[float], int]:
    """`count` single presses of down; the key-to-frame and detail times, and how many were pressed while scoring."""
    main = app.main
    cursor, detail, busy = [], [], 0
    for _ in range(count):
        busy += bool(app.model_busy)
        target = min(main.table.cursor_row + 1, main.table.row_count - 1)
        moved, follows = await key_to_frame(app, frames, "down", _cursor_at(main, target), _text_shown(main))
        cursor.append(moved)
        detail.append(follows or 0.0)
        await asyncio.sleep(GAP)
    return cursor, detail, busy


async def _held(app, frames: Frames, count: int = 30, rate: float = 30.0) -> float:
    """Key repeat: `count` downs at `rate` a second; seconds from the last press to the frame with the cursor there."""
    main = app.main
    target = min(main.table.cursor_row + count, main.table.row_count - 1)
    reached = frames.wait(_cursor_at(main, target))
    for _ in range(count):
        app.post_message(_key_event("down"))
        last = time.perf_counter()
        await asyncio.sleep(1 / rate)
    return await asyncio.wait_for(reached, 60) - last


async def one_run(workspace, session: str, *, embedder=None, pilot_keys: bool = True) -> dict[str, object]:
    from tui.app import build_app

    factory = (lambda: embedder) if embedder is not None else None
    app = build_app(workspace, factory, session, "bench", [], cursor_blink=False)
    started = time.perf_counter()
    figures: dict[str, object] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.main
        while not (main.loaded and main.table.row_count == len(main.entries) > 0):
            await pilot.pause(0.005)
        figures["first_paint"] = time.perf_counter() - started
        frames = Frames(app)
        if embedder is not None:
            progress: list[str] = []

            async def watch() -> None:
                while app.model_busy:
                    if main.status.activity.startswith("scoring") and main.status.activity not in progress:
                        progress.append(main.status.activity)
                    await asyncio.sleep(0.02)

            watcher = asyncio.create_task(watch())
            while app.model_busy and not (progress and "/" in progress[-1] and not progress[-1].endswith(" 0/" + str(len(main.entries)))):
                await asyncio.sleep(0.02)  # the model is loaded and the first batch is being scored
            cursor, detail, busy = await _downs(app, frames, 20)
            figures["cursor_while_scoring"] = statistics.median(cursor)
            figures["detail_while_scoring"] = statistics.median(detail)
            figures["keys_while_busy"] = busy  # of 20: pressed while scoring was still running
            await watcher
            figures["scoring"] = time.perf_counter() - started
            figures["progress_lines"] = len(progress)
            figures["progress_seen"] = progress[:3] + progress[-2:]
            figures["done_line"] = main.status.activity
            return figures
        await pilot.pause(0.3)
        cursor, detail, _ = await _downs(app, frames, 30)
        figures["cursor"], figures["cursor_detail"] = statistics.median(cursor), statistics.median(detail)
        ends = []
        for key in ["end", "home"] * 5:
            target = main.table.row_count - 1 if key == "end" else 0
            ends.append((await key_to_frame(app, frames, key, _cursor_at(main, target)))[0])
            await asyncio.sleep(GAP)
        figures["home_end"] = statistics.median(ends)
        tiers, clears = [], []
        for _ in range(5):
            tier = main.tier
            tiers.append((await key_to_frame(app, frames, "t", lambda: main.tier != tier))[0])  # noqa: B023 (awaited here)
            await asyncio.sleep(GAP)
            if main.filters:
                clears.append((await key_to_frame(app, frames, "escape", lambda: not main.filters))[0])
                await asyncio.sleep(GAP)
        figures["filter"], figures["clear"] = statistics.median(tiers), statistics.median(clears)
        await pilot.pause(0.3)
        figures["held"] = await _held(app, frames)
        await pilot.pause(0.3)
        if pilot_keys:
            figures["pilot_cursor"] = statistics.median(await _press_times(pilot, ["down"] * 20))
            figures["pilot_home_end"] = statistics.median(await _press_times(pilot, ["end", "home"] * 4))
            figures["pilot_filter"] = statistics.median(await _press_times(pilot, ["t"] * 8))
            figures["pilot_clear"] = statistics.median((await _press_times(pilot, ["t", "escape"] * 4))[1::2])
    return figures


async def pilot_floor(rows: int) -> float:
    """`pilot.press("down")` on a bare app with a plain DataTable of `rows` rows: what Pilot's waits cost by themselves."""
    from textual.app import App
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self):
            yield DataTable(cursor_type="row")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("State", "Tier", "Title")
            for i in range(rows):
                table.add_row("pending", "REVIEW", f"Generated draft {i}")
            table.focus()

    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        return statistics.median(await _press_times(pilot, ["down"] * 20))


ROWS = [
    ("first paint, reopened session (all scores cached)", "reopened", "first_paint", "s"),
    ("first paint, new queue (no scores yet)", "new", "first_paint", "s"),
    ("cursor down: key to frame", "reopened", "cursor", "ms"),
    ("cursor down: detail pane (evidence and text) follows", "reopened", "cursor_detail", "ms"),
    ("holding down (30 keys at 30/s): last key to frame", "reopened", "held", "ms"),
    ("Home / End: key to frame", "reopened", "home_end", "ms"),
    ("tier filter (`t`): key to frame", "reopened", "filter", "ms"),
    ("clear all filters (`esc`): key to frame", "reopened", "clear", "ms"),
    ("cursor down while scoring: key to frame", "scoring", "cursor_while_scoring", "ms"),
    ("cursor down while scoring: detail pane follows", "scoring", "detail_while_scoring", "ms"),
    ("scoring the queue in the background, start to done", "scoring", "scoring", "s"),
    ("progress lines seen while scoring", "scoring", "progress_lines", ""),
    ("Pilot, press until idle: cursor down", "reopened", "pilot_cursor", "ms"),
    ("Pilot, press until idle: Home / End", "reopened", "pilot_home_end", "ms"),
    ("Pilot, press until idle: tier filter", "reopened", "pilot_filter", "ms"),
    ("Pilot, press until idle: clear filters", "reopened", "pilot_clear", "ms"),
    ("Pilot floor: bare 500-row DataTable app, cursor down", "floor", "pilot_floor", "ms"),
]


def medians(runs: dict[str, list[dict]]) -> dict[str, float]:
    out = {}
    for _, kind, key, _ in ROWS:
        values = [float(r[key]) for r in runs.get(kind, []) if key in r]
        if values:
            out[f"{kind}.{key}"] = statistics.median(values)
    return out


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value * 1000:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--embedder", choices=("fake", "bundled"), default="fake")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--before", type=Path, help="figures (--json) of a run on earlier code, shown beside these")
    parser.add_argument("--before-label", default="before")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    from corpus import reviews
    from tests.review_helpers import seed_snapshot_session
    from triage.review import ReviewSession
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    load_start = os.getloadavg()
    began = time.time()
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

    def embedder():
        if args.embedder == "fake":
            from models.embedders import FakeEmbedder

            return FakeEmbedder(dim=64)
        from models.embedders import make_embedder

        return make_embedder("default", device="cpu", backend="onnx", cache_dir=home / "onnx")

    runs: dict[str, list[dict]] = {"reopened": [], "new": [], "scoring": [], "floor": []}
    for rep in range(args.reps):
        runs["reopened"].append(asyncio.run(one_run(workspace, "reopened")))
        runs["new"].append(asyncio.run(one_run(workspace, "new", pilot_keys=False)))
        scoring = ReviewSession.open(workspace, f"scoring-{rep}")
        scoring.queue_drafts(drafts)
        runs["scoring"].append(asyncio.run(one_run(workspace, f"scoring-{rep}", embedder=embedder())))
        runs["floor"].append({"pilot_floor": asyncio.run(pilot_floor(args.drafts))})
    load_end = os.getloadavg()

    figures = medians(runs)
    before = json.loads(args.before.read_text())["medians"] if args.before else {}
    label = args.before_label
    print(f"{args.drafts} drafts, {args.reps} runs each, medians; load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end")
    for name, kind, key, unit in ROWS:
        old = f"   ({label}: {fmt(before.get(f'{kind}.{key}'), unit)})" if before else ""
        print(f"  {name:<58} {fmt(figures.get(f'{kind}.{key}'), unit):>9}{old}")
    scoring_runs = runs["scoring"]
    busy = sum(int(r.get("keys_while_busy", 0)) for r in scoring_runs)
    print(f"  keys timed while scoring was still running: {busy} of {20 * len(scoring_runs)}")
    print(f"  progress lines (run 1): {scoring_runs[0]['progress_seen']} → done: {scoring_runs[0]['done_line']!r}")
    if args.json:
        args.json.write_text(json.dumps({"medians": figures, "runs": runs, "load": [load_start, load_end]}, indent=1, default=str))
    if args.write_docs:
        write_docs(args, figures, before, label, load_start, load_end, began, busy, scoring_runs)


def write_docs(args, figures, before, label, load_start, load_end, began, busy, scoring_runs) -> None:
    from bench.report import machine, write_section

    embedder = "FakeEmbedder (pure Python, no weights)" if args.embedder == "fake" else "the bundled MiniLM through ONNX Runtime"
    header = f"| measurement | {label} | now |\n| --- | --- | --- |" if before else "| measurement | median |\n| --- | --- |"
    lines = []
    for name, kind, key, unit in ROWS:
        now = fmt(figures.get(f"{kind}.{key}"), unit)
        lines.append(f"| {name} | {fmt(before.get(f'{kind}.{key}'), unit)} | {now} |" if before else f"| {name} | {now} |")
    command = f"bench/review_scale.py --drafts {args.drafts} --reps {args.reps} --embedder {args.embedder}"
    markdown = f"""## Review app with {args.drafts} drafts (issue 13)

Command: `{command}`{f' (the {label} column: the same bench on the earlier code, `--json`, read with `--before`)' if before else ''}

Machine: {machine()}; load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end (other jobs share these
cores). Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(began))}, {(time.time() - began) / 60:.0f} min in all.

{args.drafts} generated drafts (three paragraphs each) queued in a fresh workspace; each figure is the median of
{args.reps} fresh app runs (Textual's headless driver, 120x40) of the medians within a run. "Key to frame": a key
event is posted to the app, and the time runs to the first frame painted with its effect; keys are single presses
0.25 s apart. "Detail pane follows": the same press, up to the frame that shows the new item's evidence and text.
Scoring uses {embedder}; of the {20 * len(scoring_runs)} presses timed while scoring, {busy} came before it was done.
"Pilot, press until idle" is the first version of this bench's measure: it waits until the whole process's CPU
goes quiet, so its floor is Pilot's own waits (last row), and while a scoring thread keeps the CPU busy it only
measures Pilot's one-second cap (the 1.91 s "cursor while scoring" of the first run was that cap, twice).

{header}
{chr(10).join(lines)}

Progress line while scoring (run 1, first and last seen): {', '.join(f'`{p}`' for p in scoring_runs[0]['progress_seen'])};
at the end: `{scoring_runs[0]['done_line']}`.
"""
    write_section("review-scale", markdown)


if __name__ == "__main__":
    main()
