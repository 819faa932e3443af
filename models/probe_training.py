"""Training probe sets: pool-balanced logistic heads stacked with a neighbour vote and a word head, and bootstrap refits for the spread."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from models.axes import CAPABILITIES, HAZARD, SAFETY
from models.errors import ModelError
from models.metrics import binary_report
from models.probes import AREA_PREFIX, ProbeSet, log_sum_exp, neighbour_vote
from models.word_features import Lexicon, WordHead

AXES = (SAFETY, CAPABILITIES, HAZARD)
REQUIRED_AXES = (SAFETY, CAPABILITIES)  # hazard may be unlabelled in a user's own label set; it is then not trained
MIN_PER_CLASS = 2
MIN_SLOPE = 0.1  # below this the held-out fit has not seen the linear head work
MIN_VOTE_POSITIVES = 30  # positive items an axis needs before the neighbour vote joins its stack
MIN_FACET_POSITIVES = 20  # positive rows an area needs to be a facet of its own; rarer areas join the axis's "other" facet
FACET_PREFIX = "facet:"


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run, kept apart from the trained weights (and recorded in the card).

    The design (a logistic head, C = 4, stacked with a neighbour label vote and a tf-idf word head on the rows that
    carry text, rows weighted so each pool's classes balance) was chosen by leave-one-source-out validation against
    plain class-balanced logistic regression; the tables are in docs/BENCHMARKS.md.
    """

    members: int = 6  # bootstrap refits: their spread is the score's uncertainty
    folds: int = 5  # cross-fitting folds: held-out logits for calibration and honest metrics
    c: float = 4.0  # inverse L2 strength, as scikit-learn's C
    seed: int = 0
    # Rows come in pools (the shipped arXiv sample; everything else). Each pool's positives and negatives weigh the
    # same, and the pool of written and user labels weighs this many times the arXiv pool: thousands of arXiv rows
    # at their 9% safety rate otherwise drown the seed's breadth (leave-one-source-out table in docs/BENCHMARKS.md).
    pool_weight: float = 4.0
    # A word head (tf-idf logistic, trained on the rows whose text is at hand: the seed and the workspace's labels)
    # joins the stack of these axes. Words carry what a sentence embedding blurs ("reward hacking" vs "reward model");
    # out of source it lifts safety and capabilities AUROC by about 0.01 (docs/BENCHMARKS.md).
    word_axes: tuple[str, ...] = (SAFETY, CAPABILITIES, HAZARD)
    # The word heads of these axes also train on a set's `title_rows` (the shipped arXiv titles). A title names the
    # topic, which safety and capabilities follow (held-out real titles: safety AUROC 0.881 -> 0.905); whether a text
    # hands over an attack is not in its title, and a hazard word head trained on titles flagged defence drafts for
    # naming the attacks they stop (docs/BENCHMARKS.md).
    title_word_axes: tuple[str, ...] = (SAFETY, CAPABILITIES)
    # BLAS threads while training (None: the library's default). scipy's L-BFGS-B, in C since 1.15, makes thousands
    # of BLAS calls on vectors of one example's size, and a threaded BLAS pays its pool's start-up on every one: with
    # one thread the default probe trains 1.45x faster on 2 cores (bench/training_threads.py), and the fit no longer
    # depends on how many cores the machine has.
    blas_threads: int | None = 1
    # Heads fitted at once, each on one BLAS thread (None: one per core). The fits are independent, so the result is
    # the same for any number; two at once train the default probe 1.25x faster on 2 cores (bench/training_threads.py).
    fit_threads: int | None = None
    # These axes' linear logit is the log-sum-exp of one head per area of the axis (its facets, each against the
    # axis's negatives) instead of one head: safety is a union of unlike areas (circuits, jailbreak defences, decision
    # theory), which one hyperplane in the embedding separates from everything else worse than several do.
    facet_axes: tuple[str, ...] = (SAFETY,)


