"""The bundled seed corpus: real papers with the project's own summaries and labels, imported into new workspaces."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from corpus.records import Paper
from corpus.store import Store

SEED_FILE = "seed_papers.jsonl"
TAXONOMY_FILE = "taxonomy.json"


@dataclass(frozen=True)
class SeedItem:
    """One labelled seed paper. Titles, ids and years are facts; summaries are written by this project."""

    title: str
    summary: str
    year: int | None
    arxiv_id: str | None
    safety: int
    capabilities: int
    areas: tuple[str, ...] = field(default_factory=tuple)

    def to_paper(self) -> Paper:
        return Paper(
            title=self.title,
            abstract=self.summary,
            source="seed",
            arxiv_id=self.arxiv_id,
            published=str(self.year) if self.year else None,
            url=f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None,
        )


def _data_text(name: str) -> str:
    return resources.files("triage").joinpath("data", name).read_text(encoding="utf-8")


@cache
def load_seed() -> tuple[SeedItem, ...]:
    items = []
    for line in _data_text(SEED_FILE).splitlines():
        if line.strip():
            raw = json.loads(line)
            items.append(
                SeedItem(
                    title=raw["title"], summary=raw["summary"], year=raw.get("year"), arxiv_id=raw.get("arxiv_id"),
                    safety=int(raw["safety"]), capabilities=int(raw["capabilities"]), areas=tuple(raw.get("areas", ())),
                )
            )
    return tuple(items)


@cache
def load_taxonomy() -> dict:
    """{"safety": {area: description}, "capabilities": {area: description}}."""
    return json.loads(_data_text(TAXONOMY_FILE))


def seed_version() -> str:
    return hashlib.sha256(_data_text(SEED_FILE).encode()).hexdigest()[:12]


def ensure_seeded(store: Store) -> bool:
    """Import the seed corpus once per workspace (and again when a new version of it ships). True if it imported."""
    version = seed_version()
    if store.get_meta("seed_version") == version:
        return False
    with store.transaction():
        store.add_papers(item.to_paper() for item in load_seed())
        store.set_meta("seed_version", version)
    return True
