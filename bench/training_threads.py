"""Training the default probe: BLAS threads, heads fitted at once, the area facets' cost, and the vote's search.

Usage: .venv/bin/python bench/training_threads.py [--reps 3]

It builds the default training set as a new workspace does (the seed, the shipped label vectors), then trains the
default probe `--reps` times in each configuration, interleaved so load drift hits all alike, and reports the median
wall time, the ratios, and how far the probes' scores of the seed texts lie apart (with other BLAS threads the
solver stops within its tolerance at a slightly different point; fitting heads at once changes nothing). It also
times the neighbour vote of one cross-fitting fold both ways: the exact FAISS search training uses, and the full
similarity matrix with a partial sort that scoring uses.
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
SHIPPED = "one BLAS thread, heads fitted two at a time (shipped)"
ONE_AT_A_TIME = "one BLAS thread, one head at a time"
LIBRARY_BLAS = "the library's BLAS threads, one head at a time"
NO_FACETS = "shipped, but one safety head (no area facets)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="trainings in each configuration (default 3)")
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
    configs = {
        SHIPPED: TrainingConfig(), ONE_AT_A_TIME: TrainingConfig(fit_threads=1),
        LIBRARY_BLAS: TrainingConfig(fit_threads=1, blas_threads=None), NO_FACETS: TrainingConfig(facet_axes=()),
    }
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    probes = {}
    for _ in range(args.reps):
        for name, config in configs.items():
            started = time.perf_counter()
            probes[name] = train_probe_set(data, embedder_id=embedder.model_id, label_set={}, config=config)
            seconds[name].append(time.perf_counter() - started)
            print(f"{name}: {seconds[name][-1]:.1f} s", flush=True)
    vote = _vote_seconds(data, args.reps)

    assert data.texts is not None and data.pools is not None
    seed_rows = np.array([t is not None for t in data.texts]) & (data.pools == 0)
    texts = [t for t, keep in zip(data.texts, seed_rows) if keep]
    scores = {name: probe.predict(data.vectors[seed_rows], texts).mean for name, probe in probes.items()}
    heads = list(probes[SHIPPED].heads)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    lines = [
        "## Training the default probe: threads, facets and the vote's search",
        "",
        f"Command: `{COMMAND} --reps {args.reps}` on {machine()}; BLAS: {blas}. The default training set as a new workspace "
        f"builds it ({len(data.vectors):,} rows), trained {args.reps} times in each configuration, interleaved. Wall time, median (min–max):",
        "",
        "| configuration | seconds |",
        "|---|---|",
    ]
    for name, values in seconds.items():
        lines.append(f"| {name} | {spread(values)} |")
    lines += [
        "",
        f"Ratios of the medians: heads two at a time {median[ONE_AT_A_TIME] / median[SHIPPED]:.2f}x faster than one at a time; "
        f"one BLAS thread {median[LIBRARY_BLAS] / median[ONE_AT_A_TIME]:.2f}x faster than the library's threads (one head at a time); "
        f"the area facets cost {median[SHIPPED] / median[NO_FACETS]:.2f}x.",
        "",
        f"The vote of one fold ({vote['queries']:,} rows against {vote['anchors']:,} anchors, {args.reps} runs each, interleaved): "
        f"exact FAISS search {spread(vote['faiss'])} s, full similarity matrix and partial sort {spread(vote['matrix'])} s "
        f"({statistics.median(vote['matrix']) / statistics.median(vote['faiss']):.2f}x); largest difference of the votes {vote['difference']:.1e}.",
        "",
        f"Each configuration's scores of the seed's {len(texts):,} label texts (summaries and titles; P per axis) against the shipped one:",
        "",
        "| configuration | axis | median abs. difference | largest | texts moved by more than 0.05 |",
        "|---|---|---|---|---|",
    ]
    for name in (ONE_AT_A_TIME, LIBRARY_BLAS, NO_FACETS):
        for axis in AXES:
            diff = np.abs(scores[name][:, heads.index(axis)] - scores[SHIPPED][:, heads.index(axis)])
            lines.append(f"| {name} | {axis} | {np.median(diff):.4f} | {diff.max():.3f} | {int((diff > 0.05).sum())} |")
    markdown = "\n".join(lines)
    write_section("training-threads", markdown)
    print(markdown)
    return 0


def _vote_seconds(data, reps: int) -> dict:
    """One cross-fitting fold's vote, through FAISS and through the full similarity matrix."""
    from models.probes import neighbour_vote

    fold = np.random.default_rng(0).permutation(len(data.vectors)) % 5 == 0
    queries = data.vectors[fold]
    anchors = data.anchor_rows[~fold[data.anchor_rows]]
    x, labels = data.vectors[anchors], data.labels[anchors]
    out: dict = {"faiss": [], "matrix": [], "queries": len(queries), "anchors": len(anchors)}
    for _ in range(reps):
        started = time.perf_counter()
        searched = neighbour_vote(queries, x, labels)
        out["faiss"].append(time.perf_counter() - started)
        started = time.perf_counter()
        full = neighbour_vote(queries, x, labels, sims=queries @ x.T)
        out["matrix"].append(time.perf_counter() - started)
    out["difference"] = float(np.abs(searched - full).max())
    return out


if __name__ == "__main__":
    sys.exit(main())
