"""`triage batch --engine ray`: score paper files on a Ray cluster (or a local Ray) with the same scores as in-process.

Two stages, each resumable partition by partition:

1. **embed**: the driver reads the input files' lines (decompression and the read limits stay where the file is)
   and cuts them into deterministic partitions of `partition_size` records; a pool of actors, each holding one
   embedder, validates the records as `corpus.readers` does and embeds them. The driver writes each partition's
   papers, float16 vector shard and float32 intermediate, then its manifest entry.
2. **score**: prior work is the nearest other paper among the workspace and the whole run (the in-process engine
   settles on the same), so once every partition is embedded, Ray tasks search the reference exactly and call
   `assess`, the one scoring path; the driver writes each score shard, then its entry.

A partition with an entry is skipped on rerun. The workspace (SQLite) is touched only by the driver: for the
probe and the reference at the start, and to import the papers and vectors at the end.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence, cast

import numpy as np

from corpus.errors import InputError
from corpus.jobs import is_skip
from corpus.readers import ReadIssue
from corpus.readers.cases import JSONL_SUFFIXES, cases_from_lines, read_cases
from corpus.readers.tables import iter_lines
from corpus.records import Paper, content_hash
from corpus.scores import SCORE_FLOATS
from corpus.store import paper_uid
from triage.errors import UsageError
from triage.policy import POLICY_FILE, TierPolicy
from triage.progress import Reporter
from triage.ray_shards import (
    FLOATS,
    MANIFEST_FILE,
    PAPERS,
    SCORES,
    SPEC_FILE,
    VECTORS,
    ShardFolder,
    done_keys,
    entry_name,
    import_shards,
    is_folder_target,
    papers_from_table,
    papers_table,
    shard_name,
    vectors_table,
)
from triage.workspace import Workspace

RAY_HINT = "the Ray engine needs the ray extra: pip install -e '.[ray]' (or pip install 'pubtriage[ray]')"
DEFAULT_PARTITION_SIZE = 1000
# The reference is searched this many rows at a time: 256 queries x 32k rows of similarities is 32 MiB.
_SEARCH_BLOCK = 32768
# Candidates per block: the paper itself can sit in the reference twice (the workspace's copy and the run's).
_CANDIDATES = 4


@dataclass(frozen=True)
class EmbedderSpec:
    """What every actor builds its embedder from (the driver's own choice of model, device and backend)."""

    model: str = "default"
    device: str = "auto"
    backend: str = "auto"
    cache_dir: str | None = None  # the workspace's ONNX export; an actor on another machine exports into a temp dir
    instance: Any = None  # an embedder each actor gets a copy of, instead of building one by name

    def make(self):
        import tempfile

        if self.instance is not None:
            return self.instance

        from models.embedders import make_embedder

        cache = self.cache_dir if self.cache_dir and os.path.isdir(os.path.dirname(self.cache_dir)) else tempfile.mkdtemp(prefix="triage-onnx-")
        return make_embedder(self.model, self.device, backend=self.backend, cache_dir=Path(cache))


@dataclass
class Partition:
    """Records `numbers` of one file: JSON lines still to validate, or papers a driver-side reader already checked."""

    key: str
    source: str
    kind: str  # "lines" or "papers"
    items: list
    numbers: list
    issues: list[ReadIssue] = field(default_factory=list)


# --- what runs on the cluster ------------------------------------------------------------------------------------


def embed_items(embedder, kind: str, source: str, items: list) -> dict:
    """Validate (JSON lines) and embed one partition or a piece of one; runs inside an actor."""
    issues: list[ReadIssue] = []
    papers = list(cases_from_lines(items, source, issues.append)) if kind == "lines" else list(items)
    for paper in papers:
        paper.uid = paper_uid(paper)
    texts = [paper.embedding_text() for paper in papers]
    vectors = embedder.encode(texts, batch_size=getattr(embedder, "batch_size", 32)) if texts else None
    return {"papers": papers, "issues": issues, "vectors": vectors, "embedded": len(texts)}


class EmbedWorker:
    """One embedder, loaded once per actor."""

    def __init__(self, spec: EmbedderSpec, threads: int | None = None):
        self.embedder = spec.make()
        if threads and hasattr(self.embedder, "threads"):
            self.embedder.threads = threads  # ONNX Runtime would otherwise take every core, once per actor

    def embed(self, kind: str, source: str, items: list) -> dict:
        return embed_items(self.embedder, kind, source, items)


def nearest_other(queries: np.ndarray, uids: Sequence[str], reference: tuple) -> list[tuple[str, float] | None]:
    """Each query's most similar reference row that is not the same paper (by uid): exact inner product, blocked."""
    matrix, ref_uids, ref_ids = reference
    count = len(queries)
    best_sim = np.full(count, -np.inf, dtype=np.float32)
    best_row = np.full(count, -1, dtype=np.int64)
    own = np.asarray(uids, dtype=object)[:, None]
    for start in range(0, len(matrix), _SEARCH_BLOCK):
        sims = queries @ matrix[start : start + _SEARCH_BLOCK].T
        k = min(_CANDIDATES, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        top_sims[ref_uids[start + top] == own] = -np.inf
        pick = top_sims.argmax(axis=1)
        sim = top_sims[np.arange(count), pick]
        better = sim > best_sim
        best_sim[better] = sim[better]
        best_row[better] = start + top[np.arange(count), pick][better]
    return [None if row < 0 else (str(ref_ids[row]), round(float(sim), 4)) for row, sim in zip(best_row, best_sim)]


def score_vectors(probe, policy: TierPolicy, vectors: np.ndarray, texts: Sequence[str], uids: Sequence[str], reference: tuple) -> list[tuple]:
    """Prior work and `assess` for one partition: (score record, prior) per paper; runs as a Ray task."""
    from triage.assessment import Prior, assess

    nearest = nearest_other(vectors, uids, reference)
    # "The same work" by cosine alone, as the in-process batch engine judges it.
    prior = [None if n is None else Prior(n[0], n[1], n[1] >= policy.public_work_similarity) for n in nearest]
    return [(result.scores, near) for result, near in zip(assess(probe, policy, vectors, texts, prior=prior), nearest)]


# --- the driver ----------------------------------------------------------------------------------------------------


def _partitions(paths: Sequence[Path], size: int) -> Iterator[Partition]:
    """Deterministic partitions: `size` lines of a JSON-lines file (blank ones count), or `size` records of others."""
    for number, path in enumerate(paths):
        source = str(path)
        kind = "lines" if path.name.lower().endswith(JSONL_SUFFIXES) else "papers"
        records: Iterator[Any]
        if kind == "lines":
            records = iter_lines(path)
        else:
            issues: list[ReadIssue] = []
            records = ((n, paper, issues) for n, paper in enumerate(read_cases(path, issues.append), start=1))
        part = Partition(f"{number:03d}-{0:06d}", source, kind, [], [])
        for record in records:
            if kind == "lines":
                part.items.append(record)
                part.numbers.append(record[0])
            else:
                n, paper, pending = cast(tuple[int, Paper, list[ReadIssue]], record)
                part.items.append(paper)
                part.numbers.append(n)
                part.issues.extend(pending)
                pending.clear()
            if len(part.items) >= size:
                yield part
                part = Partition(f"{number:03d}-{int(part.key[4:]) + 1:06d}", source, kind, [], [])
        if kind == "papers":
            part.issues.extend(issues)
        if part.items or part.issues:
            yield part


def _start_ray(address: str | None, verbose: bool, num_cpus: int | None):
    """Join the cluster at `address`, or start a local Ray; returns whether this call started it (and must stop it)."""
    try:
        import ray
    except ImportError:
        raise UsageError(RAY_HINT) from None
    if ray.is_initialized():
        return ray, False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no prompt or upload from a command-line tool
    quiet = {"log_to_driver": verbose, "logging_level": logging.INFO if verbose else logging.ERROR, "include_dashboard": False}
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(num_cpus=num_cpus, object_store_memory=None, **quiet)
    return ray, True


def _default_spec(embedder, workspace: Workspace) -> EmbedderSpec:
    """Actors embed with the driver's model: the bundled one is built by each actor from its files (ONNX on a CPU);
    any other embedder (a registered name, another sentence-transformers model) travels to each actor as a copy."""
    from models.embedders import BUNDLED_MODEL_ID

    if embedder.model_id == BUNDLED_MODEL_ID:
        return EmbedderSpec(cache_dir=str(workspace.onnx_dir))
    return EmbedderSpec(instance=embedder)


def _fingerprint(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _workspace_reference(store, embedder) -> tuple[np.ndarray, list[str], list[str]]:
    """Every workspace paper's vector (from the cache), uid and prior-work id, as the in-process index holds them."""
    from triage.embedding import embed_texts

    stored = list(store.iter_papers())
    vectors, _ = embed_texts(store, embedder, [p.paper.embedding_text() for p in stored])
    return vectors, [p.paper.uid or "" for p in stored], [p.paper.arxiv_id or p.paper.uid or "" for p in stored]


@dataclass
class _Collected:
    """A partition's pieces as they come back; a piece is split when it fails, down to the one poison record."""

    part: Partition
    pieces: dict[int, dict] = field(default_factory=dict)
    covered: int = 0


def _embed_stage(ray, folder: ShardFolder, partitions: Iterator[Partition] | None, spec: EmbedderSpec, model_id: str, reporter: Reporter, stats: dict) -> None:
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        # Not measured here (no GPU on the machine this was written on): one GPU per actor, torch in fp16.
        actor_spec, count, options = EmbedderSpec(spec.model, "cuda", "torch", None), gpus, {"num_gpus": 1, "num_cpus": 1}
    else:
        actor_spec, count, options = spec, max(1, int(resources.get("CPU", 1))), {"num_cpus": 1}
    stats["actors"] = f"{count} {'GPU' if gpus else 'CPU'} actor{'s' * (count != 1)}"
    remote = ray.remote(EmbedWorker).options(max_restarts=2, max_task_retries=1, **options)

    def new_actor():
        return remote.remote(actor_spec, None if gpus else 1)

    idle = [new_actor() for _ in range(count)]
    retry: deque = deque()
    flight: dict = {}
    collected: dict[str, _Collected] = {}
    done = set(done_keys(folder, "embedded"))

    def submit(actor, part: Partition, lo: int, hi: int) -> None:
        ref = actor.embed.remote(part.kind, part.source, part.items[lo:hi])
        flight[ref] = (actor, part, lo, hi)

    while True:
        while idle and (retry or partitions is not None):
            if retry:
                submit(idle.pop(), *retry.popleft())
                continue
            part = next(partitions, None) if partitions is not None else None
            if part is None:
                partitions = None
                break
            if part.key in done:
                continue
            collected[part.key] = _Collected(part)
            submit(idle.pop(), part, 0, len(part.items))
        if not flight:
            return
        [ready], _ = ray.wait(list(flight), num_returns=1)
        actor, part, lo, hi = flight.pop(ready)
        try:
            result = ray.get(ready)
        except Exception as exc:  # noqa: BLE001 - an actor's death or a record's error is bisected and reported, not fatal
            ray.kill(actor, no_restart=True)
            actor = new_actor()
            if hi - lo > 1:
                middle = (lo + hi) // 2
                retry.extend([(part, lo, middle), (part, middle, hi)])
                idle.append(actor)
                continue
            reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            result = {"papers": [], "vectors": None, "embedded": 0,
                      "issues": [ReadIssue(part.source, part.numbers[lo], f"skipped: could not be embedded ({reason})")]}
        idle.append(actor)
        entry = collected[part.key]
        entry.pieces[lo] = result
        entry.covered += hi - lo
        if entry.covered == len(part.items):
            del collected[part.key]
            _write_embedded(folder, entry, model_id, stats)
            reporter.advance(len(part.items))


def _write_embedded(folder: ShardFolder, entry: _Collected, model_id: str, stats: dict) -> None:
    part = entry.part
    pieces = [entry.pieces[lo] for lo in sorted(entry.pieces)]
    papers = [paper for piece in pieces for paper in piece["papers"]]
    issues = [*part.issues, *(issue for piece in pieces for issue in piece["issues"])]
    arrays = [piece["vectors"] for piece in pieces if piece["vectors"] is not None and len(piece["vectors"])]
    vectors = np.concatenate(arrays).astype(np.float32) if arrays else np.zeros((0, 0), dtype=np.float32)
    hashes = [content_hash(paper.embedding_text()) for paper in papers]
    folder.write_table(shard_name(PAPERS, part.key), papers_table(papers))
    folder.write_table(shard_name(VECTORS, part.key), vectors_table([p.uid or "" for p in papers], model_id, hashes, vectors))
    folder.write_array(shard_name(FLOATS, part.key), vectors)
    embedded = sum(piece["embedded"] for piece in pieces)
    folder.write_json(entry_name("embedded", part.key), {
        "records": len(part.items), "papers": len(papers), "embedded": embedded,
        "issues": [[i.source, i.record, i.message] for i in issues],
    })
    stats["embedded"] += embedded
    stats["papers"] += len(papers)


def _score_stage(ray, folder: ShardFolder, keys: list[str], probe, policy: TierPolicy, workspace_ref, reporter: Reporter) -> None:
    pending = [key for key in keys if key not in set(done_keys(folder, "scored"))]
    if not pending:
        return
    run_papers = {key: papers_from_table(folder.read_table(shard_name(PAPERS, key))) for key in keys}
    run_vectors = {key: folder.read_array(shard_name(FLOATS, key)) for key in keys}
    ws_vectors, ws_uids, ws_ids = workspace_ref
    parts = [ws_vectors, *(run_vectors[key] for key in keys if len(run_vectors[key]))]
    matrix = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    uids = np.asarray(ws_uids + [p.uid or "" for key in keys for p in run_papers[key]], dtype=object)
    ids = np.asarray(ws_ids + [p.arxiv_id or p.uid or "" for key in keys for p in run_papers[key]], dtype=object)
    reference, probe_ref = ray.put((matrix, uids, ids)), ray.put(probe)
    task = ray.remote(num_cpus=1, max_retries=2)(score_vectors)
    reporter.start("finding prior work", len(pending))
    limit = max(1, int(ray.cluster_resources().get("CPU", 1))) * 2  # bounded: each task's vectors travel with it
    queue, flight = deque(pending), dict[Any, Any]()
    while queue or flight:
        while queue and len(flight) < limit:
            key = queue.popleft()
            papers = run_papers[key]
            if not papers:
                _write_scores_shard(folder, key, [], [])
                reporter.advance(1)
                continue
            texts = [p.embedding_text() for p in papers]
            flight[task.remote(probe_ref, policy, run_vectors[key], texts, [p.uid or "" for p in papers], reference)] = key
        if not flight:
            break
        [ready], _ = ray.wait(list(flight), num_returns=1)
        key = flight.pop(ready)
        _write_scores_shard(folder, key, run_papers[key], ray.get(ready))
        reporter.advance(1)
    reporter.finish()


def score_row(paper: Paper, scores, prior: tuple[str, float] | None) -> dict:
    """One row of the scores file (scores_file.COLUMNS) for a paper scored outside the store."""
    record = scores.to_row()
    return {
        "id": paper.uid, "arxiv_id": paper.arxiv_id, "title": paper.title, "authors": paper.authors, "categories": paper.categories,
        "published": paper.published, "url": paper.url, **{column: record[column] for column in SCORE_FLOATS},
        "tier": record["tier"], "reasons": record["reasons"], "top_areas": record["areas"],
        "prior_id": prior[0] if prior else None, "prior_similarity": prior[1] if prior else None,
    }


def _write_scores_shard(folder: ShardFolder, key: str, papers: list[Paper], scored: list[tuple]) -> None:
    import pyarrow as pa

    from triage.scores_file import _arrow_schema

    rows = [score_row(paper, scores, prior) for paper, (scores, prior) in zip(papers, scored)]
    folder.write_table(shard_name(SCORES, key), pa.Table.from_pylist(rows, schema=_arrow_schema()))
    folder.write_json(entry_name("scored", key), {"rows": len(rows)})


def _iter_rows(folder: ShardFolder, keys: list[str]) -> Iterator[list[dict]]:
    """Score rows partition by partition, each paper once (the first time it appears, as the store dedups)."""
    seen: set[str] = set()
    for key in keys:
        rows = [row for row in folder.read_table(shard_name(SCORES, key)).to_pylist() if row["id"] not in seen]
        seen.update(row["id"] for row in rows)
        yield rows


def _open_folder(out: str | None, spec: dict) -> tuple[ShardFolder, bool, dict | None]:
    """The run's folder, whether it is only a working folder (a single-file --out), and the spec found there."""
    if out is None:
        raise UsageError("--engine ray needs --out: a .parquet/.csv/.jsonl file, or a folder (DIR/ or s3://bucket/prefix/)")
    working = not is_folder_target(out)
    folder = ShardFolder(f"{out}.parts" if working else out)
    found = folder.read_json(SPEC_FILE)
    comparable = {k: v for k, v in (found or {}).items() if k != "probe_version"}
    if found is not None and comparable != spec:
        if not working:
            raise UsageError(f"{out} holds a Ray run of other inputs or settings; give another --out or empty it")
        folder.delete()  # our own working folder, from a run of something else
        found = None
    return folder, working, found


def run_ray_batch(
    workspace: Workspace,
    *,
    embedder,
    embedder_spec: EmbedderSpec | None = None,
    inputs: Sequence[Path],
    out: str | Path | None,
    policy: TierPolicy | None = None,
    reporter: Reporter | None = None,
    address: str | None = None,
    verbose: bool = False,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    num_cpus: int | None = None,
):
    """Score paper files on Ray; the same scores file (or shards and a manifest for a folder) as `run_batch`.

    `embedder` is the driver's (its model id, and the vectors of any workspace paper not yet cached);
    `embedder_spec` is how each actor builds its own. Rerunning after a crash or kill skips finished partitions.
    """
    from triage.batch import TOP_N, BatchReport, _check_inputs, _estimate_records, _ranked
    from triage.probe_registry import current_probe, load_version
    from triage.scores_file import scores_format, write_scores
    from triage.workspace_data import open_store

    began = time.monotonic()
    reporter = reporter or Reporter()
    if not inputs:
        raise InputError("--engine ray scores --input files; API queries (--query, --category) run in-process")
    if partition_size < 1:
        raise InputError(f"the partition size must be at least 1, got {partition_size}")
    out = None if out is None else str(out)
    if out is not None and not is_folder_target(out):
        scores_format(Path(out))
    paths = _check_inputs(inputs)
    from models.embedders import is_registered

    # A name registered only in this process (a test double, a plugin) means nothing to an actor: send a copy.
    registered_here = embedder_spec is not None and embedder_spec.instance is None and is_registered(embedder_spec.model)
    spec_of = EmbedderSpec(instance=embedder) if registered_here else embedder_spec or _default_spec(embedder, workspace)
    policy = policy or TierPolicy.load(workspace.home / POLICY_FILE)
    spec = {
        "engine": "ray", "inputs": [_fingerprint(path) for path in paths], "model": embedder.model_id,
        "backend": spec_of.backend, "policy": policy.to_dict(), "partition_size": partition_size,
    }
    folder, working, found = _open_folder(out, spec)
    ray, started = _start_ray(address, verbose, num_cpus)
    try:
        with open_store(workspace) as store:
            probe = load_version(workspace, found["probe_version"]) if found else current_probe(workspace, store, embedder, reporter=reporter)
            workspace_ref = _workspace_reference(store, embedder)
        if found is None:
            folder.write_json(SPEC_FILE, {**spec, "probe_version": probe.version})
        resumed = bool(done_keys(folder, "embedded"))
        if folder.remove_temporaries():
            reporter.note("removed temporary shards left by an interrupted run")
        stats: dict[str, Any] = {"embedded": 0, "papers": 0, "actors": ""}
        done_records = sum((folder.read_json(entry_name("embedded", key)) or {}).get("records", 0) for key in done_keys(folder, "embedded"))
        reporter.start("scoring papers", max(0, sum(_estimate_records(path) for path in paths) - done_records) or None)
        _embed_stage(ray, folder, _partitions(paths, partition_size), spec_of, embedder.model_id, reporter, stats)
        reporter.finish()
        keys = done_keys(folder, "embedded")
        _score_stage(ray, folder, keys, probe, policy, workspace_ref, reporter)
    finally:
        if started:
            ray.shutdown()

    entries = [folder.read_json(entry_name("embedded", key)) or {} for key in keys]
    issues = [ReadIssue(source, record, message) for entry in entries for source, record, message in entry.get("issues", [])]
    # The summary is kept as it streams past: tier counts and the top rows, never the whole run in memory.
    tiers: Counter = Counter()
    tops: dict[str, list[dict]] = {axis: [] for axis in ("capabilities", "safety", "hazard")}
    scored = 0
    for chunk in _iter_rows(folder, keys):
        scored += len(chunk)
        tiers.update(row["tier"] for row in chunk)
        for axis, best in tops.items():
            tops[axis] = heapq.nlargest(TOP_N, best + chunk, key=lambda row: -1.0 if row[axis] is None else row[axis])
    written = write_scores(_iter_rows(folder, keys), Path(out)) if working and out is not None else scored
    with open_store(workspace) as store:
        import_shards(store, folder)
    if working:
        folder.delete()
    else:
        folder.delete(FLOATS)  # the float16 shards stay for a later import; the float32 copies were for this run
        folder.write_json(MANIFEST_FILE, {
            **spec, "probe_version": probe.version, "rows": scored, "issues": len(issues),
            "partitions": [{"key": key, **{k: v for k, v in entry.items() if k != "issues"}, "scores": shard_name(SCORES, key),
                            "vectors": shard_name(VECTORS, key), "papers": shard_name(PAPERS, key)} for key, entry in zip(keys, entries)],
        })
    records = sum(entry.get("records", 0) for entry in entries)
    return BatchReport(
        job_id=0, status="done", resumed=resumed, source=", ".join(str(p.resolve()) for p in paths), probe_version=probe.version,
        embedder=f"{embedder.model_id} (Ray, {stats['actors']})", scored=scored, records=records, total=records, tiers=dict(sorted(tiers.items())),
        top_capabilities=_ranked(tops["capabilities"]), top_safety=_ranked(tops["safety"]), top_hazard=_ranked(tops["hazard"]),
        new_embeddings=stats["embedded"], cached_embeddings=0, papers_this_run=stats["papers"],
        seconds=round(time.monotonic() - began, 3), skipped_count=sum(1 for issue in issues if is_skip(issue)),
        issues=issues[:1000], issue_count=len(issues), out=out, written=written, engine="ray",
    )
