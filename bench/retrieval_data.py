"""The known-item retrieval data: the 10k arXiv sample split into titles, abstracts and abstract halves, embedded once.

Usage: .venv/bin/python bench/retrieval_data.py   (embeds everything bench/retrieval.py needs: 2,000 titles, 2,000 second
halves and 10,000 first halves; 15 min on the shared 2 cores)

Vectors are cached as .npy files under bench/out/retrieval-work, keyed by a hash of the texts and the model id, so
reruns of the benchmark cost nothing but the retrieval itself. No text from the sample is written anywhere else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import SHARED_DATA  # noqa: E402

SAMPLE = SHARED_DATA / "arxiv-daily-cs-sample" / "arxiv_cs_CL_AI_LG_sample10k.jsonl.gz"
WORK = ROOT / "bench" / "out" / "retrieval-work"
QUERIES = 2000  # the last 2,000 papers are the queries, as in issue 15's own measurement

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


@dataclass(frozen=True)
class Record:
    """One sample paper: arXiv id, title, whole abstract, and the abstract cut into two halves at a sentence end."""

    id: str
    title: str
    abstract: str
    first: str
    second: str


def halves(abstract: str) -> tuple[str, str]:
    """Cut at the sentence boundary nearest the middle (by words); a one-sentence abstract is cut at its middle word."""
    sentences = _SENTENCE_END.split(abstract)
    total = len(abstract.split())
    if len(sentences) < 2:
        words = abstract.split()
        return " ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])
    best, seen, cut = None, 0, 1
    for i, sentence in enumerate(sentences[:-1], start=1):
        seen += len(sentence.split())
        gap = abs(seen - total / 2)
        if best is None or gap < best:
            best, cut = gap, i
    return " ".join(sentences[:cut]), " ".join(sentences[cut:])


def load_records(limit: int | None = None) -> list[Record]:
    if not SAMPLE.is_file():
        raise SystemExit(f"the arXiv sample is not available: {SAMPLE}")
    records = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            title, abstract = " ".join(row["title"].split()), " ".join(row["summary"].split())
            first, second = halves(abstract)
            records.append(Record(row["id"], title, abstract, first, second))
            if limit and len(records) == limit:
                break
    return records


def make_default_embedder():
    """The project's default CPU embedder (ONNX fp32, same vectors as sentence-transformers), exported once under WORK."""
    from models.embedders import make_embedder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return make_embedder("default", "cpu", cache_dir=WORK / "onnx")


def cached_vectors(name: str, texts: list[str], embedder=None) -> np.ndarray:
    """Vectors for `texts`, from WORK/<name>-<hash>.npy when an earlier run made them, else embedded and saved."""
    WORK.mkdir(parents=True, exist_ok=True)
    embedder = embedder or make_default_embedder()
    key = hashlib.sha256(("\x00".join(texts) + "\x01" + embedder.model_id).encode()).hexdigest()[:16]
    path = WORK / f"{name}-{len(texts)}-{key}.npy"
    if path.is_file():
        return np.load(path)
    start = time.perf_counter()
    vectors = np.asarray(embedder.encode(texts, batch_size=32), dtype=np.float32)
    np.save(path, vectors)
    print(f"embedded {len(texts)} {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return vectors


def sets(records: list[Record]) -> dict[str, list[str]]:
    """Every text set the benchmark embeds: corpora over all papers, queries over the last QUERIES."""
    queries = records[-QUERIES:]
    return {
        "second-halves": [r.second for r in queries],
        "titles": [r.title for r in queries],
        "first-halves": [r.first for r in records],
    }


def main() -> int:
    records = load_records()
    embedder = make_default_embedder()
    for name, texts in sets(records).items():
        cached_vectors(name, texts, embedder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
