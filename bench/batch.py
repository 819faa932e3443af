"""Benchmark `triage batch` on 10k real arXiv abstracts: docs/s cold and cached, peak RSS by size, resume after a kill.

Usage: .venv/bin/python bench/batch.py [--sizes 1000 5000 10000] [--model default] [--out bench/out/batch.md]

`--model fake` or `fake-384` (the hashing test embedder, run through tests/fake_triage.py, which registers it) measures
the pipeline alone: reading, store, scoring, index, export.

Every measured run is a separate `python -m triage batch` process; its peak RSS comes from os.wait4's rusage.
Results go to bench/out/batch.md (and the working files to bench/out/batch-work/<model>/). Without the shared sample
(../shared/data/arxiv-daily-cs-sample) the benchmark says so and exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "arxiv-daily-cs-sample" / "arxiv_cs_CL_AI_LG_sample10k.jsonl.gz"
OUT = ROOT / "bench" / "out"
RESUME_SIZE = 1000
KILL_AT = 500


def convert(work: Path, count: int) -> Path:
    """The first `count` records in the table shape `--input` reads (the sample names its abstract `summary`)."""
    target = work / f"sample-{count}.jsonl"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as source, target.open("w", encoding="utf-8") as sink:
        for number, line in enumerate(source):
            if number == count:
                break
            record = json.loads(line)
            sink.write(
                json.dumps(
                    {
                        "arxiv_id": record["id"], "title": record["title"], "abstract": record["summary"],
                        "authors": record.get("authors") or [], "categories": record.get("categories") or [],
                        "url": record.get("abs"),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return target


def env() -> dict[str, str]:
    values = dict(os.environ)
    values.pop("TRIAGE_HOME", None)
    values["HF_HUB_OFFLINE"] = "1"
    return values


def measured(cmd: list[str], log: Path, poll=None) -> dict:
    """Run `cmd`, return its wall time, exit status and peak RSS (of that process alone, via wait4)."""
    started = time.monotonic()
    with log.open("w") as out, (log.with_suffix(".err")).open("w") as err:
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env())
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if poll is not None:
                poll(process, time.monotonic() - started)
            time.sleep(0.05)
    return {
        "wall_s": time.monotonic() - started,
        "rc": os.waitstatus_to_exitcode(status),
        "max_rss_mib": usage.ru_maxrss / 1024,  # KiB on Linux
    }


def results(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'triage.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM job_results").fetchone()[0]
    except sqlite3.Error:
        return 0


def triage_cmd(model: str, home: Path, *args: str) -> list[str]:
    """`python -m triage`, or the driver that registers the test embedders when `model` is one of them."""
    from tests.fake_triage import TEST_MODELS

    module = "tests.fake_triage" if model in TEST_MODELS else "triage"
    return [sys.executable, "-m", module, "--home", str(home), "--model", model, *args]


def batch_cmd(home: Path, model: str, data: Path, out: Path, *extra: str) -> list[str]:
    return triage_cmd(model, home, "-q", "batch", "--input", str(data), "--out", str(out), "--format", "json", *extra)


def summary(log: Path) -> dict:
    return json.loads(log.read_text())


def prepare_base(work: Path, model: str) -> tuple[Path, float]:
    """A workspace with the seed corpus embedded and indexed and the default probe trained, so runs time batching only."""
    base = work / "base"
    shutil.rmtree(base, ignore_errors=True)
    started = time.monotonic()
    for step in (["index", "build"], ["models", "train"]):
        subprocess.run(triage_cmd(model, base, "-q", *step), cwd=ROOT, env=env(), check=True, stdout=subprocess.DEVNULL)
    return base, time.monotonic() - started


def fresh(base: Path, name: str) -> Path:
    home = base.parent / name
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base, home)
    return home


def memory_line(rows: list[dict]) -> str:
    cold = sorted((row["size"], row["max_rss_mib"]) for row in rows if row["kind"] == "cold")
    if len(cold) < 2:
        return ""
    (small, small_rss), (large, large_rss) = cold[0], cold[-1]
    verdict = "within" if large_rss <= 1.15 * small_rss else "outside"
    return (f"Peak RSS, {large:,} vs {small:,} papers: {large_rss:.0f} / {small_rss:.0f} MiB = {large_rss / small_rss:.2f}x "
            f"({verdict} the 15% target).")


def screenshot(html: Path, png: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return "chromium not installed; no screenshot"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}",
         "--window-size=1200,3000", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    return f"screenshot {png.relative_to(ROOT)}" if png.exists() else f"chromium failed: {done.stderr.strip()[-300:]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", type=Path, default=OUT / "batch.md")
    parser.add_argument("--engine", choices=("in-process", "ray"), default="in-process",
                        help="ray: the side-by-side comparison of bench/ray_batch.py (its own options follow)")
    args, rest = parser.parse_known_args()
    if args.engine == "ray":
        from bench.ray_batch import main as ray_main

        return ray_main(["--model", args.model, *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.out = args.out.resolve()
    work = OUT / "batch-work" / args.model.replace("/", "_")
    if not SAMPLE.is_file():
        print(f"skipped: the shared sample is not here ({SAMPLE})")
        return 0
    work.mkdir(parents=True, exist_ok=True)
    command = "cd " + shlex.quote(str(ROOT)) + " && .venv/bin/python bench/batch.py " + " ".join(
        ["--sizes", *map(str, args.sizes), "--model", args.model, "--out", str(args.out)]
    )
    load_before = os.getloadavg()
    base, setup_s = prepare_base(work, args.model)
    print(f"base workspace ready in {setup_s:.0f} s", flush=True)

    rows = []
    for size in args.sizes:
        data = convert(work, size)
        home = fresh(base, f"ws-{size}")
        log = work / f"cold-{size}.json"
        run = measured(batch_cmd(home, args.model, data, work / f"scores-{size}.parquet"), log)
        rows.append({"size": size, "kind": "cold", **run, **summary(log)})
        print(f"cold {size}: {run}", flush=True)
    largest = max(args.sizes)
    home = work / f"ws-{largest}"
    log = work / f"cached-{largest}.json"
    run = measured(batch_cmd(home, args.model, work / f"sample-{largest}.jsonl", work / f"scores-{largest}-again.parquet"), log)
    rows.append({"size": largest, "kind": "cached", **run, **summary(log)})
    print(f"cached {largest}: {run}", flush=True)

    # Resume after a kill: a cold run over RESUME_SIZE papers is killed once KILL_AT results are in.
    resume_size = min(RESUME_SIZE, largest)
    data = convert(work, resume_size)
    home = fresh(base, "ws-resume")
    cmd = batch_cmd(home, args.model, data, work / "scores-resume.jsonl", "--batch-size", "64")
    killed = {"sent": False}

    def kill_when_half_done(process, _elapsed: float) -> None:
        if not killed["sent"] and results(home) >= min(KILL_AT, resume_size // 2):
            killed["sent"] = True
            os.kill(process.pid, signal.SIGKILL)

    first_run = measured(cmd, work / "resume-first.json", poll=kill_when_half_done)
    first_new: dict[str, float | None] = {"s": None}
    at_kill = results(home)

    def watch(_process, elapsed: float) -> None:
        if first_new["s"] is None and results(home) > at_kill:
            first_new["s"] = elapsed

    resumed = measured(cmd, work / "resume-second.json", poll=watch)
    resumed_summary = summary(work / "resume-second.json")
    lines = (work / "scores-resume.jsonl").read_text().splitlines()
    ids = [json.loads(line)["arxiv_id"] for line in lines]

    report_html = work / f"report-{largest}.html"
    report = subprocess.run(
        [sys.executable, "-m", "triage", "report", str(work / f"scores-{largest}.parquet"), "--html", str(report_html)],
        cwd=ROOT, env=env(), capture_output=True, text=True,
    )
    shot = screenshot(report_html, args.out.with_suffix(".png")) if report.returncode == 0 else f"report failed: {report.stderr}"
    load_after = os.getloadavg()

    md = [
        "## `triage batch` (issue 4; issue 6 targets 4 and 6)",
        "",
        f"Command: `{command}`",
        "",
        f"Data: first N records of `{SAMPLE.relative_to(ROOT.parent)}` (converted to the table shape, summary as abstract).",
        f"Machine: {os.cpu_count()} CPUs; load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
        "(other work on the machine slows every figure).",
        f"Embedder: {rows[0]['embedder']}. Setup of the base workspace (seed indexed, probe trained): {setup_s:.0f} s, not counted below.",
        "",
        "| run | papers | wall s | in-run s | docs/s (in-run) | docs/s (wall) | new embeddings | peak RSS MiB | rc |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        md.append(
            f"| {row['kind']} {row['size']} | {row['scored']} | {row['wall_s']:.1f} | {row['seconds']:.1f} | "
            f"{row['docs_per_second']:.1f} | {row['scored'] / row['wall_s']:.1f} | {row['new_embeddings']} | "
            f"{row['max_rss_mib']:.0f} | {row['rc']} |"
        )
    md += [
        "",
        "In-run seconds are from the run's own summary (store, index and probe loading, model load, reading, embedding,",
        "scoring, export); wall seconds add interpreter start-up and imports. Each size is one run (a cold 10k run takes",
        "minutes); the cached rerun is the zero-embedding check: `new embeddings` counts texts the embedder really ran.",
        "",
        memory_line(rows),
        "",
        "### Resume after a kill",
        "",
        f"A cold run over {resume_size} papers (`--batch-size 64`) was SIGKILLed at {at_kill} results "
        f"(first run rc {first_run['rc']}, {first_run['wall_s']:.1f} s).",
        f"The same command then resumed job {resumed_summary['job_id']} (resumed={resumed_summary['resumed']}): "
        f"first new checkpoint after {first_new['s'] if first_new['s'] is None else round(first_new['s'], 1)} s, "
        f"finished in {resumed['wall_s']:.1f} s, {resumed_summary['new_embeddings']} new embeddings, "
        f"peak RSS {resumed['max_rss_mib']:.0f} MiB.",
        f"Output rows: {len(ids)}, distinct arXiv ids: {len(set(ids))} (expected {resume_size}).",
        "",
        f"Report: `{report_html.relative_to(ROOT)}`; {shot}.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(md))
    if args.model == "default":
        write_section("batch", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
