"""Agreement between the two labelling passes of the arXiv sample: Cohen's kappa per axis, and the disagreements.

Run: .venv/bin/python bench/label_agreement.py
The first pass is triage/data/arxiv_labels.jsonl (2,000 papers); the second, independent pass over a random 300 of
them is bench/data/second_pass_labels.jsonl. Both follow docs/TAXONOMY.md. Needs no shared data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ROOT, write_section  # noqa: E402

AXES = ("safety", "capabilities", "hazard")


def main() -> int:
    from sklearn.metrics import cohen_kappa_score

    first = {r["arxiv_id"]: r for r in map(json.loads, (ROOT / "triage" / "data" / "arxiv_labels.jsonl").read_text().splitlines())}
    second = [json.loads(line) for line in (ROOT / "bench" / "data" / "second_pass_labels.jsonl").read_text().splitlines()]
    pairs = [(first[r["arxiv_id"]], r) for r in second if r["arxiv_id"] in first]
    lines = [
        "## Labelling agreement on the arXiv sample (issue 10)",
        "",
        "Command: `.venv/bin/python bench/label_agreement.py`. Two independent passes, both reading each abstract against "
        f"docs/TAXONOMY.md; the second pass labelled a random {len(pairs)} of the first pass's {len(first)} papers without "
        "seeing its labels.",
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
        "Safety disagreements (first / second pass, areas), which the guide's 'rules added after the second labelling pass' settle:",
        "",
    ]
    for x, y in pairs:
        if x["safety"] != y["safety"]:
            lines.append(f"- {x['arxiv_id']}: {x['safety']} {x['areas']} / {y['safety']} {y['areas']}")
    markdown = "\n".join(lines)
    write_section("label-agreement", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
