"""The project's labels of arXiv papers, shipped as ids, titles and labels plus the bundled model's vectors of them.

Three label files: the arXiv sample's papers, labelled from title and abstract; the papers of the alignment-graph
list, labelled from the title alone (no abstract is at hand for them); and the items of the Alignment Newsletter and
the TAI Safety Bibliography, labelled from the newsletter's summary or the bibliography's abstract, of which only the
title ships (the text is not CC0), derived by the rebuild script from bench/data/outside_guide_labels.jsonl. The
abstracts are CC0 arXiv metadata but are not the project's text, so they do not ship: the bundled model's float16
vectors of "title. abstract" and of each title do, checksummed, and `scripts/rebuild_label_vectors.py` rebuilds them from ../shared. They train the default
probe only for the model that made them; with another `--model` a probe trains on the seed texts (and the user's
labels). The titles ship as facts, so the probe's word head trains on them too.

The same file holds the bundled model's vectors of the seed texts, keyed by their content hash, so a new
workspace trains its first probe without embedding the seed (embed_texts treats them as cached).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from corpus.records import Paper
from models.errors import ModelError

if TYPE_CHECKING:  # numpy loads only where vectors are read
    import numpy as np

SAMPLE = "arxiv-daily-cs-sample/arxiv_cs_CL_AI_LG_sample10k.jsonl.gz"  # under ../shared/data: where the labels come from
LABELS_FILE = "arxiv_labels.jsonl"
TITLE_LABELS_FILE = "arxiv_title_labels.jsonl"  # labelled from the title alone
LIST_LABELS_FILE = "list_title_labels.jsonl"  # the newsletter's and the bibliography's items: only their titles ship
VECTORS_FILE = "arxiv_label_vectors.safetensors"
CARD_FILE = "arxiv_label_vectors.json"
SOURCE = "arxiv-sample"
TITLE_SOURCE = "arxiv-titles"
LIST_SOURCE = "list-titles"
# The two lists by the name the guide labels give them, and the name each shipped row records in `lists`.
LIST_NAMES = {"Alignment Newsletter": "alignment-newsletter", "TAI bibliography": "tai-bibliography"}


@dataclass(frozen=True)
class BundledLabel:
    arxiv_id: str | None  # None for the lists' items, most of which have no arXiv id
    title: str
    safety: int | None
    capabilities: int | None
    hazard: int | None
    areas: tuple[str, ...]
    lists: tuple[str, ...] = ()  # which of the two lists hold the item (a benchmark holds a list out by it)


@dataclass(frozen=True)
class BundledVectors:
    """Labels with one vector of the paper ("title. abstract") and one of its title, row for row; and the labels of
    papers whose title alone ships (read from titles alone, or from the lists' texts), with their title vectors."""

    model_id: str
    labels: tuple[BundledLabel, ...]
    text_vectors: np.ndarray  # (n, dim) float32
    title_vectors: np.ndarray  # (n, dim) float32
    title_only_labels: tuple[BundledLabel, ...]
    title_only_vectors: np.ndarray  # (m, dim) float32
    list_labels: tuple[BundledLabel, ...]
    list_vectors: np.ndarray  # (k, dim) float32


def _data(name: str) -> bytes:
    return resources.files("triage").joinpath("data", name).read_bytes()


def bundled_labels() -> tuple[BundledLabel, ...]:
    """The arXiv sample's labels (from title and abstract)."""
    return _read_labels(LABELS_FILE)


def bundled_title_labels() -> tuple[BundledLabel, ...]:
    """The labels read from titles alone."""
    return _read_labels(TITLE_LABELS_FILE)


def bundled_list_labels() -> tuple[BundledLabel, ...]:
    """The newsletter's and the bibliography's items, labelled from their texts, titles only."""
    return _read_labels(LIST_LABELS_FILE)


@cache
def _read_labels(name: str) -> tuple[BundledLabel, ...]:
    rows = [json.loads(line) for line in _data(name).decode("utf-8").splitlines() if line.strip()]
    return tuple(
        BundledLabel(
            arxiv_id=r.get("arxiv_id"), title=r["title"], safety=r.get("safety"), capabilities=r.get("capabilities"),
            hazard=r.get("hazard"), areas=tuple(r.get("areas", ())), lists=tuple(r.get("lists", ())),
        )
        for r in rows
    )


def labels_digest(labels: tuple[BundledLabel, ...]) -> str:
    """Which papers, in which order: the vectors file records it, so labels and vectors cannot drift apart."""
    return hashlib.sha256("\n".join(label.arxiv_id or label.title for label in labels).encode()).hexdigest()


@cache
def _shipped(model_id: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The card and tensors when the shipped vectors were made by `model_id`, else None. A damaged file is refused."""
    from safetensors.numpy import load

    card = json.loads(_data(CARD_FILE))
    if card.get("model_id") != model_id:
        return None
    blob = _data(VECTORS_FILE)
    if hashlib.sha256(blob).hexdigest() != card.get("sha256"):
        raise ModelError(f"the bundled {VECTORS_FILE} does not match its checksum; reinstall the package")
    import numpy as np

    return card, {name: tensor.astype(np.float32) for name, tensor in load(blob).items()}


def bundled_vectors(model_id: str) -> BundledVectors | None:
    """The shipped arXiv labels with their vectors, when they were made by `model_id`."""
    shipped = _shipped(model_id)
    if shipped is None:
        return None
    card, tensors = shipped
    labels, title_only, lists = bundled_labels(), bundled_title_labels(), bundled_list_labels()
    digests = (labels_digest(labels), labels_digest(title_only), labels_digest(lists))
    if (card.get("labels_sha256"), card.get("title_labels_sha256"), card.get("list_labels_sha256")) != digests:
        raise ModelError(f"the bundled {VECTORS_FILE} was built for other labels; run scripts/rebuild_label_vectors.py")
    return BundledVectors(
        model_id=model_id, labels=labels, text_vectors=tensors["text"], title_vectors=tensors["title"],
        title_only_labels=title_only, title_only_vectors=tensors["title_only"], list_labels=lists, list_vectors=tensors["list_titles"],
    )


@cache
def shipped_text_vectors(model_id: str) -> dict[str, np.ndarray]:
    """{content hash: vector} of the seed texts, when the shipped vectors were made by `model_id` for this seed."""
    from triage.seed import seed_version

    shipped = _shipped(model_id)
    if shipped is None or shipped[0].get("seed_version") != seed_version():
        return {}
    card, tensors = shipped
    return dict(zip(card["seed_hashes"], tensors["seed"]))


def labelled_sample_papers(sample: Path) -> tuple[list[Paper], list[str]]:
    """For maintainers' scripts and benches: the labelled papers read from the shared arXiv sample, in label order,
    and the labelled ids the sample lacks."""
    records = {}
    with gzip.open(sample, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            records[row["id"]] = row
    labels = bundled_labels()
    missing = [str(label.arxiv_id) for label in labels if label.arxiv_id not in records]
    papers = [
        Paper(title=records[label.arxiv_id]["title"], abstract=records[label.arxiv_id]["summary"], source="arxiv")
        for label in labels if label.arxiv_id in records
    ]
    return papers, missing
