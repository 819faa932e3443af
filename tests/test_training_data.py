"""The shipped training data: labels that follow the guide, the arXiv labels' vectors, and their checksums."""

from __future__ import annotations

import numpy as np
import pytest

from models.embedders import BUNDLED_MODEL_ID, FakeEmbedder
from models.errors import ModelError
from triage import label_vectors
from triage.label_vectors import bundled_labels, bundled_list_labels, bundled_title_labels, bundled_vectors, shipped_text_vectors
from triage.labels import build_training_set
from triage.seed import area_side, load_seed, taxonomy_areas
from triage.workspace_data import open_store


def _clear_caches() -> None:
    label_vectors._shipped.cache_clear()
    shipped_text_vectors.cache_clear()


def test_the_arxiv_labels_cover_every_axis_and_use_known_areas():
    labels = bundled_labels()
    known = set(taxonomy_areas())
    assert len(labels) == 10000  # the whole CC0 sample, each abstract read against the guide
    assert all(set(b.areas) <= known for b in labels)
    for axis in ("safety", "capabilities", "hazard"):
        values = [getattr(b, axis) for b in labels]
        assert None not in values and 0 < sum(values) < len(values), axis


def test_the_title_only_labels_are_other_papers_and_follow_the_guide():
    """Labels read from titles alone: papers the arXiv sample does not hold, each axis known for nearly all of them."""
    titles, side = bundled_title_labels(), area_side()
    assert len(titles) > 2500
    assert not {b.arxiv_id for b in titles} & {b.arxiv_id for b in bundled_labels()}
    assert all(b.areas and set(b.areas) <= set(side) for b in titles)
    assert all(any(side[a] == "safety" for a in b.areas) for b in titles if b.safety == 1)
    for axis in ("safety", "capabilities", "hazard"):
        values = [getattr(b, axis) for b in titles]
        assert values.count(None) < 0.01 * len(values) and 0 < sum(v or 0 for v in values) < len(values), axis


def test_the_list_labels_are_the_projects_labels_of_the_two_lists_titles_only():
    """The newsletter's and the bibliography's items ship as titles with the project's labels (read from their texts,
    which do not ship), one row per title, derived from bench/data/outside_guide_labels.jsonl by the rebuild script."""
    import json

    from scripts.rebuild_label_vectors import GUIDE_LABELS, list_title_labels

    lists, known = bundled_list_labels(), set(taxonomy_areas())
    rows = [json.loads(line) for line in GUIDE_LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [(b.title, b.safety, b.capabilities, b.hazard, list(b.areas), list(b.lists)) for b in lists] == [
        (r["title"], r["safety"], r["capabilities"], r["hazard"], r["areas"], r["lists"]) for r in list_title_labels(rows)
    ]
    assert len(lists) > 1900 and all(b.arxiv_id is None and set(b.areas) <= known for b in lists)
    assert {name for b in lists for name in b.lists} == {"alignment-newsletter", "tai-bibliography"}
    assert 0 < sum(1 for b in lists if len(b.lists) == 2) < 400  # the two lists share some papers; they ship once
    for axis in ("safety", "capabilities"):
        values = [getattr(b, axis) for b in lists]
        assert values.count(None) < 0.01 * len(values) and 0.2 * len(values) < sum(v or 0 for v in values) < 0.8 * len(values), axis


def test_the_shipped_vectors_match_their_labels_row_for_row():
    shipped = bundled_vectors(BUNDLED_MODEL_ID)
    assert shipped is not None and shipped.text_vectors.shape == (len(shipped.labels), 384) == shipped.title_vectors.shape
    assert shipped.title_only_vectors.shape == (len(shipped.title_only_labels), 384)
    assert shipped.list_vectors.shape == (len(shipped.list_labels), 384)
    for vectors in (shipped.text_vectors, shipped.title_only_vectors, shipped.list_vectors):
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)


def test_seed_labels_follow_the_scope_rule():
    """Societal work is neither safety nor capabilities: no seed item whose areas are all societal is labelled safety."""
    side = area_side()
    societal_only = [item for item in load_seed() if item.areas and all(side[a] == "societal" for a in item.areas)]
    assert len(societal_only) >= 40
    assert all(item.safety == 0 for item in societal_only)
    assert sum(1 for item in load_seed() if item.hazard == 1) >= 50


def test_other_models_get_no_bundled_vectors():
    assert bundled_vectors("fake-hash-64") is None and shipped_text_vectors("fake-hash-64") == {}


def test_a_new_workspace_trains_on_the_bundled_model_without_embedding_the_seed(workspace):
    """The package ships the bundled model's vectors of the seed texts and arXiv labels: first use embeds nothing."""
    embedder = FakeEmbedder(dim=384)
    embedder.model_id = BUNDLED_MODEL_ID  # stands in for the real model: every vector it would need is shipped
    with open_store(workspace) as store:
        data, summary = build_training_set(store, embedder)
    assert embedder.texts_embedded == 0
    assert summary["by_source"]["arxiv-sample"] == len(bundled_labels())
    assert summary["by_source"]["arxiv-titles"] == len(bundled_title_labels())
    assert summary["by_source"]["list-titles"] == len(bundled_list_labels())
    # Every paper's abstract view anchors it; a title alone never does.
    assert len(data.anchor_rows) == len(load_seed()) + len(bundled_labels())
    # The word head trains on the seed texts and every shipped title, never on an abstract (they do not ship).
    titles = {b.title for b in bundled_labels() + bundled_title_labels() + bundled_list_labels()}
    with_text = [t for t in data.texts if t is not None]
    assert len(with_text) == len(data.texts) - len(bundled_labels()) and titles <= set(with_text)


def test_a_damaged_vectors_file_is_refused(monkeypatch):
    original = label_vectors._data

    def tampered(name: str) -> bytes:
        blob = original(name)
        return blob[:-8] + bytes(8) if name == label_vectors.VECTORS_FILE else blob

    monkeypatch.setattr(label_vectors, "_data", tampered)
    _clear_caches()
    try:
        with pytest.raises(ModelError, match="checksum"):
            bundled_vectors(BUNDLED_MODEL_ID)
    finally:
        monkeypatch.undo()
        _clear_caches()


def test_label_files_carry_hazard(tmp_path, workspace):
    from triage.labels import import_labels

    path = tmp_path / "labels.csv"
    path.write_text("title,abstract,safety,capabilities,hazard\nA jailbreak,We release prompts that work.,1,0,1\nOnly hazard,Text.,,,0\n")
    report = import_labels(workspace, path)
    assert report.counts.inserted == 2
    with open_store(workspace) as store:
        mine = {label.title: label.hazard for label in store.get_labels([f"user:{path.name}"])}
    assert mine == {"A jailbreak": 1, "Only hazard": 0}
