"""Crash safety and concurrency with real processes: `triage batch` killed with SIGKILL again and again then resumed,
and two processes working on one workspace at once, without "database is locked" or corruption."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from models.embedders import FakeEmbedder
from tests.batch_helpers import home, result_count, tiny_probes, write_snapshot  # noqa: F401 (fixtures)
from triage.index import PaperIndex
from triage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
KILLS = int(os.environ.get("TRIAGE_KILLS", "20"))
FIGURES: dict[str, object] = {}  # printed in the pytest summary (tests/conftest.py), quoted in docs/RELIABILITY.md


def _triage(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.fake_triage", "--home", str(home), "--model", "fake", *args]


def _job_status(home: Path) -> str | None:
    """The status of batch job 1, read the way another process would; None before it exists."""
    try:
        with sqlite3.connect(f"file:{home / 'triage.db'}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT status FROM jobs WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None  # no database, or not migrated yet
    return row[0] if row else None


def _integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def _assert_index_matches_store(home: Path) -> None:
    """The saved index passes its checksum and holds exactly the store's papers, by row id."""
    import faiss

    from corpus.store import Store

    index = PaperIndex(Workspace.at(home).index_dir, FakeEmbedder(64).model_id)
    loaded = index.read()
    with Store(home / "triage.db") as store:
        row_ids = {stored.row_id for stored in store.iter_papers()}
    assert set(faiss.vector_to_array(loaded.id_map).tolist()) == row_ids


def _assert_fts_matches_store(home: Path) -> None:
    """FTS5's own check: every paper's title and abstract indexed exactly as stored, nothing else indexed."""
    from corpus.lexical import index_check
    from corpus.store import Store

    with Store(home / "triage.db") as store:
        assert index_check(store)


# --- SIGKILL loop ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_batch_killed_again_and_again_then_resumed_has_every_paper_once(home, tmp_path):
    papers = max(12_000, 600 * KILLS)  # the fake embedder scores ~1k papers/s: enough work that every kill lands first
    snapshot = write_snapshot(tmp_path / "snap.jsonl", papers)
    out = tmp_path / "scores.jsonl"
    command = _triage(home, "-q", "batch", "--input", str(snapshot), "--batch-size", "25", "--out", str(out), "--format", "json")
    rng = random.Random(int(os.environ.get("TRIAGE_KILL_SEED", "7")))
    kills, progress, started = 0, [], time.monotonic()
    while kills < KILLS:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if rng.random() < 0.5:
            # Anywhere: start-up (seeding, the index, job creation), mid-page, or the final export.
            time.sleep(rng.uniform(0.1, 2.0))
        else:
            # Mid-run: once this run has committed a page, a little later, wherever it then is.
            deadline = time.monotonic() + 120
            floor = progress[-1] if progress else 0
            while result_count(home) <= floor and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.15))
        if process.poll() is not None:
            break  # it finished before this kill: the job is done
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        kills += 1
        progress.append(result_count(home))
        if _job_status(home) == "done":
            break  # killed after the job finished (during the export): rerunning would start a second job
    # Resume job 1 explicitly when it exists; the same command would too, unless the job was already done.
    final = _triage(home, "-q", "batch", "--resume", "1", "--out", str(out), "--format", "json") if _job_status(home) else command
    finished = subprocess.run(final, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)

    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [row["arxiv_id"] for row in rows]
    lost = papers - len(set(ids))
    duplicates = len(ids) - len(set(ids))
    FIGURES["batch SIGKILLs survived"] = kills
    FIGURES["batch results after each kill"] = progress
    FIGURES["batch rows lost"] = lost
    FIGURES["batch duplicate rows"] = duplicates
    FIGURES["batch kill loop seconds"] = round(time.monotonic() - started, 1)
    assert kills >= min(KILLS, 20), f"the job finished after only {kills} kills; make the input larger"
    assert lost == 0 and duplicates == 0
    assert summary["scored"] == papers and summary["job_id"] == 1  # one job, resumed every time
    assert len(set(progress)) > 3, f"the kills never landed mid-run: {progress}"
    with sqlite3.connect(home / "triage.db") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT paper_id) FROM job_results").fetchone() == (papers, papers)
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM papers WHERE arxiv_id LIKE '2612.%'").fetchone()[0] == papers
    assert _integrity(home / "triage.db") == "ok"
    _assert_index_matches_store(home)
    _assert_fts_matches_store(home)
    leftovers = sorted(p.name for p in Workspace.at(home).index_dir.glob(".*.tmp"))
    FIGURES["index temporary files left by kills"] = len(leftovers)


