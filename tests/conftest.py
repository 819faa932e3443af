"""Shared fixtures: an isolated workspace per test, the test embedders by name, and the real bundled model once per session."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """No test may touch the user's real workspace."""
    home = tmp_path_factory.mktemp("triage-home")
    monkeypatch.setenv("TRIAGE_HOME", str(home))
    monkeypatch.delenv("TRIAGE_MODEL", raising=False)
    yield home


@pytest.fixture(autouse=True)
def _test_embedders():
    """`--model fake` is the hashing embedder in every test, registered as a plugin would be, and only here."""
    from tests import fake_triage

    fake_triage.register()
    yield
    fake_triage.unregister()


@pytest.fixture
def workspace(_isolated_home):
    from triage.workspace import Workspace

    return Workspace.at(_isolated_home)


@pytest.fixture
def fake_embedder():
    from models.embedders import FakeEmbedder

    return FakeEmbedder(dim=64)


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2 through sentence-transformers, loaded once for the whole run."""
    from models.embedders import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("default", device="cpu")
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def seeded_real_home(tmp_path_factory, real_embedder):
    """A workspace with the seed corpus embedded, indexed and its default probe trained by the real model, once per run."""
    from triage.probe_registry import current_probe
    from triage.workspace import Workspace
    from triage.workspace_data import open_store, synced_index

    workspace = Workspace.at(tmp_path_factory.mktemp("seeded-real"))
    with open_store(workspace) as store:
        synced_index(workspace, store, real_embedder)
        current_probe(workspace, store, real_embedder)
    return workspace


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or a skip when this clone has no shared data beside it."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


os.environ.setdefault("HF_HUB_OFFLINE", "1")


REAL_MODEL_FIXTURES = {"real_embedder", "seeded_real_home"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """Under `pytest -n`, the tests on the real model share one worker, so the model loads and the default probe trains
    once (50 s), not once per worker; the rest spread over the other workers (`--dist loadgroup`, see the Makefile)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("real-model"))


def _figures() -> dict:
    """This process's figures for the summary: fuzz examples run per reader, and the kill loops' counts."""
    fuzz = sys.modules.get("tests.test_fuzz_readers")
    crashes = sys.modules.get("tests.test_crash_and_concurrency")
    return {"fuzz": dict(getattr(fuzz, "EXAMPLES_RUN", None) or {}), "kills": dict(getattr(crashes, "FIGURES", None) or {})}


_WORKER_FIGURES = pytest.StashKey[list]()


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints the summary, so hand it the figures
        workeroutput["triage_figures"] = json.dumps(_figures())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    node.config.stash.setdefault(_WORKER_FIGURES, []).append(json.loads(node.workeroutput.get("triage_figures", "{}")))


def pytest_terminal_summary(terminalreporter) -> None:
    """Report the figures docs/RELIABILITY.md quotes: fuzz examples run, kills survived, rows lost and duplicated."""
    from collections import Counter

    fuzz: Counter[str] = Counter()
    kills: dict[str, object] = {}
    for figures in [_figures(), *terminalreporter.config.stash.get(_WORKER_FIGURES, [])]:
        fuzz.update(figures.get("fuzz", {}))
        kills.update(figures.get("kills", {}))
    if fuzz:
        detail = ", ".join(f"{name} {n}" for name, n in sorted(fuzz.items()))
        terminalreporter.write_line(f"fuzz examples run: {fuzz.total()} ({detail})")
    for key, value in kills.items():
        terminalreporter.write_line(f"{key}: {value}")
