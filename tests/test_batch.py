"""`triage batch`: the real arXiv client against a local Atom server, files, checkpoints, kills and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus import jobs
from corpus.errors import InputError
from corpus.store import Store
from models.embedders import FakeEmbedder
from tests.batch_helpers import home, paper_entries, result_count, tiny_probes, write_snapshot  # noqa: F401 (fixtures)
from tests.cli_helpers import run_cli
from tests.test_reader_arxiv import FakeArxiv, Reply, atom_entry, fake_arxiv, paged  # noqa: F401 (fixture)
from triage.batch import arxiv_query, run_batch
from triage.index import PaperIndex
from triage.scores_file import COLUMNS, read_scores

ROOT = Path(__file__).resolve().parents[1]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _batch_args(fake: FakeArxiv, out: Path, *extra: str) -> list[str]:
    return ["--model", "fake", "-q", "batch", "--base-url", fake.url, "--delay", "0", "--retries", "1", "--out", str(out), *extra]


# --- the arXiv query -----------------------------------------------------------------------------------------


def test_category_and_date_window_query():
    assert arxiv_query(categories=["cs.LG", "cs.AI"], since="2026-11-28", until="2026-11-29") == (
        "submittedDate:[202611280000 TO 202611292359] AND (cat:cs.LG OR cat:cs.AI)"
    )
    assert arxiv_query("abs:reward OR abs:RLHF", ["cs.LG"]) == "(abs:reward OR abs:RLHF) AND cat:cs.LG"
    with pytest.raises(InputError, match="after"):
        arxiv_query(categories=["cs.LG"], since="2026-11-29", until="2026-11-28")
    with pytest.raises(InputError, match="category"):
        arxiv_query(categories=["cs.LG OR 1"])


def test_category_shortcut_reaches_the_server_as_that_query(capsys, home, fake_arxiv, tmp_path):
    fake_arxiv.handler = paged(paper_entries(3))
    out = tmp_path / "day.jsonl"
    result = run_cli(capsys, *_batch_args(fake_arxiv, out, "--category", "cs.LG", "--category", "cs.AI", "--since", "2026-11-28", "--until", "2026-11-28"))
    assert result.code == 0, result.err
    assert {r["search_query"] for r in fake_arxiv.requests} == {"submittedDate:[202611280000 TO 202611282359] AND (cat:cs.LG OR cat:cs.AI)"}
    assert len(_lines(out)) == 3


# --- the real client against the local server ----------------------------------------------------------------


def test_pages_land_in_the_output_with_the_right_count(workspace, home, fake_arxiv, tmp_path):
    fake_arxiv.handler = paged(paper_entries(12))
    out = tmp_path / "scores.csv"

    report = run_batch(workspace, embedder=FakeEmbedder(), query="cat:cs.LG", out=out, settings=fake_arxiv.settings(page_size=5))

    assert [r["start"] for r in fake_arxiv.requests] == ["0", "5", "10"]
    frame = read_scores(out)
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 12 and frame["arxiv_id"].nunique() == 12
    assert set(frame["tier"]) <= {"publish", "review", "restrict"}
    assert frame["authors"].iloc[0] == ["Ada Example"] and frame["prior_id"].notna().all()
    assert (report.status, report.scored, report.total, report.new_embeddings) == ("done", 12, 12, 12)
    assert sum(report.tiers.values()) == 12 and len(report.top_capabilities) == 10
    # The new papers are in the corpus and in the saved index.
    index = PaperIndex(workspace.index_dir, "fake-hash-64")
    index.read()
    with Store(workspace.db_path) as store:
        assert store.find_paper(arxiv_id="2611.00012") is not None
        assert index.meta.count == store.paper_count()


def test_page_failing_once_with_http_500_is_retried(workspace, home, fake_arxiv, tmp_path):
    serve = paged(paper_entries(9))
    failed: list[str] = []

    def flaky(params: dict[str, str]) -> Reply:
        if params["start"] == "4" and not failed:
            failed.append("once")
            return 500, "upstream hiccup"
        return serve(params)

    fake_arxiv.handler = flaky
    report = run_batch(workspace, embedder=FakeEmbedder(), query="all:x", out=tmp_path / "s.jsonl", settings=fake_arxiv.settings(page_size=4))

    assert [r["start"] for r in fake_arxiv.requests] == ["0", "4", "4", "8"]
    assert report.scored == 9 and len(_lines(tmp_path / "s.jsonl")) == 9


def test_malformed_entry_is_skipped_and_reported(workspace, home, fake_arxiv, tmp_path):
    entries = paper_entries(6)
    entries[2] = atom_entry(None, title="No identifier")
    entries[4] = atom_entry("2611.00005v1", title="Bad date", published="second Tuesday")
    fake_arxiv.handler = paged(entries)

    report = run_batch(workspace, embedder=FakeEmbedder(), query="all:x", out=tmp_path / "s.jsonl", settings=fake_arxiv.settings(page_size=4))

    assert report.scored == 4 and report.records == 6 and report.skipped_count == 2
    assert [(i.record, "skipped" in i.message) for i in report.issues] == [(2, True), ("2611.00005", True)]
    assert len(_lines(tmp_path / "s.jsonl")) == 4


def test_network_failure_names_the_job_and_the_same_command_resumes(capsys, home, fake_arxiv, tmp_path):
    serve = paged(paper_entries(10))
    down = {"on": True}
    fake_arxiv.handler = lambda params: (503, "maintenance") if down["on"] and params["start"] == "4" else serve(params)
    out = tmp_path / "s.parquet"
    args = _batch_args(fake_arxiv, out, "--query", "all:x", "--page-size", "4")

    failed = run_cli(capsys, *args)

    assert failed.code == 1 and "Traceback" not in failed.err
    lines = failed.err.strip().splitlines()
    assert len(lines) == 1 and "HTTP 503" in lines[0] and "job 1" in lines[0] and "--resume 1" in lines[0]
    assert not out.exists()

    down["on"] = False
    fake_arxiv.requests.clear()
    resumed = run_cli(capsys, *args, "--format", "json")

    assert resumed.code == 0, resumed.err
    assert [r["start"] for r in fake_arxiv.requests] == ["4", "8"]  # the first page was not fetched again
    summary = resumed.json()
    assert (summary["job_id"], summary["resumed"], summary["scored"]) == (1, True, 10)
    frame = read_scores(out)
    assert len(frame) == 10 and frame["arxiv_id"].nunique() == 10


def test_sigkill_mid_run_then_resume_gives_every_paper_once(capsys, home, fake_arxiv, tmp_path):
    serve = paged(paper_entries(40))

    def slow(params: dict[str, str]) -> Reply:
        time.sleep(0.25)  # slow enough that the kill lands between checkpoints, not after the last one
        return serve(params)

    fake_arxiv.handler = slow
    out = tmp_path / "s.jsonl"
    args = ["--home", str(home), *_batch_args(fake_arxiv, out, "--query", "all:x", "--page-size", "4")]
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_triage", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while result_count(home) < 8 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    at_kill = result_count(home)
    assert process.returncode == -signal.SIGKILL
    assert 8 <= at_kill < 40, f"the kill landed after {at_kill} results"

    fake_arxiv.handler = serve
    fake_arxiv.requests.clear()
    resumed = run_cli(capsys, *args, "--format", "json")

    assert resumed.code == 0, resumed.err
    assert int(fake_arxiv.requests[0]["start"]) >= at_kill  # continued from the checkpoint
    ids = [row["arxiv_id"] for row in _lines(out)]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert resumed.json()["scored"] == 40 and result_count(home) == 40


# --- files, interruptions and the cache ------------------------------------------------------------------------


class _InterruptingEmbedder(FakeEmbedder):
    """Presses Ctrl-C (raises KeyboardInterrupt) on its n-th call."""

    def __init__(self, calls_before_interrupt: int):
        super().__init__(64)
        self.calls_left = calls_before_interrupt

    def encode(self, texts, **kwargs):
        self.calls_left -= 1
        if self.calls_left < 0:
            raise KeyboardInterrupt
        return super().encode(texts, **kwargs)


def test_ctrl_c_then_rerun_resumes_and_a_second_job_embeds_nothing(workspace, home, tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 50)
    from triage.workspace_data import open_store, synced_index

    with open_store(workspace) as store:  # index the seed first, so the embedder's calls are the batch's own
        synced_index(workspace, store, FakeEmbedder())

    with pytest.raises(KeyboardInterrupt):
        run_batch(workspace, embedder=_InterruptingEmbedder(1), inputs=[snapshot], batch_size=20)
    with open_store(workspace) as store:
        interrupted = jobs.get_job(store, 1)
    assert interrupted.status == jobs.INTERRUPTED and interrupted.scored == 20

    embedder = FakeEmbedder()
    resumed = run_batch(workspace, embedder=embedder, inputs=[snapshot], batch_size=20, out=tmp_path / "a.jsonl")
    assert (resumed.job_id, resumed.resumed, resumed.scored) == (1, True, 50)
    assert embedder.texts_embedded == resumed.new_embeddings == 30  # only the papers after the checkpoint
    ids = [row["arxiv_id"] for row in _lines(tmp_path / "a.jsonl")]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 50

    again = FakeEmbedder()
    second = run_batch(workspace, embedder=again, inputs=[snapshot], batch_size=20, out=tmp_path / "b.jsonl")
    assert (second.job_id, second.resumed, second.scored) == (2, False, 50)
    assert second.new_embeddings == 0 and again.texts_embedded == 0 and second.cached_embeddings == 50


def test_snapshot_with_a_bad_line_scores_the_rest_and_names_the_line(capsys, home, tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 5, bad_lines={3: '{"id": "2612.99999", "title": broken'})
    result = run_cli(capsys, "--model", "fake", "batch", "--input", snapshot, "--out", tmp_path / "s.csv", "--format", "json")

    assert result.code == 0, result.err
    summary = result.json()
    assert summary["scored"] == 5 and summary["skipped_count"] == 1
    assert summary["issues"] == [f"{snapshot}:3: skipped: malformed JSON (Expecting value at column 31)"]
    assert f"{snapshot}:3" in result.err  # also said as it happened
    assert len(read_scores(tmp_path / "s.csv")) == 5
    digest = run_cli(capsys, "report", tmp_path / "s.csv", "--html", tmp_path / "r.html")
    assert digest.code == 0 and 'src="data:image/png;base64,' in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_held_out_cases_with_only_a_text_get_one_scored_row_each(workspace, home, tmp_path):
    long_text = "We red-team a reward model for deception. " + "It hides its goals under oversight. " * 6
    cases = [
        {"text": "Probing sleeper agents in toy transformers", "safety": 1, "capabilities": 0},
        {"text": long_text, "safety": 1, "capabilities": 0},
        {"title": "Scaling laws for neural language models", "summary": "Loss falls as a power law in compute."},
        {"title": "Efficient attention kernels", "abstract": "We make attention faster on GPUs.", "safety": 0},
    ]
    path = tmp_path / "held_out.jsonl"
    path.write_text("".join(json.dumps(case) + "\n" for case in cases), encoding="utf-8")

    report = run_batch(workspace, embedder=FakeEmbedder(), inputs=[path], out=tmp_path / "x.jsonl")

    rows = _lines(tmp_path / "x.jsonl")
    assert report.scored == len(rows) == 4 and report.issue_count == 0
    assert [row["title"] for row in rows] == [
        "Probing sleeper agents in toy transformers", "We red-team a reward model for deception", "Scaling laws for neural language models",
        "Efficient attention kernels",
    ]
    with Store(workspace.db_path) as store:
        short, long = (store.find_paper(uid=rows[i]["id"]).paper for i in (0, 1))
    assert short.embedding_text() == "Probing sleeper agents in toy transformers"  # not the title twice
    assert long.embedding_text() == " ".join(long_text.split())


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "nothing to score"),
        (["--query", "x", "--input", "{snap}"], "not both"),
        (["--category", "cs.LG", "--since", "2026-13-01"], "--since must be a date"),
        (["--input", "{snap}", "--out", "scores.xlsx"], "must end in"),
        (["--input", "{tmp}/missing.jsonl"], "no such file"),
        (["--resume", "99"], "no batch job 99"),
        (["--resume", "1", "--query", "x"], "--resume continues"),
        (["--query", "x", "--delay", "0"], "3-second rule"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(capsys, home, tmp_path, args, message):
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 2)
    result = run_cli(capsys, "--model", "fake", "batch", *[a.format(snap=snapshot, tmp=tmp_path) for a in args])
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.err


def test_help_says_arxiv_inputs_use_the_network(capsys):
    result = run_cli(capsys, "batch", "--help")
    assert result.code == 0 and "network" in result.out


def test_progress_estimate_counts_small_files_and_reads_only_a_sample_of_a_gzip_bomb(tmp_path, monkeypatch):
    import gzip

    import triage.batch as batch

    (tmp_path / "a.jsonl").write_text('{"title": "t"}\n' * 1000, encoding="utf-8")
    (tmp_path / "a.csv").write_text("title,abstract\n" + "t,a\n" * 50, encoding="utf-8")
    (tmp_path / "a.bib").write_text("@article{a, title={A}}\n\n@misc{b, title={B}}\n", encoding="utf-8")
    assert [batch._estimate_records(tmp_path / n) for n in ("a.jsonl", "a.csv", "a.bib")] == [1000, 50, 2]

    bomb, lines = tmp_path / "bomb.jsonl.gz", 256 << 20  # 256 MiB of newlines in well under 1 MiB on disk
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        for _ in range(16):
            handle.write(b"\n" * (lines // 16))
    decompressed = []

    class Counting(gzip.GzipFile):
        def read(self, size=-1):
            block = super().read(size)
            decompressed.append(len(block))
            return block

    monkeypatch.setattr(batch.gzip, "GzipFile", Counting)
    estimate = batch._estimate_records(bomb)
    assert sum(decompressed) <= batch._ESTIMATE_SAMPLE_BYTES + (1 << 20)  # a sample, not the whole bomb
    # An ETA, not a count: read-ahead of the compressed stream skews it for data this compressible.
    assert lines / 2 <= estimate <= 2 * lines


def test_prior_work_is_the_nearest_paper_of_the_whole_run_whichever_page_it_came_in(workspace, home, tmp_path):
    twin = "Zebra quokka lemur narwhal axolotl okapi."
    rows = [{"arxiv_id": "2612.00001", "title": "Zebra quokka lemur", "abstract": twin}]
    rows += [{"arxiv_id": f"2612.0000{n}", "title": f"Filler {n}", "abstract": f"Scaling benchmark {n} throughput."} for n in range(2, 6)]
    rows.append({"arxiv_id": "2612.00006", "title": "Zebra quokka lemur, again", "abstract": twin})
    path = tmp_path / "twins.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    run_batch(workspace, embedder=FakeEmbedder(), inputs=[path], batch_size=2, out=tmp_path / "s.jsonl")

    prior = {row["arxiv_id"]: row["prior_id"] for row in _lines(tmp_path / "s.jsonl")}
    # The first paper was scored three pages before its twin arrived, and still finds it.
    assert (prior["2612.00001"], prior["2612.00006"]) == ("2612.00006", "2612.00001")
