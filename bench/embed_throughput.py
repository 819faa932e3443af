"""CPU embedding throughput and cold start: sentence-transformers `encode` against the ONNX Runtime embedder (fp32 and int8).

Usage: .venv/bin/python bench/embed_throughput.py [--texts 2000] [--reps 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "arxiv-daily-cs-sample" / "arxiv_cs_CL_AI_LG_sample10k.jsonl.gz"
OUT = ROOT / "bench" / "out" / "embed_throughput.md"
sys.path.insert(0, str(ROOT))

from bench.report import spread, write_section  # noqa: E402
from models.embedders import BUNDLED_MODEL_ID, bundled_model_path  # noqa: E402

# Fresh interpreters, timed from outside: interpreter start + imports + model load + one short text, as a user feels it.
COLD_ONNX = (
    "from models.embedders import make_embedder\n"
    "make_embedder('default', 'auto', cache_dir={cache!r}).encode(['A short draft about sparse autoencoders.'])\n"
)
COLD_TORCH = (
    "from sentence_transformers import SentenceTransformer\n"
    "SentenceTransformer({model!r}, device='cpu').encode(['A short draft about sparse autoencoders.'])\n"
)


def load_abstracts(limit: int) -> list[str]:
    texts = []
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            texts.append(f"{record['title']}. {record['summary']}")
            if len(texts) == limit:
                break
    return texts


def cold_start(code: str, repetitions: int) -> list[float]:
    times = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for _ in range(repetitions):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=2000, help="abstracts per repetition (default 2000)")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per backend, alternating (default 5)")
    parser.add_argument("--cosine-texts", type=int, default=1000, help="abstracts compared by cosine (default 1000)")
    parser.add_argument("--cold-reps", type=int, default=5, help="fresh processes per cold-start figure (default 5)")
    parser.add_argument("--batch-size", type=int, default=32, help="OnnxEmbedder batch size (default 32, as ST's)")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / "out" / "onnx", help="ONNX export cache folder")
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: the abstracts are not available at {DATA}")
        return 0

    load_at_start = os.getloadavg()[0]
    command = "cd " + shlex.quote(str(ROOT)) + " && .venv/bin/python bench/embed_throughput.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    texts = load_abstracts(max(args.texts, args.cosine_texts))
    timed = texts[: args.texts]

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from models.onnx_embedder import TOKENS_PER_RUN, OnnxEmbedder

    onnx = OnnxEmbedder(bundled_model_path(), BUNDLED_MODEL_ID, args.cache)
    int8 = OnnxEmbedder(bundled_model_path(), BUNDLED_MODEL_ID, args.cache, int8=True)
    start = time.perf_counter()
    onnx.load()  # exports (and quantises) on the first run; not part of any timing below
    int8.load()
    prepare_s = time.perf_counter() - start
    card = json.loads(onnx.card_path.read_text())

    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(bundled_model_path()), device="cpu")
    runners = {
        "st": lambda texts: st.encode(texts),
        "onnx": lambda texts: onnx.encode(texts, batch_size=args.batch_size),
        "int8": lambda texts: int8.encode(texts, batch_size=args.batch_size),
    }
    for run in runners.values():
        run(timed[:32])  # warm up: first calls allocate and pick kernels

    rates: dict[str, list[float]] = {name: [] for name in runners}
    first: dict[str, np.ndarray] = {}
    names = list(runners)
    for rep in range(args.reps):
        # Rotate which runs first, so drift in machine load (other processes, thermals) hits all alike.
        for name in names[rep % 3 :] + names[: rep % 3]:
            start = time.perf_counter()
            vectors = runners[name](timed)
            rates[name].append(len(timed) / (time.perf_counter() - start))
            first.setdefault(name, vectors)
            print(f"rep {rep + 1}/{args.reps} {name}: {rates[name][-1]:.1f} docs/s", file=sys.stderr, flush=True)

    compare = texts[: args.cosine_texts]
    reference = first["st"][: len(compare)] if len(compare) <= len(timed) else st.encode(compare)
    ours = first["onnx"][: len(compare)] if len(compare) <= len(timed) else onnx.encode(compare)
    ours8 = first["int8"][: len(compare)] if len(compare) <= len(timed) else int8.encode(compare)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)  # ST's default encode does not normalise
    cosine = np.sum(reference * ours, axis=1)
    cosine8 = np.sum(reference * ours8, axis=1)

    cold_onnx = cold_start(COLD_ONNX.format(cache=str(args.cache)), args.cold_reps)
    cold_st = cold_start(COLD_TORCH.format(model=str(bundled_model_path())), args.cold_reps)

    ratio = statistics.median(rates["onnx"]) / statistics.median(rates["st"])
    ratio8 = statistics.median(rates["int8"]) / statistics.median(rates["st"])
    per_rep = [o / s for o, s in zip(rates["onnx"], rates["st"])]
    per_rep8 = [o / s for o, s in zip(rates["int8"], rates["st"])]
    flops = flops_per_text(onnx, timed)
    peak = peak_gflops()
    lines = [
        "# Embedding throughput: sentence-transformers vs ONNX Runtime (CPU)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {cpu_line()}, Python {sys.version.split()[0]}; torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"onnxruntime {card.get('onnxruntime')} ({onnx.threads or len(os.sched_getaffinity(0))} threads), fused graph: {card.get('fused')}. "
        f"Load average {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end (other processes share these CPUs).",
        f"Texts: the first {len(timed)} abstracts (title + \". \" + abstract) of {DATA.name}, {args.reps} rotating repetitions each; "
        f"ST `model.encode(texts)` (batch 32), OnnxEmbedder `encode(texts, batch_size={args.batch_size})` "
        f"(at most {args.batch_size} texts and {TOKENS_PER_RUN} tokens per run). Export/prepare time (not timed below): {prepare_s:.1f} s.",
        "",
        "| measure | sentence-transformers `encode` (baseline) | ONNX fp32 (`--backend onnx`, default on CPU) | ONNX int8 (`--backend onnx-int8`) |",
        "|---|---|---|---|",
        f"| throughput, docs/s: median (min–max) | {spread(rates['st'])} | {spread(rates['onnx'])} | {spread(rates['int8'])} |",
        f"| ratio to the baseline: of medians (min–max of same-rep ratios) | 1.00x | {ratio:.2f}x ({min(per_rep):.2f}–{max(per_rep):.2f}) "
        f"| {ratio8:.2f}x ({min(per_rep8):.2f}–{max(per_rep8):.2f}) |",
        f"| share of fp32 peak ({peak:.0f} GFLOP/s), at {flops / 1e9:.2f} GFLOP per abstract | "
        + " | ".join(f"{100 * statistics.median(rates[n]) * flops / 1e9 / peak:.0f}%" for n in ("st", "onnx", "int8")) + " |",
        f"| cold start, s: median (min–max) of {args.cold_reps} fresh processes | {spread(cold_st, digits=2)} | {spread(cold_onnx, digits=2)} | — |",
        f"| cosine to sentence-transformers on {len(compare)} abstracts: mean, min | 1 | {cosine.mean():.7f}, {cosine.min():.7f} "
        f"| {cosine8.mean():.4f}, {cosine8.min():.4f} |",
        "",
        f"Cold start ratio (torch / ONNX): {statistics.median(cold_st) / statistics.median(cold_onnx):.1f}x. "
        f"FLOPs per abstract: 2 x (encoder weights x tokens) + attention (4 x layers x tokens^2 x hidden), from the "
        f"real token counts (mean {mean_tokens(onnx, timed):.0f} tokens after truncation at {onnx.spec.max_seq_length}). "
        f"Peak: {peak_note()}.",
        "",
        "Per-repetition docs/s: " + "; ".join(f"{k}: " + ", ".join(f"{r:.1f}" for r in v) for k, v in rates.items()),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(report, encoding="utf-8")
    write_section("embed-throughput", report.replace("# Embedding throughput", "## Embedding throughput", 1))
    return 0


def mean_tokens(embedder, texts: list[str]) -> float:
    embedder.load()
    return float(np.mean([len(e.ids) for e in embedder._tokenizer.encode_batch(texts)]))


def flops_per_text(embedder, texts: list[str]) -> float:
    """Multiply-adds x 2 of the encoder per abstract: the dense layers plus attention scores and mixing."""
    embedder.load()
    hidden, layers = 384, 6  # all-MiniLM-L6-v2
    per_token_dense = layers * (4 * hidden * hidden + 2 * hidden * 4 * hidden)
    lengths = np.array([len(e.ids) for e in embedder._tokenizer.encode_batch(texts)], dtype=np.float64)
    return float(np.mean(2 * per_token_dense * lengths + 2 * 2 * layers * hidden * lengths**2))


def peak_gflops() -> float:
    """fp32 peak of the cores this process may use: AVX2 + FMA gives 2 FMA units x 8 lanes x 2 FLOPs per cycle."""
    cores = len(os.sched_getaffinity(0))
    return cores * 32 * _ghz()


def _ghz() -> float:
    try:
        mhz = [float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("cpu MHz")]
        return (max(mhz) if mhz else 2000.0) / 1000
    except OSError:
        return 2.0


def peak_note() -> str:
    return (f"{len(os.sched_getaffinity(0))} cores x 32 FLOPs/cycle (AVX2, 2 FMA pipes) x {_ghz():.2f} GHz (cpu MHz in "
            "/proc/cpuinfo; turbo may be higher, so the shares are upper bounds)")


def cpu_line() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        name = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        name = "unknown CPU"
    return f"{os.cpu_count()} x {name}"


if __name__ == "__main__":
    sys.exit(main())
