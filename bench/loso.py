"""Probe design by leave-one-source-out validation: train on every source but one, test on the one held out.

Run: .venv/bin/python bench/loso.py   (needs ../shared/data; skips with a message without it)

Sources: the seed texts (project-written summaries), the project's labels of the arXiv sample (shipped vectors), its
labels of the alignment-graph papers read from their titles alone (shipped vectors), the Alignment Newsletter (its
summaries, labelled by newsletter section) and the TAI Safety Bibliography (abstracts, labelled by its safety tags);
`--shipped-data` also judges the same scores of the last two by the project's labels of their items
(bench/data/outside_guide_labels.jsonl), to tell their scope from the probe's ranking. Designs: plain class-balanced logistic regression at several C (the
baseline), the shipped trainer (a logistic head, for safety one per safety area combined by log-sum-exp, stacked
with a neighbour label vote and a tf-idf word head, fitted on held-out folds), the same with one safety head, without
the word head or with other pool weights, and the word head and the vote alone. Writes the table to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ROOT, SHARED_DATA, machine, write_section  # noqa: E402

if TYPE_CHECKING:
    from corpus.records import LabelledText

COMMAND = ".venv/bin/python bench/loso.py"
AXES = ("safety", "capabilities", "hazard")
HOME = ROOT / "bench" / "out" / "loso-home"  # an embedding cache, so reruns embed nothing
LISTS_SOURCE = "the two lists' titles (project labels)"
# Newsletter sections that are technical alignment by the project's guide; the rest of "Technical AI alignment"
# (forecasting, field building) is societal, as are governance and near-term concerns.
AN_SOCIETAL = {"Forecasting", "Field building", "AI governance", "Fairness and bias", "Privacy and security", "Machine ethics"}


@dataclass
class Source:
    name: str
    vectors: np.ndarray  # (n, dim): one row per view
    labels: np.ndarray  # (n, 3 + areas): safety, capabilities, hazard, then the taxonomy's areas; NaN unknown
    groups: np.ndarray  # (n,) item ids, unique across sources
    evaluate: np.ndarray  # (n,) bool: the rows scored when this source is held out (the full-text view)
    pool: int = 0  # the trainer's pool: 1 for the shipped arXiv labels, 0 for the rest (as triage.labels assigns them)
    texts: list[str] | None = None  # (n,) each row's text: scored by the word head when held out
    word_rows: np.ndarray | None = None  # (n,) bool: rows whose text the word head may train on (None: all); not the arXiv abstracts, which do not ship
    title_only: bool = False  # every row is a title (no text view): all of them are scored, and all name the item
    lists: list[tuple[str, ...]] | None = None  # (n,) for the lists' titles: which of the two lists hold each row's item
    list_name: str | None = None  # for the two outside sources: the name their items carry in `lists`

    def title_rows(self) -> np.ndarray:
        return np.ones(len(self.groups), bool) if self.title_only else ~self.evaluate

    def without(self, list_name: str | None) -> Source:
        """This source less the rows of items that the list `list_name` holds (the held-out source's own items)."""
        if self.lists is None or list_name is None:
            return self
        keep = np.array([list_name not in held for held in self.lists])
        assert self.texts is not None
        return replace(
            self, vectors=self.vectors[keep], labels=self.labels[keep], groups=self.groups[keep], evaluate=self.evaluate[keep],
            texts=[t for t, k in zip(self.texts, keep) if k], lists=[h for h, k in zip(self.lists, keep) if k],
        )


def _embed(texts: list[str]) -> np.ndarray:
    from models.embedders import make_embedder
    from triage.embedding import embed_texts
    from triage.progress import Reporter
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    workspace = Workspace.at(HOME)
    embedder = make_embedder(backend="onnx", cache_dir=workspace.onnx_dir)
    with open_store(workspace, seed=False) as store:
        return embed_texts(store, embedder, texts, reporter=Reporter())[0]


def _label_rows(labels: list[LabelledText]) -> np.ndarray:
    """The items' label matrix as the product builds it: the three axes, then the taxonomy's areas (NaN unknown)."""
    from triage.labels import label_row
    from triage.seed import taxonomy_areas

    areas = taxonomy_areas()
    return np.array([label_row(item, areas) for item in labels], dtype=np.float32)


Item = tuple[str, str, list, "tuple[str, ...] | None"]  # text, title, [safety, capabilities, hazard], areas (None: unknown)


def _source(name: str, items: list[Item], first_group: int) -> Source:
    """items: (text, title, [safety, capabilities, hazard], areas or None); each gives a text row (evaluated) and a title row."""
    from corpus.records import LabelledText

    texts, labels, groups, evaluate = [], [], [], []
    for g, (text, title, (safety, capabilities, hazard), areas) in enumerate(items):
        label = LabelledText(text, safety, capabilities, areas=None if areas is None else list(areas), hazard=hazard)
        for view, scored in ((text, True), (title, False)):
            if view:
                texts.append(view)
                labels.append(label)
                groups.append(first_group + g)
                evaluate.append(scored)
    return Source(name, _embed(texts), _label_rows(labels), np.array(groups), np.array(evaluate), texts=texts)


def _label_array(labels) -> np.ndarray:
    from triage.labels import bundled_label_texts

    return _label_rows(bundled_label_texts(labels, "bench"))


def load_sources() -> list[Source]:
    import pandas as pd

    from corpus.records import Paper
    from models.embedders import BUNDLED_MODEL_ID
    from triage.label_vectors import LIST_NAMES, SAMPLE, bundled_vectors, labelled_sample_papers
    from triage.seed import load_seed

    sources = []
    seed: list[Item] = [(item.to_paper().embedding_text(), item.title, [item.safety, item.capabilities, item.hazard], item.areas) for item in load_seed()]
    sources.append(_source("seed", seed, 0))

    bundled = bundled_vectors(BUNDLED_MODEL_ID)
    if bundled is None:
        raise SystemExit(f"loso: no shipped label vectors for {BUNDLED_MODEL_ID}")
    n = len(bundled.labels)
    labels = _label_array(bundled.labels)
    groups = np.arange(n) + 100_000
    papers, missing = labelled_sample_papers(SHARED_DATA / SAMPLE)
    if missing:
        raise SystemExit(f"loso: {len(missing)} labelled ids are not in the arXiv sample, e.g. {missing[:3]}")
    texts = [paper.embedding_text() for paper in papers]
    sources.append(Source(
        "arXiv sample (project labels)", np.concatenate([bundled.text_vectors, bundled.title_vectors]), np.concatenate([labels, labels]),
        np.concatenate([groups, groups]), np.concatenate([np.ones(n, bool), np.zeros(n, bool)]), pool=1,
        texts=texts + [b.title for b in bundled.labels], word_rows=np.concatenate([np.zeros(n, bool), np.ones(n, bool)]),
    ))
    m = len(bundled.title_only_labels)
    sources.append(Source(
        "arXiv titles (project labels, title only)", bundled.title_only_vectors, _label_array(bundled.title_only_labels),
        np.arange(m) + 150_000, np.ones(m, bool), pool=1, texts=[b.title for b in bundled.title_only_labels], title_only=True,
    ))
    k = len(bundled.list_labels)
    sources.append(Source(
        LISTS_SOURCE, bundled.list_vectors, _label_array(bundled.list_labels), np.arange(k) + 170_000, np.ones(k, bool), pool=1,
        texts=[b.title for b in bundled.list_labels], title_only=True, lists=[b.lists for b in bundled.list_labels],
    ))

    news = pd.read_csv(SHARED_DATA / "alignment-newsletter" / "alignment_newsletter.csv")
    sections = pd.read_csv(SHARED_DATA / "alignment-newsletter" / "category_sections.csv")
    news["section"] = news["Category"].map(dict(zip(sections["category"], sections["section"])))
    news = news.dropna(subset=["Title"]).drop_duplicates("Title")
    an: list[Item] = []
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
        an.append((text, " ".join(str(title).split()), label, None))
    sources.append(replace(_source("Alignment Newsletter", an, 200_000), list_name=LIST_NAMES["Alignment Newsletter"]))

    tai = pd.read_csv(SHARED_DATA / "tai-safety-bibliography" / "ai-alignment-papers.csv")
    tai = tai[tai["Abstract Note"].fillna("").str.len() > 50]
    rows: list[Item] = []
    for title, abstract, tags in zip(tai["Title"], tai["Abstract Note"], tai["Manual Tags"].fillna("")):
        if "TechSafety" in tags and "Ambigu" not in tags:
            label = [1, None, None]
        elif "MetaSafety" in tags and "Ambigu" not in tags:
            label = [0, 0, None]
        elif "NotSafety" in tags:
            label = [0, None, None]
        else:
            continue
        rows.append((Paper(title=str(title), abstract=str(abstract), source="x").embedding_text(), " ".join(str(title).split()), label, None))
    sources.append(replace(_source("TAI bibliography", rows, 300_000), list_name=LIST_NAMES["TAI bibliography"]))
    return sources


# --- designs ---------------------------------------------------------------------------------------------------


@dataclass
class Split:
    """One held-out case: the training rows (texts None where the word head may not train) and the rows to score."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    pools: np.ndarray
    texts: list[str | None]
    test_x: np.ndarray
    test_texts: list[str]
    test_y: np.ndarray
    test_groups: np.ndarray
    dropped: int  # held-out items left out because a training source holds a paper of the same title


def _titles(source: Source) -> dict[int, str]:
    """Each item's normalised title (from its title view), by group."""
    from corpus.records import normalise_title

    assert source.texts is not None
    return {g: normalise_title(t) for g, t, is_title in zip(source.groups, source.texts, source.title_rows()) if is_title}


def _split(train: list[Source], held: Source) -> Split:
    train = [s.without(held.list_name) for s in train]
    texts: list[str | None] = []
    for s in train:
        assert s.texts is not None
        allowed = np.ones(len(s.vectors), bool) if s.word_rows is None else s.word_rows
        texts += [t if ok else None for t, ok in zip(s.texts, allowed)]
    assert held.texts is not None
    # The seed summarises some papers that the newsletter and the bibliography also list: scoring those would test
    # recall of a training item, not generalisation to a new source.
    seen = set().union(*(_titles(s).values() for s in train))
    titles = _titles(held)
    scored = held.evaluate & np.array([titles.get(g) not in seen for g in held.groups])
    return Split(
        x=np.concatenate([s.vectors for s in train]).astype(np.float32), y=np.concatenate([s.labels for s in train]),
        groups=np.concatenate([s.groups for s in train]), pools=np.concatenate([np.full(len(s.vectors), s.pool) for s in train]),
        texts=texts, test_x=held.vectors[scored], test_texts=[t for t, e in zip(held.texts, scored) if e],
        test_y=held.labels[scored], test_groups=held.groups[scored], dropped=int(held.evaluate.sum() - scored.sum()),
    )


def _training_set(split: Split, one_pool: bool = False):
    """The split's training rows as the trainer takes them (`one_pool`: every row in one pool), with the area heads
    and facets the product trains."""
    from models.probe_training import TrainingSet, head_names
    from triage.labels import shipped_title_rows
    from triage.seed import axis_facets, taxonomy_areas

    return TrainingSet(
        vectors=split.x, labels=split.y, heads=head_names(taxonomy_areas()), groups=split.groups, anchor_rows=np.arange(len(split.x)),
        pools=None if one_pool else split.pools, texts=split.texts, title_rows=shipped_title_rows(split.pools, split.texts),
        facets=axis_facets(),
    )


def _logreg(c: float):
    def fit_predict(split: Split):
        from models.probe_training import _fit

        out = np.full((len(split.test_x), len(AXES)), np.nan)
        for h in range(len(AXES)):
            y = split.y[:, h]
            known = ~np.isnan(y)
            if known.sum() > 10 and 0 < np.nansum(y) < known.sum():
                w, b = _fit(split.x, y, c, balanced=True)
                out[:, h] = split.test_x @ w + b
        return out
    return fit_predict


def _shipped(pool_weight: float | None = None, one_pool: bool = False, words: bool = True, facets: bool = True):
    def fit_predict(split: Split):
        from models.probe_training import TrainingConfig, train_probe_set

        config = TrainingConfig(
            pool_weight=TrainingConfig.pool_weight if pool_weight is None else pool_weight, word_axes=AXES if words else (),
            facet_axes=TrainingConfig.facet_axes if facets else (),
        )
        probe = train_probe_set(_training_set(split, one_pool), embedder_id="bench", label_set={}, config=config)
        return probe.predict(split.test_x, split.test_texts).logit
    return fit_predict


def _words(split: Split):
    """The word head alone: class-balanced tf-idf logistic regression on the training rows that carry text."""
    from models.probe_training import _fit
    from models.word_features import Lexicon

    rows = np.array([t is not None for t in split.texts])
    out = np.full((len(split.test_x), len(AXES)), np.nan)
    if rows.sum() < 10:
        return out
    lexicon, matrix = Lexicon.fit([t for t in split.texts if t is not None])
    for h in range(len(AXES)):
        y = split.y[rows, h]
        known = ~np.isnan(y)
        if known.sum() > 10 and 0 < np.nansum(y) < known.sum():
            w, b = _fit(matrix, y, 4.0, balanced=True)
            out[:, h] = lexicon.logits(split.test_texts, w[None, :], np.array([b], dtype=np.float32))[:, 0]
    return out


def _vote(split: Split):
    from models.probes import neighbour_vote

    return neighbour_vote(split.test_x, split.x, split.y)[:, : len(AXES)]


SHIPPED = "shipped: logreg C=4 (safety: one head per area, log-sum-exp) + neighbour vote + word head, stacked, pool weight 4"
ONE_HEAD = "the same with one safety head (no area facets)"
DESIGNS = {
    "logreg C=1": _logreg(1.0),
    "logreg C=4": _logreg(4.0),
    "logreg C=16": _logreg(16.0),
    SHIPPED: _shipped(),
    ONE_HEAD: _shipped(facets=False),
    "the same without the word head": _shipped(words=False),
    "the same, one pool (classes balanced over all rows)": _shipped(one_pool=True),
    "the same, pool weight 1": _shipped(1.0),
    "the same, pool weight 16": _shipped(16.0),
    "word head alone (tf-idf logreg C=4)": _words,
    "neighbour vote alone": _vote,
}


def _cell(y: np.ndarray, score: np.ndarray) -> str:
    """A table cell: AUROC (share of positives found at a 5% false-positive rate)."""
    from sklearn.metrics import roc_auc_score

    return f"{roc_auc_score(y, score):.3f} ({tpr_at_fpr(y, score):.2f})"


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
        split = _split(train, held)
        test_y = split.test_y
        for name, design in DESIGNS.items():
            started = time.perf_counter()
            scores = design(split)
            seconds = time.perf_counter() - started
            for h, axis in enumerate(AXES):
                known = ~np.isnan(test_y[:, h]) & ~np.isnan(scores[:, h])
                target = test_y[known, h]
                if known.sum() < 10 or target.min() == target.max():
                    continue
                rows.append({
                    "held out": held.name, "design": name, "axis": axis, "n": int(known.sum()), "positives": int(target.sum()),
                    "auroc": roc_auc_score(target, scores[known, h]), "tpr@5%fpr": tpr_at_fpr(target, scores[known, h]),
                    "seconds": seconds, "dropped": split.dropped,
                })
            print(held.name, name, f"{seconds:.1f}s", flush=True)
    return rows


def _hazard_flags(y: np.ndarray, scores: dict[str, np.ndarray]) -> list[str]:
    """At the policy's hazard line, on held-out arXiv abstracts: how many safety papers without hazard it would flag,
    and how many hazard papers it would catch (the probe's logits are calibrated, so P = sigmoid(logit))."""
    from triage.policy import TierPolicy

    line = TierPolicy().hazard
    safe, hazard = (y[:, 0] == 1) & (y[:, 2] == 0), y[:, 2] == 1
    out = [
        "", f"At the policy's hazard line (P(hazard) ≥ {line}), the same held-out arXiv abstracts, trained on the seed:", "",
        "| design | safety papers without hazard flagged | hazard papers flagged |", "|---|---|---|",
    ]
    for name in ("the same without the word head", SHIPPED):
        flagged = 1 / (1 + np.exp(-scores[name][:, 2])) >= line
        out.append(f"| {name} | {int(flagged[safe].sum())} of {int(safe.sum())} | {int(flagged[hazard].sum())} of {int(hazard.sum())} |")
    return out


def _reliability(y: np.ndarray, logits: np.ndarray) -> list[str]:
    """How often a held-out abstract in each band of P is in fact positive. The stack weighs positives and negatives
    alike, so P reads the evidence on a balanced scale: on a feed where an axis is rare it overstates the chance."""
    bands = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))
    out = [
        "", "Reliability, the shipped design on the same abstracts: the share of papers in each band of P that carry the label "
        "(papers in the band in brackets), against the share in the whole set:", "",
        "| axis | all | " + " | ".join(f"P {lo}–{hi}" for lo, hi in bands) + " |", "|---|---|" + "---|" * len(bands),
    ]
    for h, axis in enumerate(AXES):
        known = ~np.isnan(y[:, h])
        p, target = 1 / (1 + np.exp(-logits[known, h])), y[known, h]
        cells = []
        for lo, hi in bands:
            band = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
            cells.append(f"{target[band].mean():.3f} ({int(band.sum())})" if band.any() else "–")
        out.append(f"| {axis} | {target.mean():.3f} | " + " | ".join(cells) + " |")
    return out


