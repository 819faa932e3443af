"""A paper's vector: its whole text (truncated at the model's 256 tokens) against the mean of its passage vectors.

Run: .venv/bin/python bench/passage_vectors.py (needs ../shared; embeddings cached in bench/out/loso-home)
Each source is held out as in `bench/loso.py --shipped-data` (the shipped design, trained on the rest) and scored
three ways: whole-text vectors throughout (as the product embeds papers and every training label); the held-out
texts as the mean of their passage vectors (as `triage score` once read papers); and passage means for the
training texts too. It chose how `triage score` and the review queue read a paper (triage/scoring.py::score_one).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loso import AXES, DESIGNS, SHIPPED, Source, _cell, _embed, _split, load_sources  # noqa: E402
from bench.report import SHARED_DATA, machine, write_section  # noqa: E402

COMMAND = ".venv/bin/python bench/passage_vectors.py"
VARIANTS = ("whole texts", "held-out texts as passage means", "training and held-out texts as passage means")


def passage_means(source: Source) -> Source:
    """The source with each full-text row's vector replaced by the normalised mean of its passages' vectors."""
    from corpus.passages import split_passages
    from triage.embedding import mean_vector

    assert source.texts is not None
    rows = np.flatnonzero(source.evaluate)
    pieces: list[str] = []
    owners: list[int] = []
    for row in rows:
        passages = [p.text for p in split_passages(source.texts[row])] or [source.texts[row]]
        pieces += passages
        owners += [int(row)] * len(passages)
    vectors, owner = _embed(pieces), np.array(owners)
    out = source.vectors.copy()
    for row in rows:
        out[row] = mean_vector(vectors[owner == row])
    return replace(source, vectors=out)


def main() -> int:
    if not SHARED_DATA.is_dir():
        print(f"skipped: {SHARED_DATA} is not available (the benchmark needs the shared data sets)")
        return 0
    seed, arxiv, titles, lists, news, bibliography = load_sources()
    means = {s.name: passage_means(s) for s in (seed, arxiv, news, bibliography)}
    cases = [(news, [seed, arxiv, titles, lists]), (bibliography, [seed, arxiv, titles, lists]), (arxiv, [seed, titles, lists]),
             (seed, [arxiv, titles, lists])]
    lines = [
        "## A paper's vector: whole text or the mean of its passages (issue 10)",
        "",
        f"Command: `{COMMAND}` on {machine()}. Shipped design, each source held out against the rest as in "
        "`bench/loso.py --shipped-data` (the two lists' titles less the held-out list's own). MiniLM reads 256 tokens: a whole "
        "abstract is cut there, while its passages (about 200 tokens each, 40 overlapping) cover all of it. Cells: AUROC "
        "(share of positives found at a 5% false-positive rate).",
        "",
        "| held out | axis | " + " | ".join(VARIANTS) + " |",
        "|---|---|" + "---|" * len(VARIANTS),
    ]
    for held, train in cases:
        cells: dict[str, list[str]] = {axis: [] for axis in AXES}
        for variant in VARIANTS:
            scored = held if variant == VARIANTS[0] else means[held.name]
            trained = [means.get(s.name, s) if variant == VARIANTS[2] else s for s in train]
            split = _split(trained, scored)
            scores = DESIGNS[SHIPPED](split)
            for h, axis in enumerate(AXES):
                known = ~np.isnan(split.test_y[:, h]) & ~np.isnan(scores[:, h])
                y = split.test_y[known, h]
                if known.sum() >= 10 and y.min() != y.max():
                    cells[axis].append(_cell(y, scores[known, h]))
            print(held.name, variant, flush=True)
        lines += [f"| {held.name} | {axis} | " + " | ".join(row) + " |" for axis, row in cells.items() if row]
    markdown = "\n".join(lines)
    write_section("passage-vectors", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
