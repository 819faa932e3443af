"""`triage batch --engine ray` on a local Ray (2 CPUs, a small object store, started once for this module)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.embedders import FakeEmbedder
from tests.batch_helpers import home, tiny_probes, write_snapshot  # noqa: F401 (fixtures)
from tests.cli_helpers import run_cli
from tests.conftest import shared_path
from triage.batch import run_batch
from triage.scores_file import read_scores

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray for the module; every run in it joins this one instead of starting its own."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Workers import this module's test embedders by name; PYTHONPATH lets them find the tests package.
    ray.init(num_cpus=2, object_store_memory=300 * 1024 * 1024, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


class PoisonEmbedder(FakeEmbedder):
    """Fails on any text that says POISON, as a record that crashes a tokenizer would."""

    def encode(self, texts, **kwargs):
        if any("POISON" in text for text in texts):
            raise RuntimeError("tokenizer crashed")
        return super().encode(texts, **kwargs)


@dataclass(frozen=True)
class PoisonSpec:
    """An EmbedderSpec stand-in whose actors embed with PoisonEmbedder."""

    model: str = "poison"
    backend: str = "auto"
    instance: None = None

    def make(self):
        return PoisonEmbedder()


def _shards_ids(folder: Path) -> list[str]:
    return [i for name in sorted((folder / "scores").iterdir()) for i in read_scores_parquet(name)]


def read_scores_parquet(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(path).column("id").to_pylist()


def test_snapshot_with_bad_lines_names_them_and_scores_the_rest(ray_cluster, workspace, home, tmp_path):
    from triage.ray_engine import run_ray_batch

    snapshot = write_snapshot(tmp_path / "snap.jsonl", 30, bad_lines={3: '{"id": "2612.99999", "title": broken', 17: "[1, 2]"})
    report = run_ray_batch(workspace, embedder=FakeEmbedder(), inputs=[snapshot], out=tmp_path / "s.jsonl", partition_size=7)

    assert (report.scored, report.records, report.skipped_count) == (30, 32, 2)
    assert [str(issue) for issue in report.issues] == [
        f"{snapshot}:3: skipped: malformed JSON (Expecting value at column 31)",
        f"{snapshot}:17: skipped: expected a JSON object, found list",
    ]
    frame = read_scores(tmp_path / "s.jsonl")
    assert len(frame) == 30 and frame["id"].is_unique
    assert not (tmp_path / "s.jsonl.parts").exists()  # the working folder goes once the file is written


def test_same_rows_as_in_process_and_the_next_in_process_run_embeds_nothing(ray_cluster, workspace, home, tmp_path):
    from triage.ray_engine import run_ray_batch

    snapshot = write_snapshot(tmp_path / "snap.jsonl", 60)
    other = tmp_path / "other-home"
    shutil.copytree(home, other)
    from triage.workspace import Workspace

    run_batch(Workspace.at(other), embedder=FakeEmbedder(), inputs=[snapshot], out=tmp_path / "in.jsonl")
    report = run_ray_batch(workspace, embedder=FakeEmbedder(), inputs=[snapshot], out=tmp_path / "ray.jsonl", partition_size=16)
    assert report.new_embeddings == 60 and report.engine == "ray"
    _assert_same(read_scores(tmp_path / "in.jsonl"), read_scores(tmp_path / "ray.jsonl"), 60)

    counter = FakeEmbedder()
    after = run_batch(workspace, embedder=counter, inputs=[snapshot], out=tmp_path / "after.jsonl")
    assert after.new_embeddings == 0 and counter.texts_embedded == 0 and after.scored == 60
    _assert_same(read_scores(tmp_path / "after.jsonl"), read_scores(tmp_path / "ray.jsonl"), 60)


def _assert_same(expected, actual, count: int) -> None:
    assert len(expected) == len(actual) == count and actual["id"].is_unique
    left, right = expected.set_index("id").sort_index(), actual.set_index("id").sort_index()
    assert list(left.index) == list(right.index)
    assert left["tier"].tolist() == right["tier"].tolist()
    assert left["reasons"].tolist() == right["reasons"].tolist()
    assert left["prior_id"].tolist() == right["prior_id"].tolist()
    for column in ("safety", "capabilities", "hazard", "differential", "prior_similarity"):
        # Both engines round to 4 decimals, so two equal scores can differ by one step of that rounding.
        assert (left[column] - right[column]).abs().max() <= 1e-4 + 1e-9, column


def test_a_poison_record_is_reported_and_the_rest_scored(ray_cluster, workspace, home, tmp_path):
    from triage.ray_engine import run_ray_batch

    rows = [{"title": f"Paper {n}", "abstract": "POISON here" if n == 6 else f"We study alignment {n}."} for n in range(1, 11)]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    report = run_ray_batch(workspace, embedder=FakeEmbedder(), embedder_spec=PoisonSpec(), inputs=[path], out=tmp_path / "s.jsonl", partition_size=10)

    assert report.scored == 9 and report.skipped_count == 1
    [issue] = report.issues
    assert issue.record == 6 and "could not be embedded" in issue.message and "tokenizer crashed" in issue.message


def test_sigkilled_driver_then_rerun_gives_every_paper_once_and_no_temporary_shards(ray_cluster, home, tmp_path, capsys):
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 1200)
    out = tmp_path / "shards"
    args = ["--home", str(home), "--model", "fake", "-q", "batch", "--engine", "ray", "--ray-address", ray_cluster,
            "--input", str(snapshot), "--out", f"{out}/", "--partition-size", "10"]
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_triage", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    entries = out / "manifest"
    try:
        deadline = time.monotonic() + 300  # actors start slowly on a loaded 2-core machine
        while time.monotonic() < deadline and process.poll() is None:
            if entries.is_dir() and sum(1 for _ in entries.glob("part-embedded-*")) >= 5:
                break
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    done_at_kill = sum(1 for _ in entries.glob("part-embedded-*"))
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    assert 5 <= done_at_kill < 120, f"the kill landed after {done_at_kill} partitions"

    resumed = run_cli(capsys, *args, "--format", "json")

    assert resumed.code == 0, resumed.err
    summary = resumed.json()
    assert summary["resumed"] is True and summary["scored"] == 1200
    assert summary["new_embeddings"] <= 1200 - 10 * done_at_kill  # finished partitions were not embedded again
    ids = _shards_ids(out)
    assert len(ids) == 1200 and len(set(ids)) == 1200
    assert not [p for p in out.rglob("*") if p.name.startswith(".tmp-")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == 1200 and len(manifest["partitions"]) == 120
    assert not (out / "f32").exists() and len(list((out / "vectors").iterdir())) == 120


def test_without_the_extra_the_engine_says_how_to_install_it(capsys, home, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when the extra is not installed
    snapshot = write_snapshot(tmp_path / "snap.jsonl", 2)
    result = run_cli(capsys, "--model", "fake", "batch", "--engine", "ray", "--input", snapshot, "--out", tmp_path / "s.csv")
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1 and "pip install -e '.[ray]'" in lines[0]


def _abstracts(path: Path, count: int) -> Path:
    sample = shared_path("arxiv-daily-cs-sample", "arxiv_cs_CL_AI_LG_sample10k.jsonl.gz")
    with gzip.open(sample, "rt", encoding="utf-8") as source, path.open("w", encoding="utf-8") as sink:
        for number, line in enumerate(source):
            if number == count:
                break
            record = json.loads(line)
            sink.write(json.dumps({"arxiv_id": record["id"], "title": record["title"], "abstract": record["summary"]}) + "\n")
    return path


@pytest.mark.slow
def test_bar_300_real_abstracts_match_the_in_process_engine(ray_cluster, seeded_real_home, tmp_path, capsys):
    data = _abstracts(tmp_path / "300.jsonl", 300)
    homes = [tmp_path / "in-process", tmp_path / "ray"]
    for target in homes:
        shutil.copytree(seeded_real_home.home, target)
    first = run_cli(capsys, "--home", homes[0], "--quiet", "batch", "--input", data, "--out", tmp_path / "in.parquet")
    assert first.code == 0, first.err
    # The Ray workspace reuses the ONNX export the first run made; the actors load it rather than export again.
    if (homes[0] / "onnx").is_dir():
        shutil.copytree(homes[0] / "onnx", homes[1] / "onnx", dirs_exist_ok=True)
    second = run_cli(capsys, "--home", homes[1], "--quiet", "batch", "--engine", "ray", "--input", data, "--out", tmp_path / "ray.parquet")
    assert second.code == 0, second.err
    _assert_same(read_scores(tmp_path / "in.parquet"), read_scores(tmp_path / "ray.parquet"), 300)
