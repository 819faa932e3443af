"""Held-out drafts through the real scorer: tiers by group, and the costs of first use.

Run: .venv/bin/python bench/validation_drafts.py [--set v1|v2|v3|v4|v5|v6|v7]
Seven sets, each written for this check by a separate pass that saw neither the seed texts nor the project-written
training items; none of them trains any probe.
- v1, bench/data/validation_drafts/ (36: 12 publish a working attack or uplift, 12 are safety work without hazard,
  6 capabilities, 6 societal). The hazard policy (TierPolicy.hazard, hazard_spread) was chosen after seeing its
  results (0.9, then 0.7 and no spread rule with v2 and the bundled examples), so it is no longer a clean holdout
  for that policy.
- v2, bench/data/validation_drafts_v2/ (30: 12 hazard, 12 safety without hazard chosen as hard near-misses:
  defences, detectors and evaluations that withhold their attack artefacts, 3 capabilities, 3 societal), written
  later and blind; first scored with the probe and policy as they were, and used for no choice before that.
- v3, bench/data/validation_drafts_v3/ (30: 12 hazard of 12 different kinds, 12 safety near-misses including two
  mechanistic-interpretability analyses of ordinary computations, 3 capabilities, 3 societal), written blind by a
  third pass that read only docs/TAXONOMY.md; first scored with the probe of 2,000 arXiv labels, before the
  training data grew, and used for no choice.
- v4, bench/data/validation_drafts_v4/ (30: 12 hazard of 12 kinds, half framed as safety research and half as
  capability or application work, 12 safety near-misses and plain safety work, 3 capabilities, 3 societal), written
  blind by a fourth pass that read only docs/TAXONOMY.md; first scored with the shipped probe at dae72c8.
- v5, bench/data/validation_drafts_v5/ (30: 12 hazard of 12 kinds, half framed as safety research, 12 safety of which
  7 are near-misses, 3 capabilities, 3 societal), written blind by a fifth pass that read only docs/TAXONOMY.md;
  first scored with the shipped probe and policy at c9859b7.
- v6, bench/data/validation_drafts_v6/ (30, the same groups as v5, in three lengths: 8 short workshop-style drafts
  of about 200 words, 14 of about 400 and 8 of about 750), written blind by a sixth pass that read only
  docs/TAXONOMY.md; first scored with the shipped probe and policy at 296b651.
- v7, bench/data/validation_drafts_v7/ (30, the groups and lengths of v6), written blind by a seventh pass that read
  only docs/TAXONOMY.md; first scored with the shipped probe and policy at e0eaf57.
In a fresh workspace it times the first-use training of the default probe, measures the probe's size on disk,
scores every draft with the default ONNX backend, and writes the table to docs/BENCHMARKS.md. Needs no shared data.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ROOT, machine, write_section  # noqa: E402

SETS = {name: ROOT / "bench" / "data" / folder for name, folder in
        (("v1", "validation_drafts"), ("v2", "validation_drafts_v2"), ("v3", "validation_drafts_v3"),
         ("v4", "validation_drafts_v4"), ("v5", "validation_drafts_v5"), ("v6", "validation_drafts_v6"),
         ("v7", "validation_drafts_v7"))}
COMMAND = ".venv/bin/python bench/validation_drafts.py"


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="v1", help="which draft set (default v1)")
    args = parser.parse_args()
    return run(args.set)


def run(name: str) -> int:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from models.embedders import make_embedder
    from triage.probe_registry import current_probe
    from triage.scoring import score_documents
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    drafts = SETS[name]
    labels = json.loads((drafts / "labels.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.at(tmp)
        embedder = make_embedder(backend="onnx", cache_dir=workspace.onnx_dir)
        embedder.encode(["warm up"])  # the one-off ONNX export is not training
        started = time.perf_counter()
        with open_store(workspace) as store:
            probe = current_probe(workspace, store, embedder)
        train_seconds = time.perf_counter() - started
        size = sum(f.stat().st_size for f in (workspace.probes_dir / probe.version).iterdir())
        started = time.perf_counter()
        results = score_documents(workspace, embedder=embedder, paths=[drafts / f for f in sorted(labels)])
        score_seconds = time.perf_counter() - started
    by_file = dict(zip(sorted(labels), results))
    groups = ("hazard", "safety", "capabilities", "societal")
    lines = [
        f"## Held-out drafts ({name}): tiers by group, and first-use costs (issue 10)",
        "",
        f"Command: `{COMMAND} --set {name}` on {machine()}. Default probe `{probe.version}` trained in a fresh workspace in "
        f"{train_seconds:.1f} s (first use, the seed and arXiv-label vectors shipped); probe files {size / 1e6:.1f} MB. "
        f"Scoring the {len(labels)} drafts took {score_seconds:.1f} s.",
        "",
        "| group | drafts | publish | review | restrict | with misuse-hazard | mean P(hazard) |",
        "|---|---|---|---|---|---|---|",
    ]
    for group in groups:
        members = [by_file[f] for f, label in labels.items() if label["group"] == group]
        tiers = Counter(m.scores.tier for m in members)
        flagged = sum("misuse-hazard" in m.scores.reasons for m in members)
        mean = float(np.mean([m.scores.hazard for m in members]))
        lines.append(
            f"| {group} | {len(members)} | {tiers['publish']} | {tiers['review']} | {tiers['restrict']} | {flagged} | {mean:.2f} |"
        )
    lines += ["", f"| axis | AUROC on the {len(labels)} drafts |", "|---|---|"]
    for axis in ("safety", "capabilities", "hazard"):
        y = [labels[f][axis] for f in sorted(labels)]
        p = [getattr(by_file[f].scores, axis) for f in sorted(labels)]
        lines.append(f"| {axis} | {roc_auc_score(y, p):.3f} |")
    lines += ["", "Per draft (file: tier, reasons, S / C / H):", ""]
    for file in sorted(labels):
        s = by_file[file].scores
        lines.append(f"- {labels[file]['group']} `{file}`: {s.tier} ({', '.join(s.reasons)}), {s.safety:.2f} / {s.capabilities:.2f} / {s.hazard:.2f}")
    markdown = "\n".join(lines)
    write_section("validation-drafts" if name == "v1" else f"validation-drafts-{name}", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
