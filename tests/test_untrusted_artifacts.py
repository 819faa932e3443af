"""Untrusted artifacts: no pickle anywhere, tampered probes and indexes refused or rebuilt, exports land only where
they are named, and every SQL statement is parameterised."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from corpus.records import Document, LabelledText, Paper, Passage
from corpus.store import Store
from models.errors import ModelError
from models.probes import load_probe
from triage.index import PaperIndex
from triage.progress import RecordingReporter

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("corpus", "models", "triage", "tui", "bench")


def _sources():
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


# --- no pickle ---------------------------------------------------------------------------------------------------

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def test_no_code_path_can_load_a_pickle():
    """Loading a pickle runs code from the file: no module of ours may import a pickle loader, call torch.load
    without weights_only=True, pass allow_pickle=True, or read pickles through pandas or yaml's full loader."""
    offenders = []
    for path, tree in _sources():
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offenders += [f"{where}:{node.lineno} imports {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
                offenders.append(f"{where}:{node.lineno} imports from {node.module}")
            elif isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                keywords = {k.arg: k.value for k in node.keywords}
                if name.endswith("torch.load"):
                    weights_only = keywords.get("weights_only")
                    if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                        offenders.append(f"{where}:{node.lineno} calls torch.load without weights_only=True")
                allow = keywords.get("allow_pickle")
                if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
                    offenders.append(f"{where}:{node.lineno} passes allow_pickle={ast.unparse(allow)}")
                if name.endswith(("read_pickle", "to_pickle")) or (name.endswith("yaml.load") and "Loader" not in keywords):
                    offenders.append(f"{where}:{node.lineno} calls {name}")
    assert not offenders, offenders


def test_the_bundled_model_loads_from_safetensors():
    """sentence-transformers prefers model.safetensors; with no pytorch_model.bin beside it, no pickle is there to fall back to."""
    from models.embedders import bundled_model_path

    folder = bundled_model_path()
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pt"))


# --- probes --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_probes(tmp_path_factory):
    """Two saved probe sets of different versions, trained quickly for the fake model."""
    from models.embedders import FakeEmbedder
    from models.probe_training import TrainingConfig, train_probe_set
    from tests.test_probes import _training_set
    from triage.seed import load_seed

    fake = FakeEmbedder(dim=64)
    config = TrainingConfig(members=2, folds=2)
    root = tmp_path_factory.mktemp("probes")
    folders = []
    for step in (5, 7):
        labels = [item.to_label() for item in load_seed()[::step]]
        probe = train_probe_set(_training_set(labels, fake.encode), embedder_id=fake.model_id, label_set={"step": step}, config=config)
        folders.append(probe.save(root))
    return folders


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def test_a_card_from_another_probe_is_refused(two_probes, tmp_path):
    first, second = (_copy(folder, tmp_path / str(n)) for n, folder in enumerate(two_probes))
    shutil.copy(second / "card.json", first / "card.json")  # a valid card, for other weights
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_probe(first)


def test_weights_from_another_probe_are_refused(two_probes, tmp_path):
    first, second = (_copy(folder, tmp_path / str(n)) for n, folder in enumerate(two_probes))
    shutil.copy(second / "probe.safetensors", first / "probe.safetensors")
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_probe(first)


def test_a_card_with_a_matching_forged_checksum_is_refused(two_probes, tmp_path):
    """Editing the weights and the checksum in the card still changes the card's own version hash."""
    import hashlib

    folder = _copy(two_probes[0], tmp_path)
    weights = folder / "probe.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8] ^= 0x55
    weights.write_bytes(bytes(data))
    card = json.loads((folder / "card.json").read_text())
    card["weights_sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="modified"):
        load_probe(folder)


def test_a_damaged_newest_probe_is_skipped_with_a_note_not_used(two_probes, tmp_path, workspace, fake_embedder):
    from triage.probe_registry import current_probe, list_probes
    from triage.workspace_data import open_store

    for folder in two_probes:
        shutil.copytree(folder, workspace.probes_dir / folder.name)
    newest = list_probes(workspace, embedder_id=fake_embedder.model_id)[0]
    weights = newest.path / "probe.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1])
    reporter = RecordingReporter()
    with open_store(workspace, seed=False) as store:
        probe = current_probe(workspace, store, fake_embedder, reporter=reporter)
    assert probe.version != newest.version
    assert any(newest.version in note and "checksum" in note for note in reporter.notes)


def test_a_probe_from_before_the_word_head_still_scores_and_says_how_to_get_one(workspace, fake_embedder):
    """An upgraded workspace keeps its probe (nothing it holds is thrown away) and is told how to get the better one."""
    from models.probe_training import TrainingConfig, train_probe_set
    from tests.test_probes import _training_set
    from triage.probe_registry import current_probe
    from triage.seed import load_seed
    from triage.workspace_data import open_store

    labels = [item.to_label() for item in load_seed()[::7]]
    config = TrainingConfig(members=2, folds=2)
    old = train_probe_set(_training_set(labels, fake_embedder.encode, words=False), embedder_id=fake_embedder.model_id, label_set={}, config=config)
    del old.card["training"]["word_axes"]  # the card of a probe trained before the word head existed
    folder = old.save(workspace.probes_dir)
    reporter = RecordingReporter()
    with open_store(workspace, seed=False) as store:
        probe = current_probe(workspace, store, fake_embedder, reporter=reporter)
    assert probe.version == folder.name and probe.word_head is None
    assert probe.predict(fake_embedder.encode(["faster kernels"])).mean.shape == (1, len(probe.heads))
    assert any("no word head" in note and "triage models train" in note for note in reporter.notes), reporter.notes
    reporter = RecordingReporter()
    new = train_probe_set(_training_set(labels, fake_embedder.encode), embedder_id=fake_embedder.model_id, label_set={}, config=config)
    new.card["created_at"] = "9999-01-01T00:00:00+00:00"  # the newest
    new.save(workspace.probes_dir)
    with open_store(workspace, seed=False) as store:
        assert current_probe(workspace, store, fake_embedder, reporter=reporter).word_head is not None
    assert not any("no word head" in note for note in reporter.notes)


# --- the index -----------------------------------------------------------------------------------------------------


def _papers(prefix: str, n: int) -> list[Paper]:
    return [Paper(title=f"{prefix} paper {i} on widgets", abstract=f"{prefix} abstract {i} about gadgets and widgets.") for i in range(n)]


def _indexed(folder: Path, prefix: str, fake_embedder, n: int = 12) -> tuple[Store, PaperIndex]:
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "triage.db")
    store.add_papers(_papers(prefix, n))
    index = PaperIndex(folder / "index", fake_embedder.model_id)
    index.sync(store, fake_embedder)
    return store, index


def test_a_tampered_sidecar_checksum_is_detected_and_rebuilt(tmp_path, fake_embedder):
    store, index = _indexed(tmp_path, "own", fake_embedder)
    meta = json.loads(index.meta_path.read_text())
    meta["sha256"] = "0" * 64
    index.meta_path.write_text(json.dumps(meta))
    reporter = RecordingReporter()
    report = PaperIndex(tmp_path / "index", fake_embedder.model_id).sync(store, fake_embedder, reporter=reporter)
    assert report.rebuilt and "checksum" in report.reason and reporter.notes
    store.close()


@pytest.mark.parametrize("garbage", ["", "{not json", "[]", '{"model_id": 1}', json.dumps({"unexpected": "fields"})])
def test_an_unreadable_sidecar_is_rebuilt(tmp_path, fake_embedder, garbage):
    store, index = _indexed(tmp_path, "own", fake_embedder)
    index.meta_path.write_text(garbage)
    report = PaperIndex(tmp_path / "index", fake_embedder.model_id).sync(store, fake_embedder)
    assert report.rebuilt and report.count == 12
    store.close()


def test_an_index_file_replaced_by_another_valid_index_is_rebuilt(tmp_path, fake_embedder):
    mine, index = _indexed(tmp_path / "mine", "own", fake_embedder)
    theirs, other = _indexed(tmp_path / "theirs", "foreign", fake_embedder)
    shutil.copy(other.faiss_path, index.faiss_path)  # a well-formed FAISS file, just not ours
    report = PaperIndex(index.index_dir, fake_embedder.model_id).sync(mine, fake_embedder)
    assert report.rebuilt and "checksum" in report.reason
    _assert_search_finds_own_papers(mine, index.index_dir, fake_embedder)
    mine.close()
    theirs.close()


def test_a_whole_index_copied_from_another_workspace_is_rebuilt(tmp_path, fake_embedder):
    """Index and sidecar from a colleague agree with each other, and even match this store's size and revision:
    only the workspace id in the sidecar tells them apart."""
    mine, index = _indexed(tmp_path / "mine", "own", fake_embedder)
    theirs, other = _indexed(tmp_path / "theirs", "foreign", fake_embedder)
    assert mine.revision == theirs.revision and mine.paper_count() == theirs.paper_count()
    shutil.copy(other.faiss_path, index.faiss_path)
    shutil.copy(other.meta_path, index.meta_path)
    reporter = RecordingReporter()
    report = PaperIndex(index.index_dir, fake_embedder.model_id).sync(mine, fake_embedder, reporter=reporter)
    assert report.rebuilt and "another workspace" in report.reason, report
    assert any("another workspace" in note for note in reporter.notes)
    _assert_search_finds_own_papers(mine, index.index_dir, fake_embedder)
    mine.close()
    theirs.close()


def test_a_copied_workspace_keeps_its_index(tmp_path, fake_embedder):
    """Copying the whole workspace (database and index together) is a backup, not a foreign index."""
    store, index = _indexed(tmp_path / "original", "own", fake_embedder)
    store.close()
    shutil.copytree(tmp_path / "original", tmp_path / "copy")
    with Store(tmp_path / "copy" / "triage.db") as copy:
        report = PaperIndex(tmp_path / "copy" / "index", fake_embedder.model_id).sync(copy, fake_embedder)
    assert not report.rebuilt


def _assert_search_finds_own_papers(store: Store, index_dir: Path, fake_embedder) -> None:
    index = PaperIndex(index_dir, fake_embedder.model_id)
    index.sync(store, fake_embedder)
    own = {stored.row_id: stored.paper for stored in store.iter_papers()}
    for row_id, paper in list(own.items())[:3]:
        [[(found, similarity)]] = index.search(fake_embedder.encode([paper.embedding_text()]), 1)
        assert found == row_id and similarity > 0.99


# --- exports -------------------------------------------------------------------------------------------------------


def _tree(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def test_scores_and_report_exports_write_only_the_named_file(tmp_path):
    from triage.report import write_report
    from triage.scores_file import COLUMNS, write_scores

    rows = [{column: None for column in COLUMNS} | {"id": "x", "title": "<script>alert(1)</script>", "safety": 0.5,
            "capabilities": 0.5, "differential": 0.0, "tier": "review", "url": "javascript:alert(1)", "reasons": [], "top_areas": []}]
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    before = _tree(tmp_path)
    target = out / "sub" / ".." / "scores.jsonl"  # `..` resolves inside the folder the user named
    assert write_scores([rows], target) == 1
    html = out / "digest.html"
    write_report(target, html)
    assert _tree(tmp_path) - before == {out / "scores.jsonl", html}  # no temporary file left behind
    page = html.read_text()
    assert "<script>alert(1)" not in page and 'href="javascript' not in page  # data is escaped, links only http(s)


def test_review_export_writes_one_file_and_leaves_no_folder_when_it_fails(workspace, tmp_path):
    from triage.review import ReviewSession

    session = ReviewSession.open(workspace, "../../etc")  # a hostile session name is only a name
    before = _tree(tmp_path)
    report = session.export("exports/decisions.csv", base=tmp_path)
    assert report.path == tmp_path / "exports" / "decisions.csv"
    assert _tree(tmp_path) - before == {tmp_path / "exports", report.path}



@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_failed_write_names_the_target_and_leaves_no_file_or_folder(tmp_path, suffix):
    import errno

    from triage.errors import TriageError
    from triage.scores_file import write_scores

    def chunks():
        yield [{"id": "1", "title": "A", "safety": 0.5, "capabilities": 0.5, "differential": 0.0, "tier": "review"}]
        raise OSError(errno.ENOSPC, "No space left on device")  # the disk fills part-way

    before = _tree(tmp_path)
    with pytest.raises(TriageError) as failed:
        write_scores(chunks(), tmp_path / "new" / "deeper" / f"scores{suffix}")
    assert str(failed.value) == f"{tmp_path / 'new' / 'deeper' / f'scores{suffix}'}: cannot write: No space left on device"
    assert _tree(tmp_path) == before  # no temporary file, and the folders made for it are gone


# --- SQL -------------------------------------------------------------------------------------------------------------

# Every expression interpolated into SQL text, with why it is safe. A new one fails the test until it is reviewed.
SQL_INTERPOLATIONS = {
    "marks": "'?' placeholders, one per bound value",
    "_PAPER_COLUMNS": "a constant column list",
    "_RESULT_COLUMNS": "a constant column list",
    "_RESCORED": "a constant list of 'column = ?' for the score record's columns",
    "', '.join(_STORED)": "the constant column list of job_results (corpus/jobs.py)",
    "', '.join('?' * (len(_STORED) + 2))": "'?' placeholders",
    "_ITEM_COLUMNS": "a constant column list",
    "_ITEM_FROM": "a constant join",
    "assignments": "'key = ?' for the keys of a dict literal in Store._merge",
    "key": "one of the literals ('arxiv_id', 'doi') in Store._merge",
    "column": "one of the literals 'document_id' / 'paper_id' in reviews.add_item",
    "by": "checked against jobs.RANKABLE before use",
    "int(BUSY_TIMEOUT_SECONDS * 1000)": "a constant",
    "APPLICATION_ID": "a constant (PRAGMA application_id takes no bound value)",
    "version": "a migration number (int)",
    "states": "a literal list of review states in a migration's CHECK constraint",
    "action": "one of the literals ('UPDATE', 'DELETE')",
    "action.lower()": "one of the literals ('UPDATE', 'DELETE')",
    "', '.join(stored)": "the keys of a dict literal in reviews.append_decision",
    "', '.join('?' * len(stored))": "'?' placeholders",
    "','.join('?' * len(sources))": "'?' placeholders",
}
_SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|PRAGMA|CREATE|VALUES|ORDER BY|SET)\b")


def test_sql_interpolates_only_reviewed_identifiers():
    unreviewed = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                literal = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
                if _SQL_WORDS.search(literal):
                    for part in node.values:
                        if isinstance(part, ast.FormattedValue) and ast.unparse(part.value) not in SQL_INTERPOLATIONS:
                            unreviewed.append(f"{path.relative_to(ROOT)}:{node.lineno}: {{{ast.unparse(part.value)}}}")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
                if isinstance(node.left.value, str) and _SQL_WORDS.search(node.left.value):
                    unreviewed.append(f"{path.relative_to(ROOT)}:{node.lineno}: %-formatted SQL")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
                if isinstance(node.func.value, ast.Constant) and _SQL_WORDS.search(str(node.func.value.value)):
                    unreviewed.append(f"{path.relative_to(ROOT)}:{node.lineno}: str.format SQL")
    assert not unreviewed, unreviewed


HOSTILE = [
    "x'); DROP TABLE papers; --",
    "Robert'); DROP TABLE labels;--",
    '" OR 1=1 --',
    "'; UPDATE papers SET title = 'pwned'; --",
    "Ünïcødé ☃ \u202e right-to-left",
    "percent % and underscore _ and backslash \\",
]


def test_store_round_trips_hostile_strings_as_data(tmp_path):
    with Store(tmp_path / "triage.db") as store:
        papers = [
            Paper(title=f"{text} {n}", abstract=text, authors=[text], categories=[text], doi=f"10.1000/{n}{text}",
                  url=text, external_id=text, label=text, source=text)
            for n, text in enumerate(HOSTILE)
        ]
        counts = store.add_papers(papers)
        assert counts.inserted == len(HOSTILE)
        assert store.add_papers(papers).unchanged == len(HOSTILE)  # the duplicate lookups bind the values too
        stored = {s.paper.title: s.paper for s in store.iter_papers()}
        for paper in papers:
            found = stored[paper.title]
            assert (found.abstract, found.authors, found.label, found.url) == (paper.abstract, paper.authors, paper.label, paper.url)
        store.add_labels([LabelledText(text=text, safety=1, capabilities=0, areas=[text], title=text, source=text) for text in HOSTILE])
        assert len(store.get_labels(sources=HOSTILE)) == len(HOSTILE)
        text = " ".join(HOSTILE)
        doc_id = store.add_document(Document(title=HOSTILE[0], text=text, path=HOSTILE[1], passages=[Passage(0, 5, text[:5])]))
        assert store.get_document(doc_id).text == text
        store.set_meta(HOSTILE[0], HOSTILE[1])
        assert store.get_meta(HOSTILE[0]) == HOSTILE[1]
        assert store.find_paper(uid=HOSTILE[2]) is None
        store.put_embeddings(HOSTILE[3], {HOSTILE[4]: np.ones(4, dtype=np.float32)})
        assert list(store.get_embeddings(HOSTILE[3], [HOSTILE[4]])) == [HOSTILE[4]]
    with sqlite3.connect(tmp_path / "triage.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"papers", "labels", "documents", "embeddings", "meta"} <= tables
        assert db.execute("SELECT COUNT(*) FROM papers WHERE title = 'pwned'").fetchone()[0] == 0


def test_review_and_job_records_round_trip_hostile_strings(workspace, tmp_path):
    from corpus import jobs
    from triage.review import ReviewSession
    from triage.workspace_data import open_store

    draft = tmp_path / "draft.md"
    draft.write_text(f"# {HOSTILE[0]}\n\nBody of the draft.\n")
    session = ReviewSession.open(workspace, HOSTILE[0])
    [item] = session.add_drafts([draft])
    session.decide(item, reviewer=HOSTILE[1], state="hold", rationale=HOSTILE[2])
    assert ReviewSession.open(workspace, HOSTILE[0], create=False).log()[0].rationale == HOSTILE[2]
    with open_store(workspace, seed=False) as store:
        job = jobs.create_job(store, "files", {"inputs": HOSTILE}, HOSTILE[3])
        assert jobs.find_unfinished(store, HOSTILE[3]).id == job.id
        with pytest.raises(ValueError):
            jobs.top_results(store, job.id, "safety; DROP TABLE jobs")
    with sqlite3.connect(workspace.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