def _uncertain_share(split: Split) -> list[str]:
    """The share of held-out texts the policy's spread rule (`uncertain`) would send to review, with and without the
    word head: the bootstrap members refit both heads, so the spread should not shrink when words join the stack."""
    from models.probe_training import TrainingConfig, train_probe_set
    from triage.policy import TierPolicy, decide_tier

    policy = TierPolicy()
    out = ["", f"Spread on the same abstracts: share that the `uncertain` rule (spread above `max_std`, {policy.max_std}) would send to review:", ""]
    for name, axes in (("the same without the word head", ()), (SHIPPED, AXES)):
        scores = train_probe_set(_training_set(split), embedder_id="bench", label_set={}, config=TrainingConfig(word_axes=axes)).predict(split.test_x, split.test_texts)
        uncertain = [
            "uncertain" in decide_tier(
                policy, safety=row[0], capabilities=row[1], hazard=row[2], safety_std=std[0], capabilities_std=std[1], hazard_std=std[2],
                differential=float(logit[0] - logit[1]), labelled_similarity=1.0,
            ).reasons
            for row, std, logit in zip(scores.mean, scores.std, scores.logit)
        ]
        out.append(f"- {name}: {np.mean(uncertain):.1%}")
    return out


GUIDE_LABELS = ROOT / "bench" / "data" / "outside_guide_labels.jsonl"


