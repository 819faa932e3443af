"""Hostile and careless input (issue 12): usage errors, Ctrl-C, options after the command, titles that carry markup,
terminal escapes or spreadsheet formulas, outputs that would overwrite something, and damaged configuration."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch_helpers import home, result_count, tiny_probes, write_snapshot  # noqa: F401 (fixtures)
from tests.cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
ESC, BEL = "\x1b", "\x07"
# Titles and authors as an attacker would write them: rich markup, a hidden hyperlink, a window-title change (OSC),
# a screen clear (CSI), a bidi override, and spreadsheet formulas.
HOSTILE = [
    {"title": "Sparse [/] autoencoders [link=https://evil.example]click[/link] find features \x1b]0;pwned\x07 \x1b[2J",
     "abstract": "We study sparse autoencoders, interpretability and features of language models.", "authors": "@SUM(A1) and Eve \u202eevil"},
    {"title": '=HYPERLINK("http://evil.example","open") sparse autoencoders interpretability',
     "abstract": "Sparse autoencoders for interpretability of features in models.", "authors": "-2+3 and Bob"},
    {"title": "+cmd|' /C calc'!A0 reward hacking \u202etxt.exe",
     "abstract": "Reward hacking, oversight and deception in agents.", "authors": "Carol"},
    # A capabilities paper, so the scores file holds a negative differential (a number that starts with "-").
    {"title": "-1 day pretraining: fused attention kernels make frontier language model training three times faster",
     "abstract": "We scale pretraining with fused kernels, mixture-of-experts routing and better parallelism, raising benchmark accuracy.",
     "authors": "Dan"},
]


def _hostile_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["title", "abstract", "authors"])
        writer.writeheader()
        writer.writerows(HOSTILE)
    return path


def _triage(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.fake_triage", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def _formula(cell: str) -> bool:
    """Whether a spreadsheet would evaluate this cell."""
    return cell[:1] != "" and cell[0] in "=+-@\t\r"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- careless use ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, says",
    [
        (["similar", "--bogus", "x"], "No such option: --bogus"),
        (["models", "eval"], "Missing option '--labels'"),
        (["corpus", "stats", "--format", "xml"], "'xml' is not one of"),
        (["bogus"], "No such command 'bogus'"),
        (["corpus", "imprt", "x.csv"], "No such command 'imprt'"),
    ],
    ids=["unknown-option", "missing-option", "bad-choice", "unknown-command", "unknown-subcommand"],
)
def test_usage_errors_are_a_usage_line_and_a_hint_with_exit_2(args, says):
    done = _triage(*args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert 1 <= len(lines) <= 4 and "Traceback" not in done.stderr, done.stderr
    assert any(says in line for line in lines) and lines[0].startswith("Usage: triage")
    assert lines[-1].startswith("Try 'triage") and done.stdout == ""


def test_a_group_without_a_command_prints_its_help():
    done = _triage("corpus")
    assert "Usage: triage corpus" in done.stdout and done.stderr == "" and done.returncode == 2


def test_a_usage_error_quoting_an_escape_prints_it_as_text():
    done = _triage("similar", "--b\x1b]0;pwned\x07ogus")
    assert done.returncode == 2 and ESC not in done.stderr and BEL not in done.stderr
    assert "\\x1b]0;pwned\\x07" in done.stderr


def test_global_options_are_taken_after_the_command_too(monkeypatch, capsys, tmp_path):
    from triage.cli import Options
    from triage.errors import TriageError

    seen = []

    def record(self):
        seen.append(self)
        raise TriageError("stop here")

    monkeypatch.setattr(Options, "workspace", record)
    args = ["--home", tmp_path / "w", "--model", "m", "--backend", "b", "--device", "d", "--quiet"]
    before = run_cli(capsys, *args, "corpus", "stats")
    after = run_cli(capsys, "corpus", "stats", *args)
    short = run_cli(capsys, "labels", "stats", "-q", "--home", tmp_path / "v")
    assert before.code == after.code == short.code == 1 and "stop here" in after.err
    assert seen[0] == seen[1] == Options(home=tmp_path / "w", model="m", device="d", backend="b", quiet=True)
    assert seen[2].quiet and seen[2].home == tmp_path / "v" and seen[2].model == "default"


def test_batch_quiet_after_the_command_works(capsys, home, tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 6, bad_lines={2: "{not json"})
    noisy = run_cli(capsys, "--model", "fake", "batch", "--input", snapshot, "--format", "json")
    assert noisy.code == 0 and "note:" in noisy.err
    quiet = run_cli(capsys, "batch", "--input", snapshot, "--out", tmp_path / "s.csv", "--quiet", "--model", "fake", "--format", "json")
    assert quiet.code == 0, quiet.err
    assert quiet.err == "" and quiet.json()["scored"] == 6


def _interruptible(command: list[str]) -> subprocess.Popen:
    """Start `command` with Ctrl-C at its default: a shell that starts a job in the background (`make test &`) makes
    its children ignore SIGINT, and Python then keeps ignoring it, so the test would see a run that never stopped."""
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(predicate, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)


def test_sigint_partway_through_batch_says_interrupted_exits_130_and_resumes(home, tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 600)
    out = tmp_path / "scores.jsonl"
    command = [sys.executable, "-m", "tests.fake_triage", "--home", str(home), "--model", "fake", "-q", "batch", "--input", str(snapshot),
               "--batch-size", "10", "--out", str(out), "--format", "json"]
    process = _interruptible(command)
    try:
        _wait_for(lambda: result_count(home) >= 30, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "triage: interrupted" and "Traceback" not in stderr
    at_interrupt = result_count(home)
    assert 30 <= at_interrupt < 600 and not out.exists()

    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["arxiv_id"] for line in out.read_text().splitlines()]
    assert len(ids) == 600 and len(set(ids)) == 600


def test_sigint_during_corpus_import_exits_130_and_imports_nothing(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as handle:
        handle.write("title,abstract\n")
        for n in range(150_000):
            handle.write(f"Paper {n} on widgets,We study widgets number {n}.\n")
    home = tmp_path / "ws"
    process = _interruptible([sys.executable, "-m", "triage", "--home", str(home), "corpus", "import", str(big), "--no-index"])
    try:
        _wait_for(lambda: (home / "triage.db-wal").exists() and (home / "triage.db-wal").stat().st_size > 1_000_000, process, 120)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and stderr.strip().splitlines()[-1] == "triage: interrupted", stderr
    with sqlite3.connect(home / "triage.db") as db:
        assert db.execute("SELECT COUNT(*) FROM papers WHERE source = 'csv'").fetchone()[0] == 0  # one transaction: none of it


# --- titles are data -------------------------------------------------------------------------------------------


@pytest.fixture
def hostile_workspace(capsys, tmp_path):
    imported = run_cli(capsys, "--model", "fake", "corpus", "import", _hostile_csv(tmp_path / "hostile.csv"))
    assert imported.code == 0, imported.err
    return tmp_path / "hostile.csv"


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_similar_prints_hostile_titles_as_text(capsys, monkeypatch, hostile_workspace, fmt):
    monkeypatch.setenv("COLUMNS", "300")
    result = run_cli(capsys, "--model", "fake", "similar", "sparse autoencoders interpretability features", "-k", "5", "--format", fmt)
    assert result.code == 0, result.err
    for bad in (ESC, BEL, "\u202e", "\x9b"):
        assert bad not in result.out and bad not in result.err
    if fmt == "table":
        assert "[/]" in result.out and "[link=https://evil.example]click[/link]" in result.out  # printed, not interpreted
        assert "\\x1b]0;pwned\\x07" in result.out and "\\x1b[2J" in result.out
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.out)))
        assert not [cell for row in rows for cell in row.values() if _formula(cell)]
        assert any(row["title"].startswith("'=HYPERLINK(") for row in rows)
        assert all(float(row["similarity"]) == float(row["similarity"]) for row in rows)  # numbers stay numbers
    else:
        titles = {hit["title"] for hit in result.json()}
        assert HOSTILE[0]["title"] in titles and HOSTILE[1]["title"] in titles  # JSON escapes, and keeps the data exact


def test_batch_over_hostile_titles_exits_0_and_keeps_the_data_in_its_files(capsys, monkeypatch, home, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    source = _hostile_csv(tmp_path / "hostile.csv")
    table = run_cli(capsys, "--model", "fake", "batch", "--input", source, "--out", tmp_path / "s.csv")
    assert table.code == 0, table.err
    assert ESC not in table.out and BEL not in table.out and "\u202e" not in table.out
    assert "Top 10 by capability risk" in table.out and "Sparse [/]" in table.out

    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8", newline="")))
    from triage.scores_file import FLOAT_COLUMNS

    texts = [cell for row in rows for column, cell in row.items() if column not in FLOAT_COLUMNS]
    assert not [cell for cell in texts if _formula(cell)]
    by_title = {row["title"].lstrip("'"): row for row in rows}
    assert HOSTILE[0]["title"] in by_title  # the file keeps the data as it is, escapes and all
    assert by_title[HOSTILE[1]["title"]]["title"] == "'" + HOSTILE[1]["title"]
    assert by_title[HOSTILE[0]["title"]]["authors"] == "'@SUM(A1); Eve \u202eevil"
    assert all(isinstance(float(row["differential"]), float) for row in rows)
    assert any(row["differential"].startswith("-") for row in rows)  # a negative number is a number, never prefixed

    as_json = run_cli(capsys, "--model", "fake", "batch", "--input", source, "--out", tmp_path / "s.jsonl", "--format", "json")
    assert as_json.code == 0 and ESC not in as_json.out
    assert {json.loads(line)["title"] for line in (tmp_path / "s.jsonl").read_text().splitlines()} == {h["title"] for h in HOSTILE}

    # Reading the CSV back undoes the formula prefix: the digest shows the titles as they were.
    from triage.scores_file import read_scores

    assert set(read_scores(tmp_path / "s.csv")["title"]) == {h["title"] for h in HOSTILE}


def test_error_lines_quoting_a_file_name_are_sanitised(capsys):
    result = run_cli(capsys, "corpus", "import", "evil\x1b]0;pwned\x07\u202e.csv")
    assert result.code == 2 and ESC not in result.err and BEL not in result.err and "\u202e" not in result.err
    assert "evil\\x1b]0;pwned\\x07\\u202e.csv: no such file" in result.err


def test_review_export_csv_cells_never_start_a_formula(workspace, tmp_path):
    from tests.review_helpers import seed_snapshot_session

    review = seed_snapshot_session(workspace, name="=1+1")
    item = review.queue("alice")[1]
    review.decide(item.id, reviewer="@SUM(A1)", state="hold", rationale="-2+3 looks fine", shown=item.score)
    out = review.export(tmp_path / "d.csv").path
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert len(rows) == 2 and not [c for row in rows for c in row.values() if _formula(c)]
    assert rows[1]["session"] == "'=1+1" and rows[1]["reviewer"] == "'@SUM(A1)" and rows[1]["rationale"] == "'-2+3 looks fine"
    assert float(rows[1]["safety"]) >= 0 and rows[1]["in_force"] == "1"


def test_csv_cell_rule_is_reversible():
    from triage.csv_safe import csv_cell, csv_value

    for text in ("=1+1", "+x", "-y", "@z", "\tTab", "'=quoted", "''=two", "'Tis", "plain", "", "a=b"):
        assert csv_value(csv_cell(text)) == text
        assert csv_cell(text)[:1] not in ("=", "+", "-", "@", "\t")
    assert csv_cell(-1.5) == -1.5 and csv_cell(None) is None


# --- nothing overwritten by mistake ----------------------------------------------------------------------------


@pytest.fixture
def scores_file(tmp_path):
    from triage.scores_file import write_scores

    rows = [{"id": "1", "title": "A", "safety": 0.9, "capabilities": 0.1, "differential": 4.4, "tier": "publish", "reasons": ["safety-dominant"]},
            {"id": "2", "title": "B", "safety": 0.1, "capabilities": 0.9, "differential": -4.4, "tier": "restrict"}]
    path = tmp_path / "scores.csv"
    write_scores([rows], path)
    return path


def test_report_html_refuses_the_workspace_its_input_and_foreign_files(capsys, workspace, scores_file, tmp_path):
    from triage.workspace_data import open_store

    with open_store(workspace):
        pass
    db = workspace.db_path
    notes = tmp_path / "notes.html"
    notes.write_text("<html>my own page</html>")
    linked = tmp_path / "db-link.html"
    linked.symlink_to(db)
    before = {path: _sha(path) for path in (db, scores_file, notes)}
    for target, says in ((db, ".html"), (workspace.home / "digest.html", "inside the workspace"), (linked, "inside the workspace"),
                         (scores_file.with_suffix(".html"), None), (notes, "not a digest written by"), (tmp_path / "d.txt", ".html")):
        if says is None:  # the input itself, through a link with the right suffix
            target.symlink_to(scores_file)
            says = "also an input"
        result = run_cli(capsys, "report", scores_file, "--html", target)
        assert result.code == 2 and says in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert {path: _sha(path) for path in before} == before
    assert not (workspace.home / "digest.html").exists() and not (tmp_path / "d.txt").exists()

    digest = tmp_path / "digest.html"
    assert run_cli(capsys, "report", scores_file, "--html", digest).code == 0
    assert run_cli(capsys, "report", scores_file, "--html", digest).code == 0  # its own digest may be replaced
    page_link = tmp_path / "page.html"
    page_link.symlink_to(digest)
    assert run_cli(capsys, "report", scores_file, "--html", page_link).code == 0
    assert page_link.is_symlink() and "<!DOCTYPE html>" in digest.read_text()  # written through the link


def test_batch_out_equal_to_an_input_is_refused_and_the_input_unchanged(capsys, workspace, tmp_path):
    source = _hostile_csv(tmp_path / "papers.csv")
    before = (source.stat().st_mtime_ns, _sha(source))
    for out in (source, tmp_path / "." / "papers.csv", tmp_path / "sub" / ".." / "papers.csv"):
        result = run_cli(capsys, "--model", "fake", "batch", "--input", source, "--out", out)
        assert result.code == 2 and "also an input" in result.err, result.err
    assert (source.stat().st_mtime_ns, _sha(source)) == before
    inside = run_cli(capsys, "--model", "fake", "batch", "--input", source, "--out", workspace.home / "scores.csv")
    assert inside.code == 2 and "inside the workspace" in inside.err


def test_a_foreign_sqlite_file_is_refused_before_any_write(capsys, tmp_path):
    home = tmp_path / "ws"
    home.mkdir()
    with sqlite3.connect(home / "triage.db") as db:  # someone's browser history, say
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        db.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    db.close()
    before = _sha(home / "triage.db")
    result = run_cli(capsys, "--home", home, "corpus", "stats")
    assert result.code == 1 and "is not a triage workspace database" in result.err and len(result.err.strip().splitlines()) == 1
    assert _sha(home / "triage.db") == before and sorted(p.name for p in home.iterdir()) == ["triage.db"]  # no -wal: not even WAL


def test_workspace_databases_are_marked_and_old_ones_stamped(tmp_path):
    from corpus.store import APPLICATION_ID, Store

    with Store(tmp_path / "new.db"):
        pass
    with sqlite3.connect(tmp_path / "new.db") as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        db.execute("PRAGMA application_id = 0")  # as a workspace made before the id existed
    db.close()
    with Store(tmp_path / "new.db") as store:
        assert store.paper_count() == 0
    with sqlite3.connect(tmp_path / "new.db") as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


# --- tables fit the terminal -----------------------------------------------------------------------------------


def test_word_columns_never_wrap_and_titles_end_in_an_ellipsis(capsys, monkeypatch):
    from triage.cli.output import OutputFormat, render

    monkeypatch.setenv("COLUMNS", "80")
    rows = [
        {"tier": tier, "safety": "0.01±0.00", "capab.": "0.97±0.01", "diff": "-6.2", "areas": "efficiency, scaling",
         "title": "FlashMix: an extremely long title about fused kernels " * 3, "reasons": "out-of-distribution, uncertain"}
        for tier in ("restrict", "review", "publish")
    ]
    render(rows, OutputFormat.table, title="Scores")
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if "±" in line]
    assert len(body) == 3  # one line per row: nothing wrapped onto a second line
    for line, tier in zip(body, ("restrict", "review", "publish")):
        assert tier in line.split() and "0.01±0.00" in line and "0.97±0.01" in line and "…" in line


# --- bad configuration and damaged files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, shown",
    [('{"max_std": NaN}', "nan"), ('{"max_std": "NaN"}', "'NaN'"), ('{"max_std": true}', "True"), ('{"max_std": 1e999}', "inf"),
     ('{"max_std": [0.1]}', "[0.1]"), ('{"max_std": null}', "None"), ('{"publish_margin": ' + "9" * 400 + "}", "999"),
     ('{"min_relevance": -0.5}', "-0.5"), ('{"restrict_margin": 1e6}', "1000000.0")],
)
def test_policy_values_must_be_finite_numbers_in_range(capsys, tmp_path, text, shown):
    policy = tmp_path / "policy.json"
    policy.write_text(text)
    result = run_cli(capsys, "--model", "fake", "batch", "--input", tmp_path / "none.csv", "--policy", policy)
    lines = result.err.strip().splitlines()
    field = json.loads(text.replace("NaN", "0").replace("1e999", "0").replace("9" * 400, "0")).popitem()[0]
    assert result.code == 2 and len(lines) == 1, result.err
    assert str(policy) in lines[0] and f"'{field}'" in lines[0] and shown in lines[0]


def test_a_policy_that_is_not_an_object_is_one_line(capsys, tmp_path):
    from triage.errors import UsageError
    from triage.policy import TierPolicy

    for text in ("[1, 2]", "null", "7"):
        (tmp_path / "policy.json").write_text(text)
        with pytest.raises(UsageError, match="policy.json: the policy must be a JSON object"):
            TierPolicy.load(tmp_path / "policy.json")


@pytest.mark.parametrize("edit", [{"kind": "ivf"}, {"kind": "ivf-sq8", "nlist": 256}, {"count": "many"}, {"nprobe": None}, {"dim": 65}, {"revision": 1.5}])
def test_an_edited_index_sidecar_is_rebuilt_with_a_note(workspace, fake_embedder, edit):
    from triage.index import PaperIndex
    from triage.progress import RecordingReporter
    from triage.workspace_data import open_store

    with open_store(workspace) as store:
        index = PaperIndex(workspace.index_dir, fake_embedder.model_id)
        index.sync(store, fake_embedder)
        meta = json.loads(index.meta_path.read_text())
        index.meta_path.write_text(json.dumps({**meta, **edit}))
        reporter = RecordingReporter()
        again = PaperIndex(workspace.index_dir, fake_embedder.model_id)
        report = again.sync(store, fake_embedder, reporter=reporter)
        assert report.rebuilt and any("does not match the index file" in note for note in reporter.notes), reporter.notes
        assert again.search(fake_embedder.encode(["sparse autoencoders"]), 3)[0]


@pytest.mark.parametrize(
    "fmt, content, says",
    [
        ("csv", "id,title,safety,capabilities,tier\n1,A,0.5,0.5,review\n", "missing columns differential"),
        ("csv", "id,title,safety,capabilities,differential,tier\n1,A,0.5,0.5,0,review\n2,B,abc,0.5,0,review\n", "column 'safety', row 2"),
        ("csv", "id,title,safety,capabilities,differential,tier\n1,A,NaN,0.5,0,review\n", "column 'safety', row 1"),
        ("csv", "id,title,safety,capabilities,differential,tier\n1,A,0.5,1e308,0,review\n", "column 'capabilities', row 1"),
        ("csv", "id,title,safety,capabilities,differential,tier\n1,A,0.5,0.5,1e308,review\n", "column 'differential', row 1"),
        ("jsonl", '{"title": "A", "safety": 0.5, "capabilities": 0.5, "differential": 0, "tier": "review", "authors": ["x"]}\n'
                  '{"title": "B", "safety": 0.5, "capabilities": 0.5, "differential": 0, "tier": "review", "authors": 5}\n', "column 'authors', row 2"),
        ("jsonl", '{"title": "A", "safety": 0.5, "capabilities": 0.5, "differential": 0, "tier": 3}\n', "column 'tier', row 1"),
        ("jsonl", '{"title": "A", "safety": true, "capabilities": 0.5, "differential": 0, "tier": "review"}\n', "column 'safety', row 1"),
    ],
)
def test_report_on_an_imperfect_scores_file_is_one_line_naming_column_and_row(capsys, tmp_path, fmt, content, says):
    scores = tmp_path / f"scores.{fmt}"
    scores.write_text(content)
    result = run_cli(capsys, "report", scores, "--html", tmp_path / "d.html")
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1 and "Traceback" not in result.err, result.err
    assert str(scores) in lines[0] and says in lines[0]
    assert not (tmp_path / "d.html").exists()


def test_a_report_needs_only_the_columns_it_shows(capsys, tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("title,safety,capabilities,differential,tier\nA,0.9,0.1,4,publish\nB,0.1,0.9,-4,restrict\n")
    result = run_cli(capsys, "report", scores, "--html", tmp_path / "d.html", "--format", "json")
    assert result.code == 0, result.err
    assert result.json()["papers"] == 2


def test_a_multiline_field_over_the_csv_limit_costs_one_record_and_notes_are_capped(capsys, tmp_path):
    path = tmp_path / "papers.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("title,abstract\nFirst paper,the first real row\n")
        handle.write('Huge,"' + "".join(f"line {n} of a huge quoted field, with ""quotes"" and commas\n" for n in range(4000)) + '"\n')
        handle.writelines(f"Bad {n},has,too,many,fields\n" for n in range(60))
        handle.write("Last paper,the last real row\n")
    result = run_cli(capsys, "--model", "fake", "corpus", "import", path, "--no-index", "--format", "json")
    assert result.code == 0, result.err
    notes = result.err.strip().splitlines()
    assert len(notes) == 21 and notes[-1].startswith(f"note: 41 more records skipped in {path};")
    assert result.json()["inserted"] == 2 and result.json()["skipped"] == 61
    assert "the record spans lines 3-4003" in notes[0]


def test_a_huge_multiline_field_is_read_in_bounded_memory(tmp_path):
    import tracemalloc

    from corpus.readers import IssueLog
    from corpus.readers.tables import read_csv

    path = tmp_path / "huge.csv"
    line = "x" * 1000 + ' ""quoted"", with, commas\n'
    with path.open("w", encoding="utf-8") as handle:
        handle.write('title,abstract\nFirst,one\nBig,"start\n')
        for _ in range(50_000):  # 51 MB inside one quoted field
            handle.write(line)
        handle.write('end"\nLast,the last real row\n')
    issues = IssueLog()
    tracemalloc.start()
    try:
        titles = [paper.title for paper in read_csv(path, issues)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert titles == ["First", "Last"] and len(issues) == 1
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_an_edited_probe_card_is_named(workspace, tiny_probes):
    from models.embedders import FakeEmbedder
    from tests.batch_helpers import copy_probes
    from triage.errors import UsageError
    from triage.probe_registry import current_probe, load_version
    from triage.progress import RecordingReporter
    from triage.workspace_data import open_store

    copy_probes(tiny_probes, workspace.home)
    folder = next(p for p in workspace.probes_dir.iterdir() if p.is_dir())
    card = folder / "card.json"
    edited = json.loads(card.read_text())
    edited["created_at"] = "2099-01-01T00:00:00+00:00"  # edited by hand: the version no longer hashes the content
    card.write_text(json.dumps(edited))
    with pytest.raises(UsageError, match=f"probe {folder.name} is damaged"):
        load_version(workspace, folder.name[:6])
    reporter = RecordingReporter()
    with open_store(workspace) as store, pytest.MonkeyPatch.context() as patch:
        patch.setattr("triage.probe_registry.train", lambda *a, **k: "trained")
        assert current_probe(workspace, store, FakeEmbedder(64), reporter=reporter) == "trained"
    assert any(note.startswith(f"skipping damaged probe {folder.name}:") for note in reporter.notes), reporter.notes
    assert not any("no probe for this model yet" in note for note in reporter.notes)


@pytest.mark.slow
def test_the_torch_backend_leaves_no_torchinductor_folder(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "TRIAGE_HOME": str(tmp_path / "ws")}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    code = "from models.embedders import make_embedder\ne = make_embedder('default', 'cpu', backend='torch')\nprint(e.encode(['x']).shape)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(temp.iterdir()) == []


# --- the review app ----------------------------------------------------------------------------------------------


def _screen_text(app) -> str:
    """Every character the app would paint on the terminal for its current screen."""
    update = app.screen._compositor.render_full_update()
    return "".join(segment.text for strip in update.strips for segment in strip)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_review_app_shows_hostile_titles_as_text(workspace, tmp_path, monkeypatch, anyio_backend):
    import tests.review_helpers as helpers
    from triage.review_records import PriorDetail
    from tui.app import build_app
    from tui.screens.prior import PriorWorkScreen

    evil = HOSTILE[0]["title"]
    monkeypatch.setattr(helpers, "PRIOR", [PriorDetail("2309.08600", evil, 0.78, 2023, "https://x.example/\x1b[2J", "line one\x1b]0;t\x07\nline two \u202e")])
    review = helpers.seed_snapshot_session(workspace, name="s\x1b[2J")
    draft = tmp_path / "evil.md"
    draft.write_text(f"# {evil}\n\nWe study [bold]sparse autoencoders[/] \x1b[31m and features.\n")
    review.add_drafts([draft])
    item = next(e for e in review.queue("alice") if e.score is not None and e.state == "pending")
    review.decide(item.id, reviewer="mallory\x1b]0;x\x07", state="hold", rationale="r", shown=item.score)
    app = build_app(workspace, None, review.name, "alice", [], cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await helpers.settle(pilot)
        screens = [_screen_text(app)]
        for entry in range(len(app.main.visible_items)):
            app.main.table.move_cursor(row=entry)
            await helpers.settle(pilot)
            screens.append(_screen_text(app))
        app.main.table.move_cursor(row=next(i for i, e in enumerate(app.main.visible_items) if e.score is not None))
        await helpers.settle(pilot)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PriorWorkScreen)
        screens.append(_screen_text(app))
    painted = "".join(screens)
    for bad in (ESC, BEL, "\u202e"):
        assert bad not in painted
    assert "Sparse [/] autoencoders" in painted and "\\x1b" in painted


@pytest.mark.slow
def test_score_of_the_bundled_examples_fits_80_columns(capsys, monkeypatch, seeded_real_home, real_embedder, tmp_path):
    import shutil

    from triage.cli import Options

    home = tmp_path / "ws"
    shutil.copytree(seeded_real_home.home, home)
    monkeypatch.setattr(Options, "embedder", lambda self: real_embedder)
    monkeypatch.setenv("COLUMNS", "80")
    examples = sorted((ROOT / "triage" / "data" / "examples").glob("*.md"))
    scored = run_cli(capsys, "--home", home, "score", *examples, "--format", "json")
    assert scored.code == 0, scored.err
    table = run_cli(capsys, "--home", home, "score", *examples)  # stdout is not a terminal here, as in a pipe
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.split() and line.split()[0] in {"publish", "review", "restrict"}]
    assert len(rows) == len(examples)  # one line per draft: no tier or score wrapped onto a second line
    for line, result in zip(rows, scored.json()):
        words = line.split()
        assert result["tier"] in words
        for axis in ("safety", "capabilities", "hazard"):
            assert f"{result[axis]:.2f}" in words, axis


def test_a_review_option_value_that_names_a_subcommand_is_still_a_value(capsys):
    result = run_cli(capsys, "review", "-s", "export", "nodraft.md")
    assert result.code == 2 and "nodraft.md: no such file" in result.err, result.err
