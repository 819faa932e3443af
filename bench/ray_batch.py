"""Benchmark `triage batch --engine ray` against the in-process engine on the same abstracts, side by side.

Usage: .venv/bin/python bench/ray_batch.py [--size 10000] [--model default] [--out bench/out/ray_batch.md]
(also reached as `bench/batch.py --engine ray`).

Both engines run as separate `python -m triage batch` processes on copies of one prepared workspace (seed indexed,
probe trained, ONNX export made), one after the other, on the first `--size` records of the shared sample. The Ray
run starts its own local Ray (all of this machine's CPUs). It also prints the sizing table for the 2.7M-paper arXiv
snapshot from the measured CPU rate; the GPU row stays "not measured" unless `--gpu-docs-per-s` gives a figure
measured with bench/gpu.sh.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.batch import OUT, SAMPLE, batch_cmd, convert, fresh, measured, prepare_base, summary  # noqa: E402

SNAPSHOT_PAPERS = 2_700_000


def sizing(per_node: float, label: str) -> list[str]:
    """Rows of nodes needed (and hours on one node) for the snapshot at `per_node` papers/s."""
    hours_one = SNAPSHOT_PAPERS / per_node / 3600
    return [
        f"| {label} | {per_node:.1f} | {hours_one:.1f} | {math.ceil(hours_one)} | {math.ceil(hours_one / 6)} |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--model", default="default")
    parser.add_argument("--partition-size", type=int, default=500)
    parser.add_argument("--gpu-docs-per-s", type=float, default=None)
    parser.add_argument("--out", type=Path, default=OUT / "ray_batch.md")
    args = parser.parse_args(argv)
    if not SAMPLE.is_file():
        print(f"skipped: the shared sample is not here ({SAMPLE})")
        return 0
    work = OUT / "ray-batch-work" / args.model.replace("/", "_")
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    base, setup_s = prepare_base(work, args.model)
    data = convert(work, args.size)
    # Export the ONNX model once into the base (ten papers), so neither timed run pays for it.
    measured(batch_cmd(base, args.model, convert(work, 10), work / "warm.jsonl"), work / "warm.json")
    rows = {}
    for engine in ("in-process", "ray"):
        home = fresh(base, f"ws-{engine}")
        extra = ["--engine", "ray", "--partition-size", str(args.partition_size)] if engine == "ray" else []
        log = work / f"{engine}.json"
        run = measured(batch_cmd(home, args.model, data, work / f"scores-{engine}.parquet", *extra), log)
        rows[engine] = {**run, **summary(log)}
        print(f"{engine}: {run}", flush=True)
    load_after = os.getloadavg()
    inproc, ray = rows["in-process"], rows["ray"]
    ratio = ray["wall_s"] / inproc["wall_s"]
    cpu_rate = ray["scored"] / ray["wall_s"]
    command = f"cd {shlex.quote(str(ROOT))} && .venv/bin/python bench/ray_batch.py --size {args.size} --model {args.model}"
    md = [
        "## `triage batch --engine ray` vs in-process (issue 14)",
        "",
        f"Command: `{command}`",
        "",
        f"Data: first {args.size:,} records of `{SAMPLE.relative_to(ROOT.parent)}`. Machine: {os.cpu_count()} CPUs, shared; "
        f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}. Setup (not timed): {setup_s:.0f} s.",
        "",
        "| engine | papers | wall s | in-run s | docs/s (wall) | new embeddings | peak RSS MiB (driver) | rc |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, row in rows.items():
        md.append(
            f"| {engine} | {row['scored']} | {row['wall_s']:.1f} | {row['seconds']:.1f} | {row['scored'] / row['wall_s']:.1f} | "
            f"{row['new_embeddings']} | {row['max_rss_mib']:.0f} | {row['rc']} |"
        )
    md += [
        "",
        f"Ray / in-process wall time: **{ratio:.2f}x** (target at most 1.25x). The Ray wall time includes starting a local",
        "Ray, its actors loading the model, and the import of papers and vectors into the workspace at the end.",
        "",
        "### Sizing for the 2.7M-paper snapshot",
        "",
        "| node | papers/s per node | hours on 1 node | nodes for 1 h | nodes for 6 h |",
        "|---|---:|---:|---:|---:|",
        *sizing(cpu_rate, f"CPU, {os.cpu_count()} cores (measured above, Ray engine)"),
        *(sizing(args.gpu_docs_per_s, "1 GPU (bench/gpu.sh)") if args.gpu_docs_per_s else
          ["| 1 GPU, torch fp16 | not measured | not measured | not measured | not measured |"]),
        "",
        "Nodes scale the embedding stage; the scoring stage's exact prior-work search grows with the run squared",
        "(see docs/SCALE.md) and the driver's reading and writing do not scale with nodes.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
