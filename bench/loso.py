"""Probe design by leave-one-source-out validation: train on every source but one, test on the one held out.

Run: .venv/bin/python bench/loso.py   (needs ../shared/data; skips with a message without it)

Sources: the seed texts (project-written summaries), the project's labels of the arXiv sample (shipped vectors),
the Alignment Newsletter (its summaries, labelled by newsletter section) and the TAI Safety Bibliography
(abstracts, labelled by its safety tags). Designs: plain class-balanced logistic regression at several C (the
baseline and the shipped design), the shipped trainer (bootstrap ensemble + Platt), the earlier design (linear
heads stacked with a neighbour label vote), and the neighbour vote alone. Writes the table to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ROOT, SHARED_DATA, machine, write_section  # noqa: E402

COMMAND = ".venv/bin/python bench/loso.py"
AXES = ("safety", "capabilities", "hazard")
HOME = ROOT / "bench" / "out" / "loso-home"  # an embedding cache, so reruns embed nothing
# Newsletter sections that are technical alignment by the project's guide; the rest of "Technical AI alignment"
# (forecasting, field building) is societal, as are governance and near-term concerns.
AN_SOCIETAL = {"Forecasting", "Field building", "AI governance", "Fairness and bias", "Privacy and security", "Machine ethics"}


@dataclass
class Source:
    name: str
    vectors: np.ndarray  # (n, dim): one row per view
    labels: np.ndarray  # (n, 3): safety, capabilities, hazard; NaN unknown
    groups: np.ndarray  # (n,) item ids, unique across sources
    evaluate: np.ndarray  # (n,) bool: the rows scored when this source is held out (the full-text view)


def _embed(texts: list[str]) -> np.ndarray:
    from models.embedders import make_embedder
    from triage.embedding import embed_texts
    from triage.library import open_store
    from triage.progress import Reporter
    from triage.workspace import Workspace

    workspace = Workspace.at(HOME)
    embedder = make_embedder(backend="onnx", cache_dir=workspace.onnx_dir)
    with open_store(workspace, seed=False) as store:
        return embed_texts(store, embedder, texts, reporter=Reporter())[0]


def _source(name: str, items: list[tuple[str, str, list]], first_group: int) -> Source:
    """items: (text, title, [safety, capabilities, hazard]); each gives a text row (evaluated) and a title row."""
    texts, labels, groups, evaluate = [], [], [], []
    for g, (text, title, label) in enumerate(items):
        for view, scored in ((text, True), (title, False)):
            if view:
                texts.append(view)
                labels.append([np.nan if v is None else float(v) for v in label])
                groups.append(first_group + g)
                evaluate.append(scored)
    return Source(name, _embed(texts), np.array(labels, dtype=np.float32), np.array(groups), np.array(evaluate))


def load_sources() -> list[Source]:
    import pandas as pd

    from corpus.records import Paper
    from models.embedders import BUNDLED_MODEL_ID
    from triage.label_vectors import bundled_labels, bundled_vectors
    from triage.seed import load_seed

    sources = []
    seed = [(item.to_paper().embedding_text(), item.title, [item.safety, item.capabilities, item.hazard]) for item in load_seed()]
    sources.append(_source("seed", seed, 0))

    bundled = bundled_vectors(BUNDLED_MODEL_ID)
    if bundled is None:
        raise SystemExit(f"loso: no shipped label vectors for {BUNDLED_MODEL_ID}")
    n = len(bundled.labels)
    labels = np.array([[np.nan if v is None else v for v in (b.safety, b.capabilities, b.hazard)] for b in bundled_labels()], dtype=np.float32)
    groups = np.arange(n) + 100_000
    sources.append(Source(
        "arXiv sample (project labels)", np.concatenate([bundled.text_vectors, bundled.title_vectors]), np.concatenate([labels, labels]),
        np.concatenate([groups, groups]), np.concatenate([np.ones(n, bool), np.zeros(n, bool)]),
    ))

    news = pd.read_csv(SHARED_DATA / "alignment-newsletter" / "alignment_newsletter.csv")
    sections = pd.read_csv(SHARED_DATA / "alignment-newsletter" / "category_sections.csv")
    news["section"] = news["Category"].map(dict(zip(sections["category"], sections["section"])))
    news = news.dropna(subset=["Title"]).drop_duplicates("Title")
    an = []
    for title, summary, category, section in zip(news["Title"], news["Summary"].fillna(""), news["Category"], news["section"].fillna("")):
        if category in AN_SOCIETAL or section.startswith("AI strategy") or section == "Near-term concerns":
            label = [0, 0, None]
        elif section == "Technical AI alignment":
            label = [1, None, None]
        elif section == "Other progress in AI":
            label = [0, 1, None]
        else:
            continue
        text = Paper(title=str(title), abstract=str(summary) if len(str(summary)) > 50 else "", source="x").embedding_text()
        an.append((text, " ".join(str(title).split()), label))
    sources.append(_source("Alignment Newsletter", an, 200_000))

    tai = pd.read_csv(SHARED_DATA / "tai-safety-bibliography" / "ai-alignment-papers.csv")
    tai = tai[tai["Abstract Note"].fillna("").str.len() > 50]
    rows = []
    for title, abstract, tags in zip(tai["Title"], tai["Abstract Note"], tai["Manual Tags"].fillna("")):
        if "TechSafety" in tags and "Ambigu" not in tags:
            label = [1, None, None]
        elif "MetaSafety" in tags and "Ambigu" not in tags:
            label = [0, 0, None]
        elif "NotSafety" in tags:
            label = [0, None, None]
        else:
            continue
        rows.append((Paper(title=str(title), abstract=str(abstract), source="x").embedding_text(), " ".join(str(title).split()), label))
    sources.append(_source("TAI bibliography", rows, 300_000))
    return sources


# --- designs -------------------------------------------------------------------------------------------------


def _logreg(c: float):
    def fit_predict(x, y, groups, test):
        from models.probe_training import _fit

        out = np.full((len(test), y.shape[1]), np.nan)
        for h in range(y.shape[1]):
            known = ~np.isnan(y[:, h])
            if known.sum() > 10 and 0 < np.nansum(y[:, h]) < known.sum():
                w, b = _fit(x, y[:, h], c, balanced=True)
                out[:, h] = test @ w + b
        return out
    return fit_predict


def _shipped(x, y, groups, test):
    from models.probe_training import TrainingConfig, TrainingSet, train_probe_set

    data = TrainingSet(vectors=x, labels=y, heads=list(AXES), groups=groups, anchor_rows=np.arange(len(x)))
    return train_probe_set(data, embedder_id="bench", label_set={}, config=TrainingConfig()).predict(test).logit


def _vote(x, y, groups, test):
    from models.probes import neighbour_vote

    return neighbour_vote(test, x, y)


def _stacked(x, y, groups, test):
    """The earlier design: a linear head plus the neighbour vote, weighed by a fit on held-out folds."""
    from sklearn.linear_model import LogisticRegression

    from models.probe_training import _fit, _group_folds
    from models.probes import neighbour_vote

    folds = _group_folds(groups, 5, np.random.default_rng(0))
    out = np.full((len(test), y.shape[1]), np.nan)
    for h in range(y.shape[1]):
        known = ~np.isnan(y[:, h])
        if not (known.sum() > 10 and 0 < np.nansum(y[:, h]) < known.sum()):
            continue
        z, v = np.full(len(x), np.nan), np.full(len(x), np.nan)
        for k in range(5):
            tr, te = (folds != k) & known, (folds == k) & known
            w, b = _fit(x[tr], y[tr, h], 4.0, balanced=True)
            z[te] = x[te] @ w + b
            v[te] = neighbour_vote(x[te], x[tr], y[tr, h : h + 1])[:, 0]
        meta = LogisticRegression(class_weight="balanced").fit(np.column_stack([z[known], v[known]]), y[known, h])
        w, b = _fit(x, y[:, h], 4.0, balanced=True)
        features = np.column_stack([test @ w + b, neighbour_vote(test, x, y[:, h : h + 1])[:, 0]])
        out[:, h] = meta.decision_function(features)
    return out


DESIGNS = {
    "logreg C=1": _logreg(1.0),
    "logreg C=4": _logreg(4.0),
    "logreg C=16": _logreg(16.0),
    "shipped: logreg C=4, bootstrap x8 + Platt": _shipped,
    "linear + neighbour vote, stacked (earlier design)": _stacked,
    "neighbour vote alone": _vote,
}


def tpr_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float = 0.05) -> float:
    negatives = np.sort(score[y == 0])[::-1]
    if len(negatives) == 0 or y.sum() == 0:
        return float("nan")
    threshold = negatives[int(np.floor(fpr * len(negatives)))] if len(negatives) > 1 else negatives[0]
    return float((score[y == 1] > threshold).mean())


def run(sources: list[Source]) -> list[dict]:
    from sklearn.metrics import roc_auc_score

    rows = []
    for held in sources:
        train = [s for s in sources if s is not held]
        x = np.concatenate([s.vectors for s in train]).astype(np.float32)
        y = np.concatenate([s.labels for s in train])
        groups = np.concatenate([s.groups for s in train])
        test_x, test_y = held.vectors[held.evaluate], held.labels[held.evaluate]
        for name, design in DESIGNS.items():
            started = time.perf_counter()
            scores = design(x, y, groups, test_x)
            seconds = time.perf_counter() - started
            for h, axis in enumerate(AXES):
                known = ~np.isnan(test_y[:, h]) & ~np.isnan(scores[:, h])
                target = test_y[known, h]
                if known.sum() < 10 or target.min() == target.max():
                    continue
                rows.append({
                    "held out": held.name, "design": name, "axis": axis, "n": int(known.sum()), "positives": int(target.sum()),
                    "auroc": roc_auc_score(target, scores[known, h]), "tpr@5%fpr": tpr_at_fpr(target, scores[known, h]),
                    "seconds": seconds,
                })
            print(held.name, name, f"{seconds:.1f}s", flush=True)
    return rows


def main() -> int:
    if not SHARED_DATA.is_dir():
        print(f"skipped: {SHARED_DATA} is not available (the benchmark needs the shared data sets)")
        return 0
    sources = load_sources()
    rows = run(sources)
    lines = [
        "## Probe design by leave-one-source-out validation (issue 10)",
        "",
        f"Command: `{COMMAND}` on {machine()}, bundled MiniLM vectors. Each row trains on every source but the one held "
        "out (text and title views), and scores the held-out source's full texts. Sources: "
        + "; ".join(f"{s.name} {int(s.evaluate.sum())} items" for s in sources)
        + ". Alignment Newsletter: its summaries, 'Technical AI alignment' = safety (forecasting and field building "
        "counted as societal), 'Other progress in AI' = capabilities, governance and near-term concerns = societal (0/0). "
        "TAI bibliography: TechSafety = safety, MetaSafety = societal (0/0), NotSafety = not safety; ambiguous tags left out.",
        "",
        "| held out | axis | n (pos.) | " + " | ".join(DESIGNS) + " |",
        "|---|---|---|" + "---|" * len(DESIGNS),
    ]
    keys = sorted({(r["held out"], r["axis"], r["n"], r["positives"]) for r in rows}, key=lambda k: ([s.name for s in sources].index(k[0]), AXES.index(k[1])))
    for held, axis, n, pos in keys:
        cells = []
        for design in DESIGNS:
            match = [r for r in rows if r["held out"] == held and r["axis"] == axis and r["design"] == design]
            cells.append(f"{match[0]['auroc']:.3f} ({match[0]['tpr@5%fpr']:.2f})" if match else "–")
        lines.append(f"| {held} | {axis} | {n} ({pos}) | " + " | ".join(cells) + " |")
    lines += ["", "Cells: AUROC (share of positives found at a 5% false-positive rate).", ""]
    means = {}
    for design in DESIGNS:
        values = [r["auroc"] for r in rows if r["design"] == design]
        means[design] = float(np.mean(values)) if values else float("nan")
    lines.append("Mean AUROC over all held-out rows: " + "; ".join(f"{d} {m:.3f}" for d, m in means.items()) + ".")
    markdown = "\n".join(lines)
    write_section("loso", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
