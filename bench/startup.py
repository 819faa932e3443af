"""Start-up as a user feels it: fresh `triage` processes for --help, a model-free command and a cold `triage score`.

Usage: .venv/bin/python bench/startup.py [--reps 7]

Every figure is wall time of a new process, launched from outside, interleaved round-robin so load drift hits all
commands alike. The workspace is prepared first (seed corpus indexed, default probe trained, ONNX export cached), as
it is for a user after the first run; a "cold" score is then a fresh interpreter with the OS file cache warm, on a
draft the embedding cache has never seen (each run adds a unique line to it), so the model really loads and runs.
Baselines measured in the same run: `python -c pass` (the interpreter's floor) and the same score on the torch
backend (sentence-transformers), which is what the ONNX backend replaces on CPU.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import machine, spread, write_section  # noqa: E402

DRAFT = ROOT / "triage" / "data" / "examples" / "interpretability_sae_draft.md"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="fresh processes per command (default 7)")
    args = parser.parse_args()
    triage = [sys.executable, "-m", "triage"]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        draft = Path(tmp) / "draft.md"
        shutil.copy(DRAFT, draft)
        env = {**os.environ, "TRIAGE_HOME": str(home)}
        started = time.perf_counter()
        for backend in ("onnx", "torch"):  # the first run seeds, indexes, exports and trains: not timed
            timed([*triage, "-q", "--backend", backend, "score", str(draft)], env)
        prepare_s = time.perf_counter() - started

        counter = itertools.count()

        def new_draft() -> str:
            """The one-page draft plus a line no earlier run has embedded."""
            path = Path(tmp) / f"draft-{next(counter)}.md"
            path.write_text(draft.read_text(encoding="utf-8") + f"\n\nRevision note {path.stem}.\n", encoding="utf-8")
            return str(path)

        commands = {
            "python -c pass (floor)": lambda: [sys.executable, "-c", "pass"],
            "triage --help": lambda: [*triage, "--help"],
            "triage corpus stats": lambda: [*triage, "corpus", "stats"],
            "triage score draft.md (ONNX, default on CPU)": lambda: [*triage, "score", new_draft()],
            "triage --backend torch score draft.md": lambda: [*triage, "--backend", "torch", "score", new_draft()],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        load_before = os.getloadavg()[0]
        for rep in range(args.reps):
            for name, command in commands.items():
                times[name].append(timed(command(), env))
            print(f"rep {rep + 1}/{args.reps}: " + ", ".join(f"{n.split(' (')[0]} {t[-1]:.2f}" for n, t in times.items()), flush=True)
        load_after = os.getloadavg()[0]

    onnx_score = statistics.median(times["triage score draft.md (ONNX, default on CPU)"])
    targets = {"triage --help": 0.5, "triage corpus stats": 0.5, "triage score draft.md (ONNX, default on CPU)": 3.0}
    rows = []
    for name, values in times.items():
        target = targets.get(name)
        verdict = "" if target is None else ("met" if statistics.median(values) < target else "missed") + f" (< {target} s)"
        rows.append(f"| {name} | {spread(values, 2)} | {statistics.median(values) / onnx_score:.2f}x | {verdict} |")
    words = len(DRAFT.read_text(encoding="utf-8").split())
    markdown = "\n".join([
        "## Start-up (issue 6, target 1)",
        "",
        f"Command: `.venv/bin/python bench/startup.py --reps {args.reps}` on {machine()}; load average {load_before:.1f} before, "
        f"{load_after:.1f} after.",
        "",
        f"Wall seconds of a fresh process, median (min–max) of {args.reps} interleaved runs. The draft is "
        f"`{DRAFT.relative_to(ROOT)}` ({words} words, one page); the workspace was prepared first ({prepare_s:.0f} s: seed "
        "import, index, ONNX export, probe training for both backends), as after a user's first run. "
        "Each `score` run gets a copy of the draft plus a line of its own, so the embedding cache never answers and "
        "the model loads and runs every time. Ratio: against the ONNX `score` in the same run.",
        "",
        "| command | seconds | ratio | target |",
        "|---|---|---|---|",
        *rows,
        "",
    ])
    write_section("startup", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
