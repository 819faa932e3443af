"""Rebuild triage/data/arxiv_label_vectors.safetensors from the arXiv sample in ../shared (maintainers only).

Run: .venv/bin/python scripts/rebuild_label_vectors.py [--shared ../shared/data]
It writes triage/data/list_title_labels.jsonl from bench/data/outside_guide_labels.jsonl (the project's labels of the
Alignment Newsletter's and the TAI bibliography's items: titles and labels only, one row per title). It embeds
"title. abstract" and the title of every paper in triage/data/arxiv_labels.jsonl, and the title of every paper in
triage/data/arxiv_title_labels.jsonl and list_title_labels.jsonl, with the bundled model (fp32, the same vectors as
sentence-transformers), stores them as float16, and writes the card with checksums.
Vectors are cached in a workspace under bench/out/, so a rerun embeds only new papers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.probe_training import AXES  # noqa: E402
from triage.label_vectors import LIST_NAMES, SAMPLE  # noqa: E402

GUIDE_LABELS = ROOT / "bench" / "data" / "outside_guide_labels.jsonl"


def list_title_labels(guide_rows: list[dict]) -> list[dict]:
    """One row per title (normalised) across both lists, in file order. Where the two lists' texts of one paper were
    read differently, that axis is left unknown; the areas are the union of both readings."""
    from corpus.records import normalise_title

    merged: dict[str, dict] = {}
    for row in guide_rows:
        title = " ".join(row["title"].split())
        item = merged.setdefault(normalise_title(title), {"title": title, "lists": [], "areas": [], **{a: row[a] for a in AXES}})
        if LIST_NAMES[row["source"]] not in item["lists"]:
            item["lists"].append(LIST_NAMES[row["source"]])
        for axis in AXES:
            if item[axis] != row[axis]:
                item[axis] = None
        item["areas"] += [a for a in row["areas"] if a not in item["areas"]]
    return [{k: item[k] for k in ("title", *AXES, "areas", "lists")} for item in merged.values()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    sample = args.shared / SAMPLE
    if not sample.is_file():
        print(f"rebuild_label_vectors: {sample} not found; it needs the shared arXiv sample", file=sys.stderr)
        return 2

    import numpy as np
    from safetensors.numpy import save

    from corpus.records import content_hash
    from models.embedders import make_embedder
    from triage.embedding import embed_texts
    from triage.label_vectors import (
        CARD_FILE,
        LABELS_FILE,
        LIST_LABELS_FILE,
        TITLE_LABELS_FILE,
        VECTORS_FILE,
        bundled_labels,
        bundled_list_labels,
        bundled_title_labels,
        labelled_sample_papers,
        labels_digest,
    )
    from triage.labels import training_rows
    from triage.progress import Reporter
    from triage.seed import load_seed, seed_version
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    data = ROOT / "triage" / "data"
    guide_rows = [json.loads(line) for line in GUIDE_LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    (data / LIST_LABELS_FILE).write_text("".join(json.dumps(row) + "\n" for row in list_title_labels(guide_rows)), encoding="utf-8")
    labels, title_only, lists = bundled_labels(), bundled_title_labels(), bundled_list_labels()
    papers, missing = labelled_sample_papers(sample)
    if missing:
        print(f"rebuild_label_vectors: {len(missing)} labelled ids are not in the sample, e.g. {missing[:3]}", file=sys.stderr)
        return 1
    workspace = Workspace(ROOT / "bench" / "out" / "label-vectors-home")
    embedder = make_embedder(backend="onnx", cache_dir=workspace.home / "models")
    with open_store(workspace, seed=False) as store:
        text, _ = embed_texts(store, embedder, [p.embedding_text() for p in papers], reporter=Reporter(), label="abstracts")
        title, _ = embed_texts(store, embedder, [" ".join(p.title.split()) for p in papers], reporter=Reporter(), label="titles")
        only, _ = embed_texts(store, embedder, [" ".join(b.title.split()) for b in title_only], reporter=Reporter(), label="titles alone")
        listed, _ = embed_texts(store, embedder, [b.title for b in lists], reporter=Reporter(), label="the lists' titles")
        # The seed's label texts and titles (the views a probe trains on), keyed by content hash.
        seed_texts = list(dict.fromkeys(t for item in load_seed() for t in training_rows([item.to_label()], [])[0]))
        seed, _ = embed_texts(store, embedder, seed_texts, reporter=Reporter(), label="seed texts")
    tensors = {"text": text, "title": title, "title_only": only, "list_titles": listed, "seed": seed}
    blob = save({k: v.astype(np.float16) for k, v in tensors.items()}, metadata={"model_id": embedder.model_id})
    (data / VECTORS_FILE).write_bytes(blob)
    card = {
        "model_id": embedder.model_id, "rows": len(labels), "dtype": "float16", "sha256": hashlib.sha256(blob).hexdigest(),
        "labels_file": LABELS_FILE, "labels_sha256": labels_digest(labels), "rebuild": "python scripts/rebuild_label_vectors.py",
        "source": "../shared/data/" + SAMPLE + " (arXiv metadata, CC0)",
        "title_only_rows": len(title_only), "title_labels_file": TITLE_LABELS_FILE, "title_labels_sha256": labels_digest(title_only),
        "title_only_source": "titles of the papers in ../shared/data/alignment-graph/graph.json (arXiv metadata), labelled from the title alone",
        "list_rows": len(lists), "list_labels_file": LIST_LABELS_FILE, "list_labels_sha256": labels_digest(lists),
        "list_source": "titles of the items of ../shared/data/alignment-newsletter and ../shared/data/tai-safety-bibliography, labelled "
        "from the newsletter's summary or the bibliography's abstract (bench/data/outside_guide_labels.jsonl); the texts do not ship",
        "seed_version": seed_version(), "seed_hashes": [content_hash(t) for t in seed_texts],
    }
    (data / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(labels)} x 2 + {len(title_only)} + {len(lists)} vectors ({len(blob) / 1e6:.1f} MB) for {embedder.model_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