def _against_the_guide(held: Source, train: list[Source], split: Split, scores: np.ndarray, one_head: np.ndarray, guide_rows: list[dict]) -> list[str]:
    """The outside source's own labels against the project's labels of its held-out items, read against
    docs/TAXONOMY.md (bench/data/outside_guide_labels.jsonl): how far the two scopes agree, and the same scores judged
    by each. The gap between the two AUROCs is the part of the miss that is scope, not ranking."""
    from sklearn.metrics import cohen_kappa_score

    from corpus.records import normalise_title

    guide = {normalise_title(r["title"]): r for r in guide_rows if r["source"] == held.name}
    titles = _titles(held)
    rows, seen = [], set()
    for i, g in enumerate(split.test_groups):
        if titles.get(g) in guide and titles[g] not in seen:  # two items whose titles normalise alike count once
            seen.add(titles[g])
            rows.append((i, guide[titles[g]]))
    if not rows:
        return []
    index = np.array([i for i, _ in rows])
    out = []
    for h, axis in enumerate(AXES[:2]):
        theirs, ours = split.test_y[index, h], np.array([r[axis] for _, r in rows], dtype=float)
        known = ~np.isnan(theirs)
        if known.sum() < 10 or theirs[known].min() == theirs[known].max():
            continue
        cells = [_cell(y, score[index, h][known]) for score in (one_head, scores) for y in (theirs[known], ours[known])]
        out.append(
            f"| {held.name} | {' + '.join(s.name for s in train)} | {axis} | {int(known.sum())} | {int(theirs[known].sum())} / {int(ours[known].sum())} | "
            f"{cohen_kappa_score(theirs[known], ours[known]):.2f} | " + " | ".join(cells) + " |"
        )
    return out


