"""Known-item retrieval on the 10k arXiv sample: dense, lexical (FTS5 BM25), tf-idf and hybrid, side by side.

Usage: .venv/bin/python bench/retrieval.py [--types title half] [--skip-cli | --cli-only] [--cli-papers 1000] [--cli-queries 100]

Two query types over the whole sample (10,000 papers); the queries are the last 2,000 papers':
- the corpus holds the first half of every abstract (the abstract cut at the sentence end nearest its middle), with
  an empty title;
- title: the title is the query;
- half-abstract: the second half is the query: the same work in other sentences.
Each method ranks the corpus and we read the known paper's rank: recall@1, recall@10 and MRR (a paper past the
lists' depth counts 0). Dense, lexical and hybrid run through the product's own code (`triage.similar`, a real
workspace store with its FTS5 index and a FAISS index built by `PaperIndex.rebuild` from the embedding cache); tf-idf
is scikit-learn's (word uni+bigrams, sublinear tf, cosine), arxiv-sanity-lite's method.

Then "the same work": for every half-abstract query, the cosine and word-information overlap between the query and
its own first half (positives) and the best-ranked other paper (the hardest negatives), and the rule thresholds
that flag the most positives with at most 1% of those negatives.

Finally the bar through the command line: `--cli-papers` papers (the last ones of the sample) imported with their
title and the first half of their abstract into a fresh workspace, and `--cli-queries` second halves asked of
`triage similar --format json` (the command line's own entry point, run in this process). Vectors are cached by bench/retrieval_data.py under bench/out.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import machine, write_section  # noqa: E402
from bench.retrieval_data import QUERIES, SAMPLE, WORK, cached_vectors, load_records, make_default_embedder, sets  # noqa: E402

DEPTH = 100


# --- a workspace store holding one corpus -------------------------------------------------------------------------


def build_store(path: Path, titles: list[str], abstracts: list[str], vectors: np.ndarray, embedder):
    """A workspace database holding the corpus (FTS5 filled by the store's own triggers), its vectors in the embedding
    cache, and a FAISS index built from that cache by `PaperIndex.rebuild`. Rows are inserted with SQL because the
    title-query corpus must have empty titles, which `Store.add_papers` (rightly) refuses."""
    from corpus.records import Paper, content_hash
    from corpus.store import Store
    from triage.index import PaperIndex

    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    store = Store(path)
    now = "2026-01-01T00:00:00+00:00"
    cache = {}
    with store.transaction() as db:
        for i, (title, abstract) in enumerate(zip(titles, abstracts)):
            text = Paper(title=title, abstract=abstract).embedding_text()
            digest = content_hash(text)
            cache[digest] = vectors[i]
            db.execute(
                "INSERT INTO papers (id, uid, source, title, title_key, abstract, content_hash, revision, added_at, modified_at) "
                "VALUES (?, ?, 'bench', ?, ?, ?, ?, 1, ?, ?)",
                (i + 1, f"bench:{i}", title, title.lower(), abstract, digest, now, now),
            )
        db.execute("UPDATE meta SET value = '1' WHERE key = 'revision'")
    store.put_embeddings(embedder.model_id, cache)
    index = PaperIndex(path.parent / f"{path.stem}-index", embedder.model_id)
    index.rebuild(store, embedder)
    return store, index


# --- measures ---------------------------------------------------------------------------------------------------


@dataclass
class Scores:
    recall1: float
    recall10: float
    mrr: float

    def cells(self) -> str:
        return f"{self.recall1:.3f} | {self.recall10:.3f} | {self.mrr:.3f}"


def score_ranks(ranks: list[int | None]) -> Scores:
    """Known-item measures from the known paper's 1-based rank per query (None: not found within the depth)."""
    return Scores(
        recall1=float(np.mean([r == 1 for r in ranks])),
        recall10=float(np.mean([r is not None and r <= 10 for r in ranks])),
        mrr=float(np.mean([1.0 / r if r else 0.0 for r in ranks])),
    )


def rank_of(order: list[int], target: int) -> int | None:
    try:
        return order.index(target) + 1
    except ValueError:
        return None


def tfidf_ranks(corpus: list[str], queries: list[str], targets: list[int]) -> list[int | None]:
    """The known paper's rank under tf-idf cosine (word 1-2-grams, sublinear tf); row ids are 1-based like the store's."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", lowercase=True)
    matrix = vectorizer.fit_transform(corpus)
    ranks: list[int | None] = []
    for offset in range(0, len(queries), 500):
        sims = (vectorizer.transform(queries[offset : offset + 500]) @ matrix.T).toarray()
        for row, target in zip(sims, targets[offset : offset + 500]):
            ranks.append(int((row > row[target - 1]).sum()) + 1)
    return ranks


def evaluate(name: str, store, index, embedder, corpus: list[str], query_texts: list[str], query_vectors: np.ndarray, targets: list[int]) -> dict:
    """Every method's ranks for one query type, plus fusion variants and timings."""
    from triage.similar import dense_ranks, fuse, lexical_ranks, rank_prior_work

    # One batched search gives every query's dense list (what dense_ranks makes of one vector); latency is timed on
    # single queries below.
    dense_lists = [
        {row_id: rank for rank, (row_id, _) in enumerate(found, start=1)} for found in index.search(query_vectors, DEPTH)
    ]
    lexical_lists, lexical_terms = [], []
    dense_ms, lexical_ms, hybrid_ms = [], [], []
    product_ranks = []
    for i, (text, vector) in enumerate(zip(query_texts, query_vectors)):
        if i % 10 == 0:
            start = time.perf_counter()
            assert dense_ranks(index, vector[None, :], DEPTH) == dense_lists[i]
            dense_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        ranks, terms = lexical_ranks(store, [text], DEPTH)
        lexical_ms.append((time.perf_counter() - start) * 1000)
        lexical_lists.append(ranks)
        lexical_terms.append(terms[0])
        if i % 10 == 0:  # the whole product path (fusion, paper lookup, cosines) on every 10th query, for its latency
            start = time.perf_counter()
            hits = rank_prior_work(store, index, embedder, [text], vector[None, :], k=10)
            hybrid_ms.append((time.perf_counter() - start) * 1000)
            product_ranks.append((i, [h.id for h in hits]))
    tfidf = tfidf_ranks(corpus, query_texts, targets)
    ordered = lambda ranking: sorted(ranking, key=ranking.__getitem__)  # noqa: E731
    results = {
        "dense": [rank_of(ordered(d), t) for d, t in zip(dense_lists, targets)],
        "lexical (FTS5 BM25)": [rank_of(ordered(lex), t) for lex, t in zip(lexical_lists, targets)],
        "tf-idf": tfidf,
        "hybrid (dense + BM25, RRF k=60)": [rank_of(fuse([d, lex]), t) for d, lex, t in zip(dense_lists, lexical_lists, targets)],
    }
    variants = {f"RRF k={k}": [rank_of(fuse([d, lex], k), t) for d, lex, t in zip(dense_lists, lexical_lists, targets)] for k in (5, 20, 60, 120)}
    # The product's own output must agree with the fused lists measured above.
    agree = sum(
        (hits[0] == f"bench:{targets[i] - 1}") == (results["hybrid (dense + BM25, RRF k=60)"][i] == 1) for i, hits in product_ranks
    )
    return {
        "name": name, "results": {k: score_ranks(v) for k, v in results.items()}, "variants": {k: score_ranks(v) for k, v in variants.items()},
        "dense_ms": dense_ms, "lexical_ms": lexical_ms, "hybrid_ms": hybrid_ms, "agree": (agree, len(product_ranks)),
        "dense_lists": dense_lists, "lexical_lists": lexical_lists, "terms": lexical_terms,
        "terms_searched": statistics.median(len(t.chosen) if t is not None else 0 for t in lexical_terms),
    }


def budget_sweep(store, query_texts: list[str], targets: list[int]) -> list[tuple[int, int, Scores, float]]:
    """Lexical recall and latency as the query's postings budget and word cap change."""
    from triage.similar import lexical_ranks

    rows = []
    for max_terms, budget in ((16, 50_000), (32, 50_000), (48, 10_000), (48, 50_000), (48, 200_000), (64, 50_000)):
        ranks, ms = [], []
        for text, target in list(zip(query_texts, targets))[::5]:
            start = time.perf_counter()
            ranking, _ = lexical_ranks(store, [text], DEPTH, max_terms=max_terms, budget=budget)
            ms.append((time.perf_counter() - start) * 1000)
            ranks.append(rank_of(sorted(ranking, key=ranking.__getitem__), target))
        rows.append((max_terms, budget, score_ranks(ranks), statistics.median(ms)))
    return rows


# --- the same work --------------------------------------------------------------------------------------------


def same_work_data(half: dict, store, corpus_vectors: np.ndarray, query_vectors: np.ndarray, corpus: list[str], targets: list[int]):
    """(cosine, overlap) of each query with its own first half, and with the best-fused other paper."""
    from corpus import lexical
    from triage.similar import fuse

    positives, negatives = [], []
    for i, target in enumerate(targets):
        terms = half["terms"][i]
        q = query_vectors[i]
        positives.append((float(q @ corpus_vectors[target - 1]), lexical.overlap(terms, corpus[target - 1])[0]))
        other = next(r for r in fuse([half["dense_lists"][i], half["lexical_lists"][i]]) if r != target)
        negatives.append((float(q @ corpus_vectors[other - 1]), lexical.overlap(terms, corpus[other - 1])[0]))
    return np.array(positives), np.array(negatives)


def rule_grid(pos: np.ndarray, neg: np.ndarray, max_fpr: float = 0.01):
    """The (cosine, overlap, cosine-alone) thresholds that flag the most positives with at most `max_fpr` of negatives."""
    best = None
    for alone in (0.80, 0.85, 0.90, 0.95, 1.01):
        for c in np.arange(0.30, 0.91, 0.05):
            for o in np.arange(0.20, 0.91, 0.05):
                flag = lambda a: (a[:, 0] >= alone) | ((a[:, 0] >= c) & (a[:, 1] >= o))  # noqa: E731
                tpr, fpr = float(flag(pos).mean()), float(flag(neg).mean())
                if fpr <= max_fpr and (best is None or tpr > best[0] + 1e-9):
                    best = (tpr, fpr, round(float(c), 2), round(float(o), 2), alone)
    return best


def rule_rates(pos: np.ndarray, neg: np.ndarray, c: float, o: float, alone: float) -> tuple[float, float]:
    flag = lambda a: (a[:, 0] >= alone) | ((a[:, 0] >= c) & (a[:, 1] >= o))  # noqa: E731
    return float(flag(pos).mean()), float(flag(neg).mean())


# --- through the command line -------------------------------------------------------------------------------------


def _triage(*argv: str) -> str:
    """Run the `triage` command line in this process (as `python -m triage` would, without the interpreter start-up);
    its standard output."""
    import contextlib
    import io

    from triage.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    if code != 0:
        raise RuntimeError(f"triage {' '.join(argv[:3])} ... exited {code}")
    return out.getvalue()


def through_cli(records, n_papers: int, n_queries: int, modes: list[str], reuse: bool = False) -> dict:
    """Import `n_papers` (title + first half) into a fresh workspace (or reuse the last run's, whose embeddings are
    cached), then ask `triage similar` each second half."""
    papers = records[-n_papers:]
    home = WORK / "cli-home"
    if home.exists() and not reuse:
        import shutil

        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    data = home / "papers.jsonl"
    with data.open("w", encoding="utf-8") as handle:
        for r in papers:
            handle.write(json.dumps({"arxiv_id": r.id, "title": r.title, "abstract": r.first}) + "\n")
    start = time.perf_counter()
    _triage("--home", str(home), "-q", "corpus", "import", str(data))
    # The first query builds the index (embedding every paper); it is not timed with the others.
    _triage("--home", str(home), "-q", "similar", "warm up", "--format", "json")
    setup_s = time.perf_counter() - start
    step = max(1, len(papers) // n_queries)
    chosen = papers[::step][:n_queries]
    out: dict[str, Any] = {"setup_s": setup_s, "papers": len(papers), "queries": len(chosen), "modes": {}}
    for mode in modes:
        ranks, seconds = [], []
        for r in chosen:
            start = time.perf_counter()
            found = json.loads(_triage("--home", str(home), "-q", "similar", "--format", "json", "-k", "10", "--mode", mode, r.second))
            seconds.append(time.perf_counter() - start)
            ranks.append(rank_of([h["arxiv_id"] for h in found], r.id))
        out["modes"][mode] = (score_ranks(ranks), statistics.median(seconds))
        print(f"  cli {mode}: {out['modes'][mode][0]}", file=sys.stderr, flush=True)
    return out


# --- the report -------------------------------------------------------------------------------------------------


def cli_section(cli: dict, command: str, load_start: float) -> str:
    lines = [
        f"## Similar prior work through `triage similar` (issue 15 bar: {cli['papers']:,} papers, {cli['queries']} half-abstract queries)",
        "",
        f"Command: `{command}`; machine: {machine()}; load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end.",
        "",
        f"A fresh workspace (the bundled seed corpus plus the last {cli['papers']:,} sample papers, imported with "
        "`triage corpus import` as title + first half of the abstract); every "
        f"{cli['papers'] // cli['queries']}th of them is a query: its second half, asked as "
        "`triage -q similar --format json -k 10 --mode MODE \"<second half>\"` through `triage.cli.main` in the benchmark's "
        "process (each call opens the workspace and loads the model as a fresh process would). Import and index "
        f"build: {cli['setup_s']:.0f} s.",
        "",
        "| mode | recall@1 | recall@10 | MRR | median s per command (interpreter start-up excluded) |",
        "|---|---|---|---|---|",
    ]
    for mode, (scores, seconds) in cli["modes"].items():
        lines.append(f"| {mode} | {scores.cells()} | {seconds:.2f} |")
    if "hybrid" in cli["modes"]:
        h = cli["modes"]["hybrid"][0]
        lines += ["", f"Bar: recall@1 ≥ 0.90: {h.recall1:.2f} ({'met' if h.recall1 >= 0.90 else 'missed'}); "
                  f"recall@10 ≥ 0.98: {h.recall10:.2f} ({'met' if h.recall10 >= 0.98 else 'missed'})."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli-papers", type=int, default=1000)
    parser.add_argument("--cli-queries", type=int, default=100)
    parser.add_argument("--cli-modes", nargs="+", default=["hybrid", "dense"])
    parser.add_argument("--cli-only", action="store_true", help="only the command-line bar (its own section)")
    parser.add_argument("--cli-reuse", action="store_true", help="reuse the last run's workspace (papers already imported and embedded)")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--types", nargs="+", choices=["title", "half"], default=["title", "half"], help="query types (half is always run: the same-work data comes from it)")
    args = parser.parse_args()
    args.types = sorted(set(args.types) | {"half"}, reverse=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started, load_start = time.time(), os.getloadavg()[0]
    python = ".venv/bin/python" if Path(sys.executable).is_relative_to(ROOT / ".venv") else sys.executable
    command = f"cd {shlex.quote(str(ROOT))} && {python} bench/retrieval.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])

    records = load_records()
    if args.cli_only:
        markdown = cli_section(through_cli(records, args.cli_papers, args.cli_queries, args.cli_modes, args.cli_reuse), command, load_start)
        write_section("retrieval-cli", markdown)
        print(markdown)
        return 0
    embedder = make_default_embedder()
    texts = sets(records)
    # Title queries search the first halves too: embedding the 10k whole abstracts (about twice the work of the
    # halves) did not finish on the shared machine this was written on.
    needed = {"title": ("first-halves", "titles"), "half": ("first-halves", "second-halves")}
    vectors = {name: cached_vectors(name, texts[name], embedder) for kind in args.types for name in needed[kind]}
    n = len(records)
    targets = list(range(n - QUERIES + 1, n + 1))  # 1-based row ids of the query papers
    work = Path(tempfile.mkdtemp(dir=WORK))

    blocks = []
    firsts = texts["first-halves"]
    store, index = build_store(work / "halves.db", [""] * n, firsts, vectors["first-halves"], embedder)
    if "title" in args.types:
        print("title queries", file=sys.stderr, flush=True)
        blocks.append(evaluate("title → first half", store, index, embedder, firsts, texts["titles"], vectors["titles"], targets))

    print("half-abstract queries", file=sys.stderr, flush=True)
    half = evaluate("second half → first half", store, index, embedder, firsts, texts["second-halves"], vectors["second-halves"], targets)
    blocks.append(half)
    sweep = budget_sweep(store, texts["second-halves"], targets)
    fts_bytes = store.query("SELECT SUM(pgsize) AS n FROM dbstat WHERE name LIKE 'papers_fts%'")[0]["n"]
    papers_bytes = store.query("SELECT SUM(pgsize) AS n FROM dbstat WHERE name = 'papers'")[0]["n"]
    pos, neg = same_work_data(half, store, vectors["first-halves"], vectors["second-halves"], firsts, targets)
    store.close()

    from corpus.lexical import COMMON, MAX_TERMS, POSTINGS_BUDGET
    from triage.similar import SAME_WORK


    lines = [
        "## Similar prior work: known-item retrieval (issue 15)",
        "",
        f"Command: `{command}` (vectors embedded once by `.venv/bin/python bench/retrieval_data.py` and cached under `bench/out`)",
        "",
        f"Machine: {machine()}; load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end (other developers share "
        f"these cores). Run of {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {(time.time() - started) / 60:.0f} min in all.",
        "",
        f"Data: all {n:,} papers of `{SAMPLE.name}` are the corpus; the last {QUERIES:,} papers' titles and second halves are the "
        "queries (the abstract is cut at the sentence end nearest its middle word). Both query types search a corpus of "
        "first halves only (no titles): title queries find the paper from its title, half-abstract queries from the other "
        "half of its abstract. Embedder: the bundled all-MiniLM-L6-v2 (ONNX fp32). Dense, lexical "
        "and hybrid are the product's code (`triage.similar`) over a workspace store with its FTS5 index and a FAISS index "
        f"(`IDMap2,Flat` at this size) built by `PaperIndex.rebuild`; each list is {DEPTH} deep (a paper past it counts 0 "
        "in MRR). tf-idf: scikit-learn `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)`, cosine, whole corpus ranked.",
        "",
        "| query → corpus | dense R@1 | R@10 | MRR | lexical (FTS5 BM25) R@1 | R@10 | MRR | tf-idf R@1 | R@10 | MRR | hybrid R@1 | R@10 | MRR | hybrid − best of dense, tf-idf (R@1) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for block in blocks:
        r = block["results"]
        hy = r["hybrid (dense + BM25, RRF k=60)"]
        margin = hy.recall1 - max(r["dense"].recall1, r["tf-idf"].recall1)
        lines.append(
            f"| {block['name']} | {r['dense'].cells()} | {r['lexical (FTS5 BM25)'].cells()} | {r['tf-idf'].cells()} | {hy.cells()} | "
            f"{margin:+.3f} ({'met' if margin >= 0.02 else 'missed'}: target +0.02) |"
        )
    lines += [
        "",
        "Fusion variants (reciprocal rank fusion, score = Σ 1/(k + rank)), R@1 / R@10 / MRR:",
        "",
        "| query | " + " | ".join(half["variants"]) + " |",
        "|---|" + "---|" * len(half["variants"]),
    ]
    for block in blocks:
        lines.append(f"| {block['name']} | " + " | ".join(s.cells().replace(" | ", " / ") for s in block["variants"].values()) + " |")
    lines += [
        "",
        "Latency per query (ms, median (min–max) over the queries, this 10k corpus): "
        + "; ".join(
            f"{b['name']}: dense {statistics.median(b['dense_ms']):.1f} (every 10th query), lexical {statistics.median(b['lexical_ms']):.1f} "
            f"({b['terms_searched']:.0f} words searched, median), full hybrid `rank_prior_work` k=10 {statistics.median(b['hybrid_ms']):.1f} "
            f"(every 10th query; its top hit agreed with the fused lists on {b['agree'][0]}/{b['agree'][1]})"
            for b in blocks
        )
        + ".",
        "",
        f"FTS5 index at {n:,} first halves: {fts_bytes / 1e6:.1f} MB (the `papers` table itself: {papers_bytes / 1e6:.1f} MB).",
        "",
        f"### Lexical query budget (every 5th half-abstract query; product: {MAX_TERMS} words, {POSTINGS_BUDGET:,} postings)",
        "",
        f"Words are searched rarest first until the cap on words or on postings (summed document counts) is reached; words "
        f"in {COMMON:,} papers or more are never searched.",
        "",
        "| max words | postings budget | R@1 | R@10 | MRR | p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    for max_terms, budget, scores, ms in sweep:
        lines.append(f"| {max_terms} | {'none' if budget >= 10**9 else f'{budget:,}'} | {scores.cells()} | {ms:.1f} |")

    best = rule_grid(pos, neg)
    old = rule_rates(pos, neg, 2.0, 2.0, 0.80)
    shipped = rule_rates(pos, neg, SAME_WORK.cosine, SAME_WORK.overlap, SAME_WORK.cosine_alone)
    quant = lambda a, q: float(np.quantile(a, q))  # noqa: E731
    lines += [
        "",
        "### \"The same work\" (the `similar-public-work` reason)",
        "",
        f"For each of the {QUERIES:,} half-abstract queries: the query against its own first half (the same work in other "
        "sentences: positives) and against the best-ranked other paper of the hybrid list (the hardest negative). Cosine of "
        "the two vectors; overlap = the share of the query's word information (BM25 IDF of each distinct word the index "
        "knows) found in the paper's text (`corpus.lexical.overlap`).",
        "",
        "| pairs | cosine p10 / p50 / p90 | overlap p10 / p50 / p90 |",
        "|---|---|---|",
        f"| same work | {quant(pos[:, 0], .1):.2f} / {quant(pos[:, 0], .5):.2f} / {quant(pos[:, 0], .9):.2f} | "
        f"{quant(pos[:, 1], .1):.2f} / {quant(pos[:, 1], .5):.2f} / {quant(pos[:, 1], .9):.2f} |",
        f"| best other paper | {quant(neg[:, 0], .1):.2f} / {quant(neg[:, 0], .5):.2f} / {quant(neg[:, 0], .9):.2f} | "
        f"{quant(neg[:, 1], .1):.2f} / {quant(neg[:, 1], .5):.2f} / {quant(neg[:, 1], .9):.2f} |",
        "",
        "| rule | same work flagged | other paper flagged |",
        "|---|---|---|",
        f"| cosine ≥ 0.80 alone (before) | {old[0]:.3f} | {old[1]:.3f} |",
        f"| best on the grid with ≤ 1% of other papers flagged: cosine ≥ {best[2]} and overlap ≥ {best[3]}, or cosine ≥ {best[4]} | {best[0]:.3f} | {best[1]:.3f} |",
        f"| shipped (`triage.similar.SAME_WORK`): cosine ≥ {SAME_WORK.cosine} and overlap ≥ {SAME_WORK.overlap}, or cosine ≥ {SAME_WORK.cosine_alone} | {shipped[0]:.3f} | {shipped[1]:.3f} |",
    ]
    markdown = "\n".join(lines)
    write_section("retrieval", markdown)
    if not args.skip_cli:
        write_section("retrieval-cli", cli_section(through_cli(records, args.cli_papers, args.cli_queries, args.cli_modes), command, load_start))
    (WORK / "same-work.npz").parent.mkdir(parents=True, exist_ok=True)
    np.savez(WORK / "same-work.npz", positives=pos, negatives=neg)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