@dataclass
class TrainingSet:
    """Vectors with labels; NaN marks an unknown label. Rows sharing a `group` are views of one item."""

    vectors: np.ndarray  # (n, dim)
    labels: np.ndarray  # (n, heads), 0/1 or NaN
    heads: list[str]
    groups: np.ndarray  # (n,) int
    anchor_rows: np.ndarray  # rows used as labelled anchors (one view per item)
    anchor_info: list[dict] = field(default_factory=list)
    pools: np.ndarray | None = None  # (n,) 0 or 1: which pool a row is in (1 = the shipped arXiv sample); None: one pool
    texts: list[str | None] | None = None  # (n,) each row's text, None where only its vector ships; None: no word head
    title_rows: np.ndarray | None = None  # (n,) bool: rows whose text is only a title, the paper's text not shipping (see title_word_axes)
    facets: dict[str, list[str]] = field(default_factory=dict)  # axis -> the area heads that split its positives (see facet_axes)

    def __post_init__(self) -> None:
        if len(self.vectors) != len(self.labels) or len(self.vectors) != len(self.groups):
            raise ModelError("training vectors, labels and groups differ in length")
        if self.pools is not None and len(self.pools) != len(self.vectors):
            raise ModelError("training vectors and pools differ in length")
        if self.texts is not None and len(self.texts) != len(self.vectors):
            raise ModelError("training vectors and texts differ in length")
        if self.title_rows is not None and len(self.title_rows) != len(self.vectors):
            raise ModelError("training vectors and title rows differ in length")
        for name in REQUIRED_AXES:
            column = self.labels[:, self.heads.index(name)]
            known = column[~np.isnan(column)]
            if len(known) < 4 or known.min() == known.max():
                raise ModelError(f"the {name} head needs labelled examples of both classes (have {int(np.nansum(column))} positive of {len(known)})")


def pool_weights(y: np.ndarray, pools: np.ndarray | None, pool_weight: float) -> np.ndarray:
    """Row weights for one head: in each pool the known positives and negatives carry equal halves of the pool's
    weight; pool 0 carries `pool_weight` times pool 1. Unknown labels weigh nothing. Mean weight over known rows is 1."""
    known = ~np.isnan(y)
    pools = np.zeros(len(y), dtype=int) if pools is None else pools
    weights = np.zeros(len(y))
    for pool, share in ((0, pool_weight), (1, 1.0)):
        for value in (0.0, 1.0):
            rows = known & (pools == pool) & (y == value)
            if rows.any():
                weights[rows] = share / rows.sum()
    return weights * known.sum() / max(weights.sum(), 1e-12)


def _trainable(y: np.ndarray) -> bool:
    known = y[~np.isnan(y)]
    return len(known) >= 2 * MIN_PER_CLASS and MIN_PER_CLASS <= known.sum() <= len(known) - MIN_PER_CLASS