@pytest.mark.slow
def test_corpus_import_killed_leaves_the_full_text_index_consistent(workspace, tmp_path):
    """`triage corpus import` is one transaction and the FTS5 triggers run inside it: SIGKILLed at random moments,
    each import leaves the papers and their full-text index both as they were, or both complete."""
    from corpus import lexical
    from corpus.store import Store
    from triage.workspace_data import open_store

    with open_store(workspace) as store:
        before = store.paper_count()
        assert store.query("SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH 'concurrent'")[0]["n"] == 0
    home = workspace.home
    rng = random.Random(11)
    kills = 0
    for n in range(6):
        path = _csv(tmp_path / f"kill{n}.csv", 100_000 + n * 3000, 3000)
        process = subprocess.Popen(_triage(home, "-q", "corpus", "import", str(path)), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # An import of 3,000 papers takes about 0.75 s on a quiet machine: the kills must land inside that.
        time.sleep(rng.uniform(0.05, 1.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=120)
        assert _integrity(home / "triage.db") == "ok"
        _assert_fts_matches_store(home)
        with Store(home / "triage.db") as store:
            count = store.paper_count()
            # A batch of 3,000 lands whole or not at all, in the papers and in the index alike.
            assert (count - before) % 3000 == 0
            indexed = store.query("SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH ?", (lexical.match_expression(["concurrent"]),))
            assert indexed[0]["n"] == count - before
    assert kills >= 1
    FIGURES["corpus imports SIGKILLed, full-text index checked after each"] = kills
    done = subprocess.run(_triage(home, "-q", "corpus", "import", str(tmp_path / "kill0.csv")), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _assert_fts_matches_store(home)
    with Store(home / "triage.db") as store:
        indexed = store.query("SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH 'concurrent'")[0]["n"]
        assert indexed == store.paper_count() - before >= 3000


# --- two processes at once ---------------------------------------------------------------------------------------


def _worker(role: str, home: Path, amount: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.concurrency_worker", role, str(home), str(amount)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _finish(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=600)
    assert "locked" not in stderr, stderr
    report = json.loads(stdout.strip().splitlines()[-1])
    assert process.returncode == 0 and not report["errors"], report["errors"] or stderr
    return report


def _csv(path: Path, start: int, rows: int) -> Path:
    lines = ["title,abstract,arxiv_id"]
    lines += [f"Concurrent import paper {n},Abstract {n} about reward models and interpretability.,2611.{n:05d}" for n in range(start, start + rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_corpus_import_loop_beside_similar_and_labels(workspace, tmp_path):
    """`triage corpus import` of large CSVs in a loop while other processes read, sync the index and write labels."""
    from triage.workspace_data import open_store, synced_index

    with open_store(workspace) as store:  # seeded and indexed first, so every process starts from the same place
        synced_index(workspace, store, FakeEmbedder(64))
        before = store.paper_count()
    home = workspace.home
    files = [_csv(tmp_path / f"part{n}.csv", n * 4000, 4000) for n in range(3)]
    readers = [_worker("similar", home, 10_000), _worker("labels", home, 300)]
    imports: list[subprocess.CompletedProcess] = []
    for path in files:
        imports.append(subprocess.run(_triage(home, "-q", "corpus", "import", str(path), "--format", "json"), cwd=ROOT, capture_output=True, text=True, timeout=600))
    (home / "stop").touch()
    reports = [_finish(process) for process in readers]

    for done in imports:
        assert done.returncode == 0 and "locked" not in done.stderr, done.stderr
    assert sum(json.loads(done.stdout)["inserted"] for done in imports) == 12_000
    similar, labels = reports
    assert similar["done"] >= 1 and labels["done"] == 300
    FIGURES["import beside similar: similar queries"] = similar["done"]
    with sqlite3.connect(home / "triage.db") as db:
        assert db.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == before + 12_000
        assert db.execute("SELECT COUNT(*) FROM labels WHERE source = 'concurrency'").fetchone()[0] == 300
    assert _integrity(home / "triage.db") == "ok"
    with open_store(workspace) as store:
        report = PaperIndex(workspace.index_dir, FakeEmbedder(64).model_id).sync(store, FakeEmbedder(64))
        assert not report.rebuilt and report.count == store.paper_count()
    _assert_index_matches_store(home)


@pytest.mark.slow
def test_batch_importing_while_review_records_decisions(home, tmp_path):
    """The issue's example: `triage batch` writes pages while a reviewer's decisions are committed one by one."""
    from triage.review import ReviewSession

    drafts = sorted((ROOT / "triage" / "data" / "examples").glob("*.md"))
    ReviewSession.open(Workspace.at(home), "concurrent").add_drafts(drafts)
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 2000)
    batch = subprocess.Popen(
        _triage(home, "-q", "batch", "--input", str(snapshot), "--batch-size", "20", "--out", str(tmp_path / "s.jsonl"), "--format", "json"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(1.0)  # let the batch start its pages, so the two really overlap
    review = _worker("review", home, 150)
    labels = _worker("labels", home, 150)
    decided, labelled = _finish(review), _finish(labels)
    stdout, stderr = batch.communicate(timeout=600)
    assert batch.returncode == 0 and "locked" not in stderr, stderr
    assert json.loads(stdout)["scored"] == 2000
    assert decided["done"] == 150 and labelled["done"] == 150
    log = ReviewSession.open(Workspace.at(home), "concurrent", create=False).log()
    assert len(log) == 150  # every decision committed, none lost to the batch's transactions
    FIGURES["batch beside review: decisions committed"] = len(log)
    assert _integrity(home / "triage.db") == "ok"
    _assert_index_matches_store(home)


def test_two_index_rebuilds_at_once_serialise_on_the_lock(workspace, tmp_path):
    """Two processes rebuilding the same index: the file lock makes them take turns; the result is one valid index."""
    from triage.workspace_data import open_store

    with open_store(workspace):
        pass  # seeded once, before the race
    threads_done: list[subprocess.CompletedProcess] = []

    def rebuild() -> None:
        threads_done.append(subprocess.run(_triage(workspace.home, "-q", "index", "build"), cwd=ROOT, capture_output=True, text=True, timeout=300))

    threads = [threading.Thread(target=rebuild) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [done.returncode for done in threads_done] == [0, 0], [done.stderr for done in threads_done]
    _assert_index_matches_store(workspace.home)
