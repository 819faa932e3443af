"""Agreement between the two labelling passes of the arXiv sample: Cohen's kappa per axis, and the disagreements.

Run: .venv/bin/python bench/label_agreement.py
The first pass is triage/data/arxiv_labels.jsonl (all 10,000 papers); the second, independent passes are
bench/data/second_pass_labels.jsonl in two rounds: a random 300 of the first 2,000 papers (round 1, before the guide's
"rules added after the second labelling pass"), and a random 300 of the 8,000 labelled later under those rules
(round 2). Both follow docs/TAXONOMY.md. The labels read from titles alone (triage/data/arxiv_title_labels.jsonl)
have their own second pass over a random 300 (bench/data/second_pass_title_labels.jsonl); the 84 papers of that list
that the arXiv sample also holds were labelled from their titles too (bench/data/title_only_overlap_labels.jsonl),
against their abstract labels. The project's labels of the Alignment Newsletter and TAI bibliography items
(bench/data/outside_guide_labels.jsonl) have a second pass over a random 300
(bench/data/second_pass_outside_guide_labels.jsonl). The 147 seed items that had no hazard label got one from two
independent passes (the first is in triage/data/seed_papers.jsonl, the second in
bench/data/second_pass_seed_hazard.jsonl). The 300 seed items written in the forum, blurb and abstract registers were
labelled by their writers and again by a blind pass (both in bench/data/second_pass_seed_written.jsonl; the seed
carries the labels as settled after it). So were the 200 seed items on releasing or withholding an attack
(bench/data/second_pass_seed_pairs.jsonl; the second pass gave axes, not areas). Needs no shared data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ROOT, write_section  # noqa: E402

AXES = ("safety", "capabilities", "hazard")
TABLE_HEAD = "| axis | Cohen's kappa | raw agreement | positives (first / second) | disagreements |"


def main() -> int:
    first = {r["arxiv_id"]: r for r in _read("triage/data/arxiv_labels.jsonl")}
    second = _read("bench/data/second_pass_labels.jsonl")
    overlap = _read("bench/data/title_only_overlap_labels.jsonl")
    titles = {r["arxiv_id"]: r for r in _read("triage/data/arxiv_title_labels.jsonl") + overlap}
    lines = [
        "## Labelling agreement on the arXiv sample (issue 10)",
        "",
        "Command: `.venv/bin/python bench/label_agreement.py`. Independent passes, each reading every abstract against "
        f"docs/TAXONOMY.md without seeing the other's labels; the first pass labelled all {len(first)} papers. Round 1: a "
        "random 300 of the first 2,000, before the guide's rules added after that round. Round 2: a random 300 of the "
        "8,000 labelled later, under those rules. Then the labels read from titles alone, and the papers labelled both ways. "
        "Kappa counts the rows both passes decided (a title pass may leave an axis unknown).",
    ]
    for round_ in (1, 2):
        pairs = [(first[r["arxiv_id"]], r) for r in second if r.get("round", 1) == round_ and r["arxiv_id"] in first]
        lines += _agreement(pairs, f"Round {round_} ({len(pairs)} papers)")
    pairs = [(titles[r["arxiv_id"]], r) for r in _read("bench/data/second_pass_title_labels.jsonl")]
    lines += _agreement(pairs, f"Labels from titles alone, two passes ({len(pairs)} papers of the alignment-graph list)")
    lines += _agreement([(first[r["arxiv_id"]], r) for r in overlap], f"The same {len(overlap)} papers from the abstract (first) and from the title alone (second)")
    outside = _read("bench/data/outside_guide_labels.jsonl")
    by_title = {(r["source"], r["title"]): r for r in outside}  # the few repeated titles carry the same labels
    pairs = [(by_title[r["source"], r["title"]], r) for r in _read("bench/data/second_pass_outside_guide_labels.jsonl")]
    lines += _agreement(pairs, f"Newsletter and bibliography items read against the guide, two passes ({len(pairs)} of {len(outside)})")
    lines += _seed_hazard({r["title"]: r for r in _read("triage/data/seed_papers.jsonl")}, _read("bench/data/second_pass_seed_hazard.jsonl"))
    written = _read("bench/data/second_pass_seed_written.jsonl")
    lines += _agreement(
        [(r["first"] | {"title": r["title"]}, r["second"]) for r in written],
        f"The {len(written)} seed items written in the forum, blurb and abstract registers: their writers' labels and a blind second pass",
    )
    release_items = _read("bench/data/second_pass_seed_pairs.jsonl")
    lines += _agreement(
        [(r["first"] | {"title": r["title"]}, r["second"]) for r in release_items],
        f"The {len(release_items)} seed items on releasing or withholding an attack: their writers' labels and a blind second pass (axes only)",
    )
    markdown = "\n".join(lines)
    write_section("label-agreement", markdown)
    print(markdown)
    return 0


def _read(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _seed_hazard(seed: dict[str, dict], second: list[dict]) -> list[str]:
    """The hazard labels given to the seed items that had none: the two passes compared."""
    return [
        "",
        f"### Hazard of the {len(second)} seed items that had no hazard label, two passes",
        "",
        "Both passes read the project-written summary against docs/TAXONOMY.md, blind to each other; either could leave "
        "an item unknown, and neither did.",
        "",
        TABLE_HEAD,
        "|---|---|---|---|---|",
        _axis_row("hazard", [seed[r["title"]]["hazard"] for r in second], [r["hazard"] for r in second]),
    ]


def _axis_row(axis: str, a: list[int], b: list[int]) -> str:
    """One axis's row: kappa (undefined, so not shown, when both passes give one value throughout), raw agreement,
    positives per pass and disagreements."""
    from sklearn.metrics import cohen_kappa_score

    kappa = f"{cohen_kappa_score(a, b):.3f}" if len(set(a) | set(b)) > 1 else "–"
    agree = sum(x == y for x, y in zip(a, b)) / len(a)
    return f"| {axis} | {kappa} | {agree:.3f} | {sum(a)} / {sum(b)} | {sum(x != y for x, y in zip(a, b))} |"


def _agreement(pairs: list, heading: str) -> list[str]:
    """One round's table: kappa and agreement per axis (over rows both passes decided), area overlap, and the safety
    disagreements."""
    lines = ["", f"### {heading}", "", TABLE_HEAD, "|---|---|---|---|---|"]
    for axis in AXES:
        decided = [(x[axis], y[axis]) for x, y in pairs if x[axis] is not None and y[axis] is not None]
        lines.append(_axis_row(axis, [d[0] for d in decided], [d[1] for d in decided]))
    if all("areas" in y for _, y in pairs):
        jaccard = [
            len(set(x["areas"]) & set(y["areas"])) / max(1, len(set(x["areas"]) | set(y["areas"]))) for x, y in pairs
        ]
        first_area = sum(bool(x["areas"]) and bool(y["areas"]) and x["areas"][0] == y["areas"][0] for x, y in pairs) / len(pairs)
        lines += ["", f"Areas: mean Jaccard overlap {sum(jaccard) / len(jaccard):.3f}; the first-listed area agrees on {first_area:.1%} of papers."]
    lines += ["", "Safety disagreements (first / second pass, areas):", ""]
    for x, y in pairs:
        if x["safety"] != y["safety"]:
            lines.append(f"- {x.get('arxiv_id') or x['title']}: {x['safety']} {x['areas']} / {y['safety']} {y.get('areas', '(not labelled)')}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
