"""Agreement between the two labelling passes of the arXiv sample: Cohen's kappa per axis, and the disagreements.

Run: .venv/bin/python bench/label_agreement.py
The first pass is triage/data/arxiv_labels.jsonl (all 10,000 papers); the second, independent passes are
bench/data/second_pass_labels.jsonl in two rounds: a random 300 of the first 2,000 papers (round 1, before the guide's
"rules added after the second labelling pass"), and a random 300 of the 8,000 labelled later under those rules
(round 2). Both follow docs/TAXONOMY.md. Needs no shared data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ROOT, write_section  # noqa: E402

AXES = ("safety", "capabilities", "hazard")


def main() -> int:
    first = {r["arxiv_id"]: r for r in map(json.loads, (ROOT / "triage" / "data" / "arxiv_labels.jsonl").read_text().splitlines())}
    second = [json.loads(line) for line in (ROOT / "bench" / "data" / "second_pass_labels.jsonl").read_text().splitlines()]
    lines = [
        "## Labelling agreement on the arXiv sample (issue 10)",
        "",
        "Command: `.venv/bin/python bench/label_agreement.py`. Independent passes, each reading every abstract against "
        f"docs/TAXONOMY.md without seeing the other's labels; the first pass labelled all {len(first)} papers. Round 1: a "
        "random 300 of the first 2,000, before the guide's rules added after that round. Round 2: a random 300 of the "
        "8,000 labelled later, under those rules.",
    ]
    for round_ in (1, 2):
        pairs = [(first[r["arxiv_id"]], r) for r in second if r.get("round", 1) == round_ and r["arxiv_id"] in first]
        lines += _agreement(pairs, f"Round {round_} ({len(pairs)} papers)")
    markdown = "\n".join(lines)
    write_section("label-agreement", markdown)
    print(markdown)
    return 0


def _agreement(pairs: list, heading: str) -> list[str]:
    """One round's table: kappa and agreement per axis, area overlap, and the safety disagreements."""
    from sklearn.metrics import cohen_kappa_score

    lines = [
        "",
        f"### {heading}",
        "",
        "| axis | Cohen's kappa | raw agreement | positives (first / second) | disagreements |",
        "|---|---|---|---|---|",
    ]
    for axis in AXES:
        a, b = [p[0][axis] for p in pairs], [p[1][axis] for p in pairs]
        kappa = cohen_kappa_score(a, b)
        agree = sum(x == y for x, y in zip(a, b)) / len(a)
        lines.append(f"| {axis} | {kappa:.3f} | {agree:.3f} | {sum(a)} / {sum(b)} | {sum(x != y for x, y in zip(a, b))} |")
    jaccard = [
        len(set(x["areas"]) & set(y["areas"])) / max(1, len(set(x["areas"]) | set(y["areas"]))) for x, y in pairs
    ]
    first_area = sum(bool(x["areas"]) and bool(y["areas"]) and x["areas"][0] == y["areas"][0] for x, y in pairs) / len(pairs)
    lines += [
        "",
        f"Areas: mean Jaccard overlap {sum(jaccard) / len(jaccard):.3f}; the first-listed area agrees on {first_area:.1%} of papers.",
        "",
        "Safety disagreements (first / second pass, areas):",
        "",
    ]
    for x, y in pairs:
        if x["safety"] != y["safety"]:
            lines.append(f"- {x['arxiv_id']}: {x['safety']} {x['areas']} / {y['safety']} {y['areas']}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
