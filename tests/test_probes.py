"""Probe training, calibration, uncertainty and the safe file format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.errors import ModelError
from models.metrics import auroc, expected_calibration_error
from models.probe_training import TrainingConfig, TrainingSet, head_names, pool_weights, train_probe_set
from models.probes import load_probe
from triage.labels import training_rows
from triage.seed import axis_facets, load_seed, taxonomy_areas

FAST = TrainingConfig(members=4, folds=3)


def _seed_split(fraction: float = 0.6, seed: int = 0):
    items = list(load_seed())
    order = np.random.default_rng(seed).permutation(len(items))
    cut = int(len(items) * fraction)
    return [items[i].to_label() for i in order[:cut]], [items[i].to_label() for i in order[cut:]]


def _training_set(labels, embed, *, words: bool = True) -> TrainingSet:
    areas = taxonomy_areas()
    texts, y, groups, anchors, info = training_rows(labels, areas)
    return TrainingSet(
        vectors=embed(texts), labels=y, heads=head_names(areas), groups=groups, anchor_rows=np.array(anchors), anchor_info=info,
        texts=list(texts) if words else None, facets=axis_facets(),
    )


@pytest.fixture(scope="module")
def real_split(real_embedder, seeded_real_home):
    from triage.embedding import embed_texts
    from triage.workspace_data import open_store

    with open_store(seeded_real_home) as store:
        embed = lambda texts: embed_texts(store, real_embedder, texts)[0]  # noqa: E731
        train, test = _seed_split()
        data = _training_set(train, embed)
        test_vectors = embed([item.text for item in test])
    return data, test, test_vectors


def test_training_separates_held_out_items(real_split):
    data, test, test_vectors = real_split
    probe = train_probe_set(data, embedder_id="real", label_set={}, config=FAST)
    prediction = probe.predict(test_vectors, [t.text for t in test])
    safety = np.array([t.safety for t in test])
    capabilities = np.array([t.capabilities for t in test])
    assert auroc(safety, prediction.mean[:, 0]) >= 0.9
    assert auroc(capabilities, prediction.mean[:, 1]) >= 0.9


def test_calibration_reduces_ece_on_a_held_out_split(real_split):
    data, test, test_vectors = real_split
    probe = train_probe_set(data, embedder_id="real", label_set={}, config=FAST)
    raw = probe.linear_logits(test_vectors)
    y = np.array([t.safety for t in test])
    uncalibrated = (1 / (1 + np.exp(-raw[:, :, 0]))).mean(axis=0)
    calibrated = probe.predict(test_vectors, [t.text for t in test]).mean[:, 0]
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, uncalibrated)
    assert probe.platt_scale[0] > 0 and probe.vote_scale[0] >= 0


def test_ensemble_spread_is_larger_far_from_the_training_data(real_split, real_embedder):
    data, test, test_vectors = real_split
    probe = train_probe_set(data, embedder_id="real", label_set={}, config=FAST)
    far_texts = [
        "A slow-cooked beef stew with carrots, red wine and thyme.",
        "The striker scored twice in the second half to win the cup final.",
        "Tenants must give two months' written notice before ending the lease.",
        "Prune roses in late winter, cutting just above an outward-facing bud.",
        "The cathedral's stained glass dates from the thirteenth century.",
        "Knit the sleeves in the round on smaller needles.",
    ]
    far = real_embedder.encode(far_texts)
    near_std = probe.predict(test_vectors, [t.text for t in test]).std[:, :2].mean()
    far_std = probe.predict(far, far_texts).std[:, :2].mean()
    assert far_std > 1.1 * near_std  # measured 1.22x with the stacked design; the similarity check below carries OOD
    near_sim = probe.nearest_labelled(test_vectors, 1)[1].mean()
    far_sim = probe.nearest_labelled(far, 1)[1].mean()
    assert far_sim < 0.3 < near_sim


def _tiny_probe(tmp_path, fake_embedder):
    labels = [item.to_label() for item in load_seed()[::6]]
    probe = train_probe_set(_training_set(labels, fake_embedder.encode), embedder_id=fake_embedder.model_id, label_set={"hash": "x"}, config=FAST)
    return probe.save(tmp_path / "probes")


def test_a_saved_probe_loads_back_identically(tmp_path, fake_embedder):
    folder = _tiny_probe(tmp_path, fake_embedder)
    loaded = load_probe(folder)
    texts = ["interpretability of attention heads", "faster kernels"]
    vectors = fake_embedder.encode(texts)
    assert loaded.version == folder.name
    assert loaded.word_head is not None and (folder / "lexicon.json").is_file()
    original = train_probe_set(
        _training_set([item.to_label() for item in load_seed()[::6]], fake_embedder.encode), embedder_id=fake_embedder.model_id,
        label_set={"hash": "x"}, config=FAST,
    )
    # Every member refits the word head on its bootstrap sample, so the spread covers the word head too.
    assert loaded.word_head is not None and loaded.word_head.weights.shape[0] == FAST.members + 1
    assert not np.allclose(loaded.word_head.weights[0], loaded.word_head.weights[1])
    # The anchors' labels (0, 1, NaN) are stored as float16, which holds each exactly.
    assert loaded.anchor_labels.dtype == np.float32 and np.isnan(original.anchor_labels).any()
    assert np.array_equal(loaded.anchor_labels, original.anchor_labels, equal_nan=True)
    # The word weights are stored as float16: scores agree to well under the 4 digits a score record keeps.
    assert np.allclose(loaded.predict(vectors, texts).mean, original.predict(vectors, texts).mean, atol=2e-3)
    text = (folder / "card.json").read_text()
    card = json.loads(text)
    assert {"embedder_id", "label_set", "cv_metrics", "created_at", "version", "weights_sha256", "lexicon_sha256"} <= set(card)
    assert card == loaded.card and card["anchor_info"] == original.anchor_info
    # One line per labelled anchor: an indented field per line would add close to a megabyte to the default probe.
    assert len(text.splitlines()) < len(card["anchor_info"]) + 200


def test_a_probe_with_a_word_head_needs_the_texts(tmp_path, fake_embedder):
    probe = load_probe(_tiny_probe(tmp_path, fake_embedder))
    with pytest.raises(ModelError, match="word head"):
        probe.predict(fake_embedder.encode(["faster kernels"]))


def test_a_tampered_lexicon_is_refused(tmp_path, fake_embedder):
    folder = _tiny_probe(tmp_path, fake_embedder)
    terms = json.loads((folder / "lexicon.json").read_text())
    terms[0] = "jailbreak"
    (folder / "lexicon.json").write_text(json.dumps(terms))
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_probe(folder)
    (folder / "lexicon.json").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_probe(folder)


def test_without_texts_there_is_no_word_head_and_vectors_alone_score(fake_embedder):
    labels = [item.to_label() for item in load_seed()[::6]]
    probe = train_probe_set(_training_set(labels, fake_embedder.encode, words=False), embedder_id="t", label_set={}, config=FAST)
    assert probe.word_head is None and probe.predict(fake_embedder.encode(["faster kernels"])).mean.shape == (1, len(probe.heads))


def test_truncated_weights_are_refused(tmp_path, fake_embedder):
    folder = _tiny_probe(tmp_path, fake_embedder)
    weights = folder / "probe.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_probe(folder)


def test_tampered_weights_are_refused(tmp_path, fake_embedder):
    folder = _tiny_probe(tmp_path, fake_embedder)
    weights = folder / "probe.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_probe(folder)


def test_an_edited_card_is_refused(tmp_path, fake_embedder):
    folder = _tiny_probe(tmp_path, fake_embedder)
    card = json.loads((folder / "card.json").read_text())
    card["cv_metrics"]["safety"]["auroc"] = 0.999
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="modified"):
        load_probe(folder)


def test_a_pickle_in_place_of_the_weights_is_refused(tmp_path, fake_embedder):
    import pickle

    folder = _tiny_probe(tmp_path, fake_embedder)
    (folder / "probe.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelError):
        load_probe(folder)


def test_training_without_both_classes_is_a_clear_error(fake_embedder):
    labels = [item.to_label() for item in load_seed() if item.safety == 1][:30]
    for label in labels:
        label.capabilities = 0
    with pytest.raises(ModelError, match="both classes"):
        _training_set(labels, fake_embedder.encode)


def test_pool_weights_balance_the_classes_of_each_pool_and_scale_the_pools():
    y = np.array([1, 0, 0, 0, 0, 0, 1, 0, np.nan])
    pools = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0])
    w = pool_weights(y, pools, 4.0)
    arxiv, own = pools == 1, pools == 0
    assert w[arxiv & (y == 1)].sum() == pytest.approx(w[arxiv & (y == 0)].sum())
    assert w[own & (y == 1)].sum() == pytest.approx(w[own & (y == 0)].sum())
    assert w[own].sum() == pytest.approx(4.0 * w[arxiv].sum())
    assert w[8] == 0 and w[:8].mean() == pytest.approx(1.0)
    assert np.allclose(pool_weights(y, None, 4.0)[y == 1].sum(), pool_weights(y, None, 4.0)[y == 0].sum())


def test_the_written_pool_outweighs_a_larger_pool_that_disagrees():
    """Pool 0 labels by the first coordinate, a pool ten times its size by the second: the pool weight decides."""
    rng = np.random.default_rng(0)
    own, big = rng.normal(size=(60, 8)), rng.normal(size=(600, 8))
    x = np.concatenate([own, big]).astype(np.float32)
    labels = np.concatenate([own[:, 0] > 0, big[:, 1] > 0]).astype(np.float32)
    y = np.column_stack([labels, labels, np.full(len(x), np.nan)])
    pools = np.concatenate([np.zeros(60, int), np.ones(600, int)])
    probe_x = np.eye(8, dtype=np.float32)[:2]  # a pure first-coordinate and a pure second-coordinate point

    def first_minus_second(pool_weight: float) -> float:
        data = TrainingSet(vectors=x, labels=y, heads=["safety", "capabilities", "hazard"], groups=np.arange(len(x)),
                           anchor_rows=np.arange(len(x)), pools=pools)
        logit = train_probe_set(data, embedder_id="t", label_set={}, config=TrainingConfig(members=2, folds=3, pool_weight=pool_weight)).predict(probe_x).logit
        return float(logit[0, 0] - logit[1, 0])

    assert first_minus_second(20.0) > 0 > first_minus_second(0.05)


def test_titles_train_the_topic_word_heads_but_not_hazard(fake_embedder):
    """Shipped titles teach safety and capabilities words; a title does not say whether a text hands over an attack."""
    data = _training_set([item.to_label() for item in load_seed()[::6]], fake_embedder.encode)
    titles = [f"zebraword attack study {i}" for i in range(40)] + [f"quokkaword survey {i}" for i in range(40)]
    rows = np.full((len(titles), data.labels.shape[1]), np.nan, dtype=np.float32)
    for axis in ("safety", "hazard"):
        rows[:, data.heads.index(axis)] = [1.0] * 40 + [0.0] * 40
    n = len(data.vectors)
    data = TrainingSet(
        vectors=np.concatenate([data.vectors, fake_embedder.encode(titles)]), labels=np.concatenate([data.labels, rows]),
        heads=data.heads, groups=np.concatenate([data.groups, np.arange(len(titles)) + data.groups.max() + 1]),
        anchor_rows=data.anchor_rows, anchor_info=data.anchor_info, pools=np.concatenate([np.zeros(n, int), np.ones(len(titles), int)]),
        texts=list(data.texts or []) + titles, title_rows=np.arange(n + len(titles)) >= n,
    )
    word_head = train_probe_set(data, embedder_id="t", label_set={}, config=FAST).word_head
    assert word_head is not None
    term = word_head.lexicon.terms.index("zebraword")
    weight = dict(zip(word_head.heads, word_head.weights[0, :, term]))
    assert weight["safety"] > 0.1 and weight["hazard"] == 0.0


def test_training_runs_on_one_blas_thread_and_leaves_the_setting_as_it_was(fake_embedder, monkeypatch):
    import faiss  # noqa: F401  (both may load a BLAS of their own: all are loaded before `before` is read)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_info

    import models.probe_training as training

    def blas_threads() -> set[int]:
        # The solvers' BLAS: numpy's and scipy's. FAISS ships an OpenMP build of OpenBLAS that follows its OpenMP
        # threads and serves only the vote's neighbour search.
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas" and "faiss" not in pool["filepath"]}

    seen: list[set[int]] = []
    fit = training._fit

    def watching_fit(*args, **kwargs):
        seen.append(blas_threads())
        return fit(*args, **kwargs)

    monkeypatch.setattr(training, "_fit", watching_fit)
    labels = [item.to_label() for item in load_seed()[::6]]
    data = _training_set(labels, fake_embedder.encode, words=False)
    before = blas_threads()
    train_probe_set(data, embedder_id="t", label_set={}, config=FAST)
    assert seen and all(threads == {1} for threads in seen)
    assert blas_threads() == before
    seen.clear()
    train_probe_set(data, embedder_id="t", label_set={}, config=TrainingConfig(members=4, folds=3, blas_threads=None))
    assert seen and all(threads == before for threads in seen)


def _two_cluster_safety(seed: int):
    """Safety positives in two unlike areas on opposite sides of the negatives: no one hyperplane separates them."""
    rng = np.random.default_rng(seed)
    n = 150
    negatives = rng.normal(size=(2 * n, 8))
    first, second = rng.normal(size=(n, 8)), rng.normal(size=(n, 8))
    first[:, 0] += 4.0
    second[:, 0] -= 4.0
    x = np.concatenate([negatives, first, second]).astype(np.float32)
    safety = np.r_[np.zeros(2 * n), np.ones(2 * n)]
    areas = np.zeros((len(x), 2))
    areas[2 * n : 3 * n, 0], areas[3 * n :, 1] = 1, 1
    capabilities = (x[:, 1] > 0).astype(float)
    return x, np.column_stack([safety, capabilities, np.full(len(x), np.nan), areas]).astype(np.float32)


def test_a_safety_union_of_unlike_areas_is_learnt_by_its_facets(tmp_path):
    heads, facets = ["safety", "capabilities", "hazard", "area:interpretability", "area:theory"], {"safety": ["area:interpretability", "area:theory"]}
    x, y = _two_cluster_safety(0)
    test_x, test_y = _two_cluster_safety(1)
    data = TrainingSet(vectors=x, labels=y, heads=heads, groups=np.arange(len(x)), anchor_rows=np.arange(len(x)), facets=facets)

    def linear_auroc(config: TrainingConfig) -> float:
        probe = train_probe_set(data, embedder_id="t", label_set={}, config=config)
        return auroc(test_y[:, 0], probe.linear_logits(test_x)[0, :, 0])

    assert linear_auroc(TrainingConfig(members=2, folds=3, facet_axes=())) < 0.75
    assert linear_auroc(TrainingConfig(members=2, folds=3)) > 0.95
    saved = load_probe(train_probe_set(data, embedder_id="t", label_set={}, config=TrainingConfig(members=2, folds=3)).save(tmp_path))
    assert saved.card["facets"] == {"safety": ["facet:safety:interpretability", "facet:safety:theory"]}
    assert auroc(test_y[:, 0], saved.predict(test_x).mean[:, 0]) > 0.95


def test_each_facet_trains_on_its_own_positives_and_rare_areas_join_the_other_facet():
    from models.probe_training import MIN_FACET_POSITIVES, axis_components

    many, few = MIN_FACET_POSITIVES, MIN_FACET_POSITIVES // 2
    # rows: `many` in area a, `few` in area b, `many` positives with no area, then `many` negatives
    safety = np.r_[np.ones(2 * many + few), np.zeros(many)]
    area_a = np.r_[np.ones(many), np.zeros(many + few + many)]
    area_b = np.r_[np.zeros(many), np.ones(few), np.zeros(2 * many)]
    labels = np.column_stack([safety, np.r_[np.ones(4), np.zeros(len(safety) - 4)], np.full(len(safety), np.nan), area_a, area_b])
    data = TrainingSet(
        vectors=np.zeros((len(safety), 4), np.float32), labels=labels.astype(np.float32),
        heads=["safety", "capabilities", "hazard", "area:a", "area:b"], groups=np.arange(len(safety)), anchor_rows=np.arange(len(safety)),
        facets={"safety": ["area:a", "area:b"]},
    )
    parts = {part.head: part.target for part in axis_components(data, TrainingConfig(), 0, np.ones(len(safety)))}
    assert list(parts) == ["facet:safety:a", "facet:safety:other"]
    a, other = parts["facet:safety:a"], parts["facet:safety:other"]
    assert np.nansum(a) == many and np.isnan(a[many : 2 * many + few]).all() and (a[2 * many + few :] == 0).all()
    assert np.nansum(other) == many + few and np.isnan(other[:many]).all()
    assert [part.head for part in axis_components(data, TrainingConfig(facet_axes=()), 0, np.ones(len(safety)))] == ["safety"]
    assert [part.head for part in axis_components(data, TrainingConfig(), 1, np.ones(len(safety)))] == ["capabilities"]


def test_fitting_heads_at_once_gives_the_same_probe(fake_embedder):
    data = _training_set([item.to_label() for item in load_seed()[::6]], fake_embedder.encode)
    one, two = (
        train_probe_set(data, embedder_id="t", label_set={}, config=TrainingConfig(members=2, folds=3, fit_threads=threads))
        for threads in (1, 2)
    )
    assert one.heads == two.heads and np.array_equal(one.weights, two.weights) and np.array_equal(one.platt_scale, two.platt_scale)
    assert one.word_head is not None and two.word_head is not None and np.array_equal(one.word_head.weights, two.word_head.weights)


def test_the_training_vote_finds_the_same_neighbours_as_the_scoring_vote():
    from models.probes import neighbour_vote

    rng = np.random.default_rng(0)
    anchors, vectors = rng.normal(size=(300, 16)).astype(np.float32), rng.normal(size=(40, 16)).astype(np.float32)
    labels = (rng.random((300, 3)) < 0.3).astype(np.float32)
    labels[::7, 1] = np.nan
    assert np.allclose(neighbour_vote(vectors, anchors, labels), neighbour_vote(vectors, anchors, labels, sims=vectors @ anchors.T), atol=1e-5)
    assert neighbour_vote(vectors, anchors[:5], labels[:5]).shape == (40, 3)  # fewer anchors than neighbours
