"""GPU embedding throughput: the project's torch embedder on CUDA, fp32 vs fp16, at several batch sizes.

Run on a machine with a GPU: bash bench/gpu.sh   (texts: the bundled seed summaries, repeated; ../shared is not needed)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    from models.embedders import SentenceTransformerEmbedder
    from triage.seed import load_seed

    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return 0
    texts = [item.to_paper().embedding_text() for item in load_seed()]
    texts = (texts * (20_000 // len(texts) + 1))[:20_000]
    results = []
    reference = None
    for precision in ("fp32", "fp16"):
        embedder = SentenceTransformerEmbedder("default", device="cuda")
        model = embedder.load()
        if precision == "fp32":
            model.float()
        for batch in (64, 256, 1024):
            embedder.encode(texts[:2048], batch_size=batch)  # warm-up: kernels, allocator
            runs = []
            for _ in range(5):
                torch.cuda.synchronize()
                start = time.perf_counter()
                vectors = embedder.encode(texts, batch_size=batch)
                torch.cuda.synchronize()
                runs.append(len(texts) / (time.perf_counter() - start))
            if reference is None:
                reference = vectors
            cosine = float((vectors * reference).sum(axis=1).mean())
            results.append({"precision": precision, "batch": batch, "median_docs_s": statistics.median(runs), "min": min(runs), "max": max(runs), "cos_vs_fp32_b64": cosine})
            print(json.dumps(results[-1]), flush=True)
    name = torch.cuda.get_device_name(0)
    lines = [f"GPU: {name}, torch {torch.__version__}, {len(texts)} texts (bundled seed summaries repeated), 5 runs each", "",
             "| precision | batch | docs/s median | min–max | mean cosine vs fp32 batch 64 |", "|---|---|---|---|---|"]
    lines += [f"| {r['precision']} | {r['batch']} | {r['median_docs_s']:.0f} | {r['min']:.0f}–{r['max']:.0f} | {r['cos_vs_fp32_b64']:.5f} |" for r in results]
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "gpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
