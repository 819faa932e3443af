"""Helpers for the batch tests: a quickly trained probe set for the fake embedder, and feeds and files of papers."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from models.embedders import FakeEmbedder
from models.probe_training import TrainingConfig
from tests.test_reader_arxiv import atom_entry
from triage.workspace import Workspace

SAFETY_WORDS = "alignment interpretability oversight deception monitoring red teaming reward hacking"
CAPABILITY_WORDS = "scaling pretraining throughput benchmark agents reasoning efficient inference"


# Small enough to train in a few seconds; these tests exercise batching, not the probes' quality.
TINY_TRAINING = TrainingConfig(members=2, folds=2)


def train_tiny_probe(workspace: Workspace, dim: int = 64) -> Path:
    """Train a probe set for `fake-hash-<dim>` on the seed labels through the public API; returns its folder."""
    from triage.probe_registry import train
    from triage.workspace_data import open_store

    with open_store(workspace) as store:
        train(workspace, store, FakeEmbedder(dim), config=TINY_TRAINING)
    return workspace.probes_dir


def copy_probes(probes_dir: Path, home: Path) -> None:
    """Give a fresh workspace the trained probes, so no test pays for training again."""
    shutil.copytree(probes_dir, Path(home) / "probes", dirs_exist_ok=True)


def paper_entries(count: int, prefix: str = "2611") -> list[str]:
    """Atom entries for `count` distinct papers, alternating safety-flavoured and capability-flavoured abstracts."""
    entries = []
    for n in range(1, count + 1):
        words = SAFETY_WORDS if n % 2 else CAPABILITY_WORDS
        entries.append(
            atom_entry(
                f"{prefix}.{n:05d}v1", title=f"Study {n} of {words.split()[n % 7]}",
                abstract=f"Paper {n}. We study {words} in setting {n}.", published="2026-11-28T10:00:00Z",
            )
        )
    return entries


def write_snapshot(path: Path, count: int, bad_lines: dict[int, str] | None = None) -> Path:
    """An arXiv-snapshot-shaped JSONL file of `count` papers; `bad_lines` puts raw text at given 1-based lines."""
    lines = []
    for n in range(1, count + 1):
        words = SAFETY_WORDS if n % 2 else CAPABILITY_WORDS
        lines.append(
            json.dumps(
                {
                    "id": f"2612.{n:05d}", "title": f"Snapshot paper {n} on {words.split()[n % 7]}",
                    "abstract": f"Snapshot {n}: we study {words}.", "authors": "Ada Example and Bo Sample",
                    "categories": "cs.LG cs.AI", "versions": [{"version": "v1", "created": "Mon, 30 Nov 2026 10:00:00 GMT"}],
                    "update_date": "2026-11-30",
                }
            )
        )
    for line_number, text in sorted((bad_lines or {}).items()):
        lines.insert(line_number - 1, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def result_count(home: Path) -> int:
    """Rows in the job results table, read the way another process would (WAL lets it read during writes)."""
    db_path = Path(home) / "triage.db"
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM job_results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not migrated yet


@pytest.fixture(scope="session")
def tiny_probes(tmp_path_factory) -> Path:
    """One small fake-embedder probe per run, trained once and copied into each test's workspace."""
    return train_tiny_probe(Workspace.at(tmp_path_factory.mktemp("probe-template")))


@pytest.fixture
def home(workspace, tiny_probes) -> Path:
    """The test's workspace with the tiny probe in place, so batch runs score without training."""
    copy_probes(tiny_probes, workspace.home)
    return workspace.home