def shipped_data(sources: list[Source]) -> int:
    """The shipped probe trains on the seed, the project's arXiv labels (with abstracts, and from titles alone) and the
    two lists' titles with the project's labels: each held out against the rest, before and after the lists' titles
    joined, and the two outside sources scored by a probe trained on the rest (less the held-out list's own titles),
    for plain logistic regression and the shipped design."""
    seed, arxiv, titles, lists, *outside = sources
    cases = [(arxiv, [seed]), (arxiv, [seed, titles]), (arxiv, [seed, titles, lists]), (titles, [seed, arxiv]), (titles, [seed, arxiv, lists])]
    cases += [(seed, [arxiv, titles]), (seed, [arxiv, titles, lists])]
    cases += [(held, train) for held in outside for train in ([seed, arxiv, titles], [seed, arxiv, titles, lists])]
    lines = [
        "## The shipped training data, held out source by source (issue 10)",
        "",
        f"Command: `{COMMAND} --shipped-data` on {machine()}. The default probe trains on the seed, the arXiv labels and the titles "
        "of the Alignment Newsletter's and the TAI bibliography's items with the project's labels (`triage/data/list_title_labels.jsonl`, "
        "read from their texts against the guide; the texts do not ship). It does not train on the lists' own labels or texts (with 2,000 "
        "arXiv labels, adding those lowered AUROC on held-out arXiv labels from 0.904 to 0.861 for safety). When a list is held out, its "
        "own items' titles leave the training data, so the rows with and without the lists' titles score the same items. The word head "
        "trains on the seed texts and the shipped titles, the abstracts not shipping. A held-out item whose title the training data also "
        "holds is left out (n counts the rest). Cells: AUROC (share of positives found at a 5% false-positive rate).",
        "",
        "| held out | trained on | axis | n (pos.) | logreg C=1 | without the word head | one safety head | shipped design |",
        "|---|---|---|---|---|---|---|---|",
    ]
    flags: list[str] = []
    scope: list[str] = []
    guide_rows = [json.loads(line) for line in GUIDE_LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for held, train in cases:
        split = _split(train, held)
        test_y = split.test_y
        scores = {name: DESIGNS[name](split) for name in ("logreg C=1", "the same without the word head", ONE_HEAD, SHIPPED)}
        if held is arxiv and not flags:  # trained on the seed alone, as in earlier rounds
            flags = _hazard_flags(test_y, scores) + _reliability(test_y, scores[SHIPPED]) + _uncertain_share(split)
        for h, axis in enumerate(AXES):
            known = ~np.isnan(test_y[:, h])
            target = test_y[known, h]
            if known.sum() < 10 or target.min() == target.max() or any(np.isnan(v[known, h]).any() for v in scores.values()):
                continue
            cells = [_cell(target, v[known, h]) for v in scores.values()]
            lines.append(f"| {held.name} | {' + '.join(s.name for s in train)} | {axis} | {int(known.sum())} ({int(target.sum())}) | " + " | ".join(cells) + " |")
        if any(held is s for s in outside):
            scope += _against_the_guide(held, train, split, scores[SHIPPED], scores[ONE_HEAD], guide_rows)
    if scope:
        scope = [
            "", "The two outside sources' held-out items, each labelled by the project against docs/TAXONOMY.md from the same text "
            "the probe scores, blind to the source's labels and to any score (`bench/data/outside_guide_labels.jsonl`; a random 300 and "
            "200 first, the rest later, by nine single passes in all). The same scores, one safety head and the shipped design, judged by the source's labels and by the guide's:", "",
            "| source | trained on | axis | n | positives (source / guide) | kappa, source vs guide | one safety head, source's labels | guide's labels | shipped, source's labels | guide's labels |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ] + scope
    markdown = "\n".join(lines + flags + scope)
    write_section("loso-shipped-data", markdown)
    print(markdown)
    return 0


def main() -> int:
    if not SHARED_DATA.is_dir():
        print(f"skipped: {SHARED_DATA} is not available (the benchmark needs the shared data sets)")
        return 0
    sources = load_sources()
    if "--shipped-data" in sys.argv[1:]:
        return shipped_data(sources)
    rows = run([s for s in sources if s.lists is None])  # the design table reads each source by its own labels
    lines = [
        "## Probe design by leave-one-source-out validation (issue 10)",
        "",
        f"Command: `{COMMAND}` on {machine()}, bundled MiniLM vectors. Each row trains on every source but the one held "
        "out (text and title views), and scores the held-out source's full texts. The word head trains on the texts of the "
        "training sources except the arXiv sample's abstracts, which do not ship (as in the product); its titles do. Sources: "
        + "; ".join(f"{s.name} {int(s.evaluate.sum())} items" for s in sources)
        + ". Alignment Newsletter: its summaries, 'Technical AI alignment' = safety (forecasting and field building "
        "counted as societal), 'Other progress in AI' = capabilities, governance and near-term concerns = societal (0/0). "
        "TAI bibliography: TechSafety = safety, MetaSafety = societal (0/0), NotSafety = not safety; ambiguous tags left out. "
        "A held-out item whose title a training source also holds (the seed summarises some listed papers, and the newsletter and the bibliography share many) is left out: "
        + "; ".join(f"{name} {n}" for name, n in dict((r["held out"], r["dropped"]) for r in rows).items()) + " items.",
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
