"""Training the default probe with the BLAS library's own thread count and with one thread, side by side.

Usage: .venv/bin/python bench/training_threads.py [--reps 3]

It builds the default training set as a new workspace does (the seed, the shipped label vectors), then trains the
default probe `--reps` times each way, interleaved so load drift hits both alike, and reports the median wall time,
the ratio, and how far the two probes' scores of the seed texts lie apart (the solver stops within its tolerance at
a slightly different point when the order of floating-point sums changes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import machine, spread, write_section  # noqa: E402

COMMAND = ".venv/bin/python bench/training_threads.py"
HOME = ROOT / "bench" / "out" / "training-threads-home"  # an embedding cache: the seed's vectors ship, so this is quick
DEFAULT, ONE = "the library's default", "one BLAS thread (shipped)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="trainings each way (default 3)")
    args = parser.parse_args()

    from threadpoolctl import threadpool_info

    from models.embedders import make_embedder
    from models.probe_training import AXES, TrainingConfig, train_probe_set
    from triage.labels import build_training_set
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    workspace = Workspace.at(HOME)
    embedder = make_embedder(backend="onnx", cache_dir=workspace.onnx_dir)
    with open_store(workspace) as store:
        data, _ = build_training_set(store, embedder)
    blas = ", ".join(f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads by default)" for i in threadpool_info() if i["user_api"] == "blas")
    configs = {DEFAULT: TrainingConfig(blas_threads=None), ONE: TrainingConfig()}
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    probes = {}
    for _ in range(args.reps):
        for name, config in configs.items():
            started = time.perf_counter()
            probes[name] = train_probe_set(data, embedder_id=embedder.model_id, label_set={}, config=config)
            seconds[name].append(time.perf_counter() - started)
            print(f"{name}: {seconds[name][-1]:.1f} s", flush=True)

    assert data.texts is not None and data.pools is not None
    seed_rows = np.array([t is not None for t in data.texts]) & (data.pools == 0)
    texts = [t for t, keep in zip(data.texts, seed_rows) if keep]
    scores = {name: probe.predict(data.vectors[seed_rows], texts).mean for name, probe in probes.items()}
    heads = list(probes[ONE].heads)
    lines = [
        "## Training the default probe: BLAS threads",
        "",
        f"Command: `{COMMAND} --reps {args.reps}` on {machine()}; BLAS: {blas}. The default training set as a new workspace "
        f"builds it ({len(data.vectors):,} rows), trained {args.reps} times each way, interleaved. Wall time, median (min–max):",
        "",
        "| BLAS threads while training | seconds |",
        "|---|---|",
    ]
    for name, values in seconds.items():
        lines.append(f"| {name} | {spread(values)} |")
    lines += [
        "",
        f"Ratio: {statistics.median(seconds[DEFAULT]) / statistics.median(seconds[ONE]):.2f}x faster with one thread. "
        f"The two probes' scores of the seed's {len(texts):,} label texts (summaries and titles; P per axis; the solver stops within its tolerance at a "
        "slightly different point when the order of floating-point sums changes):",
        "",
        "| axis | median abs. difference | largest | texts moved by more than 0.05 |",
        "|---|---|---|---|",
    ]
    for axis in AXES:
        diff = np.abs(scores[DEFAULT][:, heads.index(axis)] - scores[ONE][:, heads.index(axis)])
        lines.append(f"| {axis} | {np.median(diff):.4f} | {diff.max():.3f} | {int((diff > 0.05).sum())} |")
    markdown = "\n".join(lines)
    write_section("training-threads", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
