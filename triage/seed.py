"""The bundled seed corpus: real papers with the project's own summaries and labels, imported into new workspaces."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from corpus.records import LabelledText, Paper
from corpus.store import Store

SEED_FILE = "seed_papers.jsonl"
TAXONOMY_FILE = "taxonomy.json"
SEED_SOURCE = "seed"


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
    hazard: int | None = None  # None: not judged (older attack-adjacent items), so it does not train the hazard head
    written: bool = False  # a fictional draft this project wrote to cover the guide: a label, never "public work"

    def to_label(self) -> LabelledText:
        return LabelledText(
            text=self.to_paper().embedding_text(), safety=self.safety, capabilities=self.capabilities, hazard=self.hazard,
            areas=list(self.areas), title=self.title, source=SEED_SOURCE,
        )

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
                    hazard=None if raw.get("hazard") is None else int(raw["hazard"]), written=raw.get("kind") == "written",
                )
            )
    return tuple(items)


# The groups of areas in taxonomy.json; docs/TAXONOMY.md is the written guide behind them.
AREA_GROUPS = ("safety", "capabilities", "societal")


@cache
def load_taxonomy() -> dict:
    """{"axes": {...}, "safety": {area: description}, "capabilities": {...}, "societal": {...}}."""
    return json.loads(_data_text(TAXONOMY_FILE))


def taxonomy_areas() -> list[str]:
    """Every sub-area, safety areas first, then capabilities and societal, in the taxonomy file's order."""
    taxonomy = load_taxonomy()
    return [area for group in AREA_GROUPS for area in taxonomy[group]]


def area_side() -> dict[str, str]:
    """Which group each area belongs to: "safety", "capabilities" or "societal"."""
    taxonomy = load_taxonomy()
    return {area: group for group in AREA_GROUPS for area in taxonomy[group]}


def axis_facets() -> dict[str, list[str]]:
    """The area heads that split each axis's positives into facets (models.probe_training.TrainingConfig.facet_axes)."""
    from models.axes import CAPABILITIES, SAFETY
    from models.probes import AREA_PREFIX

    taxonomy = load_taxonomy()
    return {axis: [AREA_PREFIX + area for area in taxonomy[axis]] for axis in (SAFETY, CAPABILITIES)}


def seed_version() -> str:
    return hashlib.sha256(_data_text(SEED_FILE).encode()).hexdigest()[:12]


def ensure_seeded(store: Store) -> bool:
    """Import the seed papers and their labels once per workspace (again when a new version ships). True if it did."""
    version = seed_version()
    if store.get_meta("seed_version") == version and store.label_counts().get(SEED_SOURCE):
        return False
    with store.transaction():
        # Only real papers join the corpus: a project-written example found as "prior work" would mislead a reviewer.
        store.add_papers(item.to_paper() for item in load_seed() if not item.written)
        store.add_labels(item.to_label() for item in load_seed())
        store.set_meta("seed_version", version)
    return True
