"""The workspace's trained probe sets: training, listing, and picking the newest for an embedding model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpus.store import Store
from models.embedders import Embedder
from models.errors import ModelError
from models.probe_training import TrainingConfig, train_probe_set
from models.probes import ProbeSet, load_probe, read_card
from triage.errors import UsageError
from triage.labels import build_training_set
from triage.progress import Reporter
from triage.review_labels import DECISION_SOURCE
from triage.workspace import Workspace
from triage.workspace_data import open_store


@dataclass(frozen=True)
class ProbeSummary:
    """One line of `triage models list`."""

    version: str
    created_at: str
    embedder_id: str
    items: int
    label_hash: str
    safety_auroc: float | None
    capabilities_auroc: float | None
    path: Path


def _summary(folder: Path, card: dict) -> ProbeSummary:
    metrics = card.get("cv_metrics", {})
    return ProbeSummary(
        version=card["version"], created_at=card.get("created_at", ""), embedder_id=card.get("embedder_id", ""),
        items=card.get("label_set", {}).get("items", 0), label_hash=card.get("label_set", {}).get("hash", ""),
        safety_auroc=metrics.get("safety", {}).get("auroc"), capabilities_auroc=metrics.get("capabilities", {}).get("auroc"),
        path=folder,
    )


def _probe_folders(workspace: Workspace):
    """(folder, card) for each probe folder whose card reads, and (folder, error) for each whose card does not."""
    good, damaged = [], []
    if workspace.probes_dir.is_dir():
        for folder in sorted(workspace.probes_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                good.append((folder, read_card(folder)))
            except ModelError as exc:
                damaged.append((folder, exc))
    return good, damaged


def list_probes(workspace: Workspace, *, embedder_id: str | None = None) -> list[ProbeSummary]:
    """Every valid probe set in the workspace, newest first. Folders with a broken card are skipped (see damaged_probes)."""
    good, _ = _probe_folders(workspace)
    found = [_summary(folder, card) for folder, card in good if embedder_id is None or card.get("embedder_id") == embedder_id]
    return sorted(found, key=lambda s: (s.created_at, s.version), reverse=True)


def damaged_probes(workspace: Workspace) -> list[tuple[str, ModelError]]:
    """The probe folders whose card is missing, unreadable or edited, by folder name (the version), with why."""
    return [(folder.name, exc) for folder, exc in _probe_folders(workspace)[1]]


def load_version(workspace: Workspace, version: str) -> ProbeSet:
    """A probe set by version (a unique prefix is enough)."""
    matches = [s for s in list_probes(workspace) if s.version.startswith(version)]
    if not matches:
        for name, exc in damaged_probes(workspace):
            if name.startswith(version):  # say what is wrong with it, not that it is not there
                raise UsageError(f"probe {name} is damaged and cannot be used: {exc}")
        raise UsageError(f"no probe version {version!r} in {workspace.probes_dir} (see `triage models list`)")
    if len(matches) > 1:
        raise UsageError(f"probe version {version!r} is ambiguous: {', '.join(s.version for s in matches)}")
    return load_probe(matches[0].path)


def train(
    workspace: Workspace, store: Store, embedder: Embedder, *, sources: list[str] | None = None,
    config: TrainingConfig | None = None, reporter: Reporter | None = None,
) -> ProbeSet:
    """Train on the workspace's labels (all sources, or those named) and save the new probe set."""
    reporter = reporter or Reporter()
    data, label_set = build_training_set(store, embedder, sources=sources, reporter=reporter)
    reporter.start(f"training probes on {label_set['items']} labelled items", None)
    probe = train_probe_set(data, embedder_id=embedder.model_id, label_set=label_set, config=config)
    reporter.finish()
    probe.save(workspace.probes_dir)
    return probe


def train_probes(
    workspace: Workspace, embedder: Embedder, *, sources: list[str] | None = None, with_decisions: bool = True,
    reporter: Reporter | None = None,
) -> ProbeSet:
    """`triage models train`: a new probe set from the workspace's labels (the sources named, else all of them);
    `with_decisions=False` leaves out the labels that review decisions made."""
    with open_store(workspace) as store:
        if not with_decisions:
            sources = [s for s in (sources or store.label_counts()) if s != DECISION_SOURCE]
        return train(workspace, store, embedder, sources=sources, reporter=reporter)


def current_probe(workspace: Workspace, store: Store, embedder: Embedder, *, version: str | None = None, reporter: Reporter | None = None) -> ProbeSet:
    """The requested version, else the newest probe for this embedder, trained from the labels on first use."""
    if version:
        probe = load_version(workspace, version)
        if probe.embedder_id != embedder.model_id:
            raise UsageError(f"probe {probe.version} was trained on {probe.embedder_id} embeddings, not {embedder.model_id}")
        return probe
    reporter = reporter or Reporter()
    for name, exc in damaged_probes(workspace):
        # A card that no longer reads (edited by hand, say) may have been this model's newest probe: name it.
        reporter.note(f"skipping damaged probe {name}: {exc}")
    for summary in list_probes(workspace, embedder_id=embedder.model_id):
        try:
            probe = load_probe(summary.path)
        except ModelError as exc:
            # A damaged newest probe must not silently win or block: say so and fall back to an older one.
            reporter.note(f"skipping probe {summary.version}: {exc}")
            continue
        if "word_axes" not in probe.card.get("training", {}):
            # Made before probes read the text's words: it still scores, but a new one ranks better on real papers.
            reporter.note(f"probe {probe.version} has no word head; `triage models train` makes one that has (docs/BENCHMARKS.md)")
        return probe
    reporter.note("no usable probe for this model: training one from the workspace's labels")
    return train(workspace, store, embedder, reporter=reporter)