def _fit(
    x: np.ndarray, y: np.ndarray, c: float, *, balanced: bool, sample_weight: np.ndarray | None = None,
    start: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, float]:
    """One L2 logistic head on the rows whose label is known (`balanced`: classes weigh the same). Returns (weights, bias).

    `start` is where the solver begins (the same optimum, fewer steps): a bootstrap member starts from the full fit."""
    from sklearn.linear_model import LogisticRegression  # scikit-learn is only needed to train, never to score

    known = ~np.isnan(y)
    weight = None if sample_weight is None else sample_weight[known]
    if weight is not None and (weight > 0).sum() == 0:
        weight = None
    model = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=2000, warm_start=start is not None)
    if start is not None:
        model.coef_, model.intercept_ = start[0][None, :].astype(np.float64), np.array([start[1]], dtype=np.float64)
    model.fit(x[known], y[known].astype(int), sample_weight=weight)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _stack(features: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fit p = sigmoid(a*z + b*v + d*w + c) on held-out linear logits z, neighbour votes v and word-head logits w (a
    column of zeros where a signal is left out, so its weight is 0), both classes weighing the same: it weighs the
    signals and calibrates them at once. Returns (a, b, d, c). Regularised (C = 1), because with few positives an
    unregularised fit runs off to huge weights and turns every score into 0 or 1."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000).fit(features, y.astype(int), sample_weight=weight)
    theta = np.append(model.coef_[0], model.intercept_[0])
    if max(theta[0], theta[2]) < MIN_SLOPE:
        # The held-out fit has not seen the linear head (or the word head) work, as for hazard from a handful of
        # examples: keep the linear head's own balanced probabilities rather than flatten its ranking.
        return np.array([1.0, 0.0, 0.0, 0.0])
    # A negative weight would invert that signal's meaning; such a fit is noise, so floor it.
    theta[:-1] = np.maximum(theta[:-1], 0.0)
    return theta


def _group_folds(groups: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    unique = np.unique(groups)
    assignment = rng.permutation(len(unique)) % k
    return assignment[np.searchsorted(unique, groups)]


def _bootstrap_weights(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row weights of one bootstrap sample drawn over groups (an item's views stay together)."""
    unique = np.unique(groups)
    counts = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
    return counts[np.searchsorted(unique, groups)].astype(np.float64)


@dataclass
class WordRows:
    """The training rows whose text is at hand, with their lexicon and tf-idf matrix (scipy sparse)."""

    rows: np.ndarray
    lexicon: Lexicon
    matrix: object


def word_rows(data: TrainingSet) -> WordRows | None:
    """The word head's training rows; None without enough texts for one. The lexicon (terms, document frequencies)
    uses no labels, so one lexicon serves every fold and the final fit."""
    if data.texts is None:
        return None
    rows = np.flatnonzero([text is not None for text in data.texts])
    if len(rows) < 2 * MIN_PER_CLASS:
        return None
    lexicon, matrix = Lexicon.fit([data.texts[i] or "" for i in rows])
    return WordRows(rows, lexicon, matrix)


def _word_row_mask(data: TrainingSet, config: TrainingConfig, head: int) -> np.ndarray:
    """1 on the rows head `head`'s word head trains on, 0 on the set's title rows when its axis is not a title word axis."""
    mask = np.ones(len(data.vectors))
    if data.title_rows is not None and data.heads[head] not in config.title_word_axes:
        mask[data.title_rows] = 0.0
    return mask


def _fit_word_heads(
    words: WordRows, labels: np.ndarray, subset: np.ndarray, config: TrainingConfig, row_weights: dict[int, np.ndarray],
    pool: Executor, starts: dict[int, tuple[np.ndarray, float]] | None = None,
) -> dict[int, Future]:
    """A word head per trainable head in `row_weights`, fitted on `subset` (a mask over the word rows) with those row
    weights: {head: future of (weights, bias)}."""
    matrix, rows = words.matrix[subset], words.rows[subset]  # type: ignore[index]
    fitted = {}
    for h, weight in row_weights.items():
        y = labels[rows, h]
        if _trainable(y):
            fitted[h] = pool.submit(_fit, matrix, y, config.c, balanced=False, sample_weight=weight[rows], start=(starts or {}).get(h))
    return fitted


@dataclass
class Component:
    """One linear head an axis's logit is built from: the axis itself, or one of its facets (see `facet_axes`)."""

    head: str  # the probe head its weights are stored as
    target: np.ndarray  # (n,) 0/1, NaN where the row does not train it
    weight: np.ndarray  # (n,) row weights


def axis_components(data: TrainingSet, config: TrainingConfig, h: int, weight: np.ndarray) -> list[Component]:
    """The heads behind axis `h`: itself, or, for a facet axis, one head per area with enough positives and one for
    the positives none of those areas holds, each against every negative of the axis (positives of other facets
    do not train it). The axis's linear logit is the log-sum-exp of its components' logits. `weight`: the axis's own
    row weights, which a single head keeps."""
    name, y = data.heads[h], data.labels[:, h]
    single = [Component(name, y, weight)]
    if name not in config.facet_axes or not data.facets.get(name):
        return single
    facets, covered = [], np.zeros(len(y), dtype=bool)
    for area in data.facets[name]:
        member = (y == 1) & (data.labels[:, data.heads.index(area)] == 1)
        if member.sum() >= MIN_FACET_POSITIVES:
            facets.append((area.removeprefix(AREA_PREFIX), member))
            covered |= member
    other = (y == 1) & ~covered
    if other.sum() >= MIN_FACET_POSITIVES:
        facets.append(("other", other))
    if len(facets) < 2:
        return single
    components = []
    for facet, member in facets:
        target = np.where(y == 0, 0.0, np.nan)
        target[member] = 1.0
        components.append(Component(f"{FACET_PREFIX}{name}:{facet}", target, pool_weights(target, data.pools, config.pool_weight)))
    return components


def held_out_signals(
    data: TrainingSet, config: TrainingConfig, components: dict[int, list[Component]], pool: Executor,
    words: WordRows | None = None, word_weights: dict[int, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold linear logits (for the axes in `components`, each the log-sum-exp of its components' fits),
    neighbour votes and word-head logits (for the heads in `word_weights`, on the rows with text that their weights
    train on) for every row, from folds that never saw the row's group."""
    rng = np.random.default_rng(config.seed)
    fold = _group_folds(data.groups, config.folds, rng)
    logits = np.full(data.labels.shape, np.nan, dtype=np.float32)
    votes = np.full(data.labels.shape, np.nan, dtype=np.float32)
    word_logits = np.full(data.labels.shape, np.nan, dtype=np.float32)
    anchor_fold = fold[data.anchor_rows]
    for k in range(config.folds):
        train, test = fold != k, fold == k
        anchors = data.anchor_rows[anchor_fold != k]
        votes[test] = neighbour_vote(data.vectors[test], data.vectors[anchors], data.labels[anchors])
        x_train, x_test = data.vectors[train], data.vectors[test]
        fits = {
            h: [pool.submit(_fit, x_train, part.target[train], config.c, balanced=False, sample_weight=part.weight[train])
                for part in parts if _trainable(part.target[train])]
            for h, parts in components.items()
        }
        word_fits = _fit_word_heads(words, data.labels, train[words.rows], config, word_weights, pool) if words is not None and word_weights else {}
        for h, futures in fits.items():
            if futures:
                logits[test, h] = log_sum_exp(np.stack([x_test @ w + b for w, b in (f.result() for f in futures)], axis=-1))
        if words is not None and word_weights:
            tested = words.rows[test[words.rows]]
            for h, future in word_fits.items():
                w, b = future.result()
                trains = word_weights[h][tested] > 0  # rows a word head does not train on are not in its stack either
                word_logits[tested[trains], h] = (words.matrix[test[words.rows]] @ w + b)[trains]  # type: ignore[index]
    return logits, votes, word_logits


def train_probe_set(data: TrainingSet, *, embedder_id: str, label_set: dict, config: TrainingConfig | None = None) -> ProbeSet:
    """Axes: a pool-balanced logistic head (for a facet axis, one per area and their log-sum-exp) stacked with a
    neighbour label vote and, where texts are at hand, a word head; the stack is fitted on held-out folds.

    Member 0 is fitted on every row and gives the score; the other members are bootstrap refits of the vector and
    word heads whose spread is the uncertainty. Areas are evidence, not decisions: one logistic head each, at the
    area's natural frequency.
    """
    # scikit-learn first: its scipy may bring a BLAS of its own, and the limit covers only the libraries loaded already.
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    config = config or TrainingConfig()
    with threadpool_limits(limits=config.blas_threads, user_api="blas"), ThreadPoolExecutor(config.fit_threads) as pool:
        return _train(data, embedder_id, label_set, config, pool)


def _train(data: TrainingSet, embedder_id: str, label_set: dict, config: TrainingConfig, pool: Executor) -> ProbeSet:
    x = data.vectors.astype(np.float32)
    axes = [data.heads.index(name) for name in AXES if name in data.heads]
    word_heads = [h for h in axes if data.heads[h] in config.word_axes]
    row_weights = {h: pool_weights(data.labels[:, h], data.pools, config.pool_weight) for h in axes}
    components = {h: axis_components(data, config, h, row_weights[h]) for h in axes}
    facets = {data.heads[h]: [part.head for part in parts] for h, parts in components.items() if len(parts) > 1}
    heads = list(data.heads) + [head for names in facets.values() for head in names]
    n_heads, dim, members = len(heads), x.shape[1], config.members + 1
    weights = np.zeros((members, n_heads, dim), dtype=np.float32)
    bias = np.full((members, n_heads), -10.0, dtype=np.float32)  # an untrained head says "no" (P ~ 0)
    scale, shift = np.ones(n_heads, dtype=np.float32), np.zeros(n_heads, dtype=np.float32)
    vote_scale, word_scale = np.zeros(n_heads, dtype=np.float32), np.zeros(n_heads, dtype=np.float32)
    words = word_rows(data) if word_heads else None
    word_weights = {h: row_weights[h] * _word_row_mask(data, config, h) for h in word_heads}
    logits, votes, word_logits = held_out_signals(data, config, components, pool, words, word_weights)
    rng = np.random.default_rng(config.seed + 1)
    samples = [np.ones(len(x))] + [_bootstrap_weights(data.groups, rng) for _ in range(config.members)]
    metrics, untrained = {}, []
    # (head row, target, row weight) of every linear head: each axis's components and the areas. Member 0 fits on
    # every row; the bootstrap members start from its weights, so they are fitted after it.
    linear: list[tuple[int, np.ndarray, np.ndarray | None]] = []
    for h, name in enumerate(data.heads):
        y = data.labels[:, h]
        if not _trainable(y):
            untrained.append(name)
            continue
        if h not in axes:
            linear.append((h, y, None))
            continue
        scored = ~np.isnan(y) & ~np.isnan(logits[:, h])
        # With few positive examples the neighbour vote is mostly noise and its stacking weight overfits
        # (leave-one-source-out: hazard from 10 positives fell from 0.77 to 0.52 AUROC), so it is left out.
        use_vote = np.nansum(data.labels[data.anchor_rows, h]) >= MIN_VOTE_POSITIVES
        columns = [logits[:, h], votes[:, h] if use_vote else np.zeros(len(y)), np.zeros(len(y))]
        with_words = scored & ~np.isnan(word_logits[:, h])
        if with_words.sum() >= 2 * MIN_PER_CLASS and _trainable(y[with_words]):
            # The word head exists only on rows with text, so the three-way stack is fitted on those rows.
            scored, columns[2] = with_words, word_logits[:, h]
        features = np.column_stack([c[scored] for c in columns])
        theta = _stack(features, y[scored], row_weights[h][scored])
        scale[h], vote_scale[h], word_scale[h], shift[h] = theta
        calibrated = 1 / (1 + np.exp(-np.clip(features @ theta[:-1] + theta[-1], -30, 30)))
        metrics[name] = binary_report(y[scored], calibrated)
        linear += [(heads.index(part.head), part.target, part.weight) for part in components[h]]
    first = [pool.submit(_fit, x, y, config.c, balanced=False, sample_weight=weight) for _, y, weight in linear]
    for (k, _, _), future in zip(linear, first):
        weights[:, k], bias[:, k] = future.result()  # areas keep member 0's head in every member
    refits = {
        (m, k): pool.submit(_fit, x, y, config.c, balanced=False, sample_weight=weight * samples[m], start=(weights[0, k], float(bias[0, k])))
        for k, y, weight in linear if weight is not None for m in range(1, members)
    }
    for (m, k), future in refits.items():
        weights[m, k], bias[m, k] = future.result()
    word_head, stacked_words = None, [h for h in word_heads if word_scale[h] > 0]
    if words is not None and stacked_words:
        # Each member refits the word heads on its own bootstrap sample too, so the spread covers both heads.
        every = np.ones(len(words.rows), dtype=bool)
        word_head = WordHead(
            lexicon=words.lexicon, heads=[data.heads[h] for h in stacked_words], scale=word_scale[stacked_words],
            weights=np.zeros((members, len(stacked_words), len(words.lexicon.terms)), dtype=np.float32),
            bias=np.zeros((members, len(stacked_words)), dtype=np.float32),
        )
        point = _fit_word_heads(words, data.labels, every, config, {h: word_weights[h] for h in stacked_words}, pool)
        for k, h in enumerate(stacked_words):
            word_head.weights[0, k], word_head.bias[0, k] = point[h].result()
        starts = {h: (word_head.weights[0, k], float(word_head.bias[0, k])) for k, h in enumerate(stacked_words)}
        member_fits = {
            m: _fit_word_heads(words, data.labels, every, config, {h: word_weights[h] * samples[m] for h in stacked_words}, pool, starts)
            for m in range(1, members)
        }
        for m, fitted in member_fits.items():
            for k, h in enumerate(stacked_words):
                word_head.weights[m, k], word_head.bias[m, k] = fitted[h].result()
    card = {
        "embedder_id": embedder_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label_set": label_set,
        "training": asdict(config) | {"design": "pool-balanced logistic head (facet axes: one per area, log-sum-exp) + neighbour vote + word head, stacked on held-out folds"},
        "point_member": True,
        "cv_metrics": metrics,
        "untrained_heads": untrained,
        "rows": int(len(x)),
    }
    in_bag = np.stack([sample[data.anchor_rows] > 0 for sample in samples])
    facet_labels = [part.target[data.anchor_rows] for parts in components.values() if len(parts) > 1 for part in parts]
    return ProbeSet(
        weights=weights, bias=bias, platt_scale=scale, platt_shift=shift, vote_scale=vote_scale,
        heads=heads, anchors=x[data.anchor_rows].astype(np.float16),
        anchor_labels=np.column_stack([data.labels[data.anchor_rows], *facet_labels]).astype(np.float32), anchor_members=in_bag,
        anchor_info=list(data.anchor_info), card=card | {"facets": facets},
        word_head=word_head,
    )


def head_names(areas: list[str]) -> list[str]:
    return [*AXES, *(AREA_PREFIX + a for a in areas)]
