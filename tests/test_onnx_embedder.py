"""The ONNX Runtime embedder: same vectors as sentence-transformers, no torch when inferring, a checksummed cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.embedders import (
    BUNDLED_MODEL_ID,
    SentenceTransformerEmbedder,
    bundled_model_path,
    make_embedder,
)
from models.errors import ModelError
from models.onnx_embedder import OnnxEmbedder

ROOT = Path(__file__).resolve().parents[1]

# Invented texts from one word to past the 256-token limit, with digits, symbols, accents and odd spacing.
SENTENCES = [
    "Attention.",
    "Hi",
    "",
    "   leading and trailing spaces   ",
    "We study scaling laws.",
    "Transformers are graph neural networks in disguise.",
    "A 7B-parameter model trained on 2.4T tokens reaches 63.1% on MMLU.",
    "Café, naïve, résumé: accents should survive tokenisation.",
    "GPU kernels for FlashAttention-3 on H100s.",
    "Reinforcement learning from human feedback (RLHF) aligns chat models with user preferences.",
    "Why do language models hallucinate citations that look plausible but do not exist?",
    "Sparse autoencoders find monosemantic features in the residual stream of a one-layer transformer.",
    "We release a benchmark of 12,000 grade-school maths problems with step-by-step solutions.",
    "Our jailbreak elicits harmful completions from every model we tested, including those tuned for refusal.",
    "Diffusion models generate images by learning to reverse a gradual noising process.",
    "The proposed optimiser halves the memory of Adam while matching its convergence on ImageNet.",
    "Low-rank adapters (LoRA) fine-tune large models by training two small matrices per layer.",
    "Membership inference attacks reveal whether a record was in the training set.",
    "Protein structure prediction improved dramatically after end-to-end learned models appeared.",
    "We show that chain-of-thought prompting improves arithmetic reasoning only above a certain model scale.",
    "Federated learning keeps data on devices and shares only gradient updates with a central server.",
    "A mixture-of-experts layer routes each token to two of sixty-four feed-forward experts.",
    "Retrieval-augmented generation grounds answers in documents fetched from a vector index at query time.",
    "Adversarial examples transfer between architectures, which suggests they exploit shared non-robust features.",
    "We measure data contamination by searching pretraining corpora for benchmark questions verbatim.",
    "Quantisation to four bits keeps perplexity within one percent of the sixteen-bit baseline for models above 13B.",
    "Emergent abilities may be an artefact of discontinuous metrics rather than a property of the models.",
    "Graph neural networks predict molecular properties from atoms and bonds.",
    "Tokenisers split rare words into sub-word pieces; this paper asks how that affects multilingual fairness.",
    "Watermarking model outputs lets a provider detect its own generated text with a statistical test.",
    "Self-driving cars fuse lidar, radar and camera streams into a bird's-eye-view occupancy grid.",
    "Speculative decoding drafts tokens with a small model and verifies them in parallel with the large one.",
    "This position paper argues that open weights increase both scientific progress and misuse risk.",
    "In-context learning behaves like implicit gradient descent on a linear regression toy task.",
    "Reward hacking: the agent found a bug in the simulator and exploited it to score points without finishing the race.",
    "We audit a hiring model and find that it penalises CVs mentioning women's colleges.",
    "Long-context models still miss facts placed in the middle of a 100k-token prompt.",
    "Curriculum learning orders training examples from easy to hard; gains are small but consistent.",
    "Knowledge distillation compresses a teacher ensemble into a single student network.",
    "Dataset cards and model cards document intended use, limitations and evaluation results.",
    "E = mc^2 and ∫ f(x) dx = F(b) − F(a) appear in the appendix; we also use α, β and γ as hyper-parameters.",
    "ALL CAPS HEADLINE: NEW MODEL BEATS STATE OF THE ART ON EVERY LEADERBOARD!!!",
    "url: https://example.org/paper?id=1234&v=2 — email: someone@example.org",
    "tab\tseparated\tvalues and a\nnew line inside the text",
    "Continual learning suffers from catastrophic forgetting when the data distribution shifts. " * 3,
    "Mechanistic interpretability reverse-engineers circuits: induction heads copy earlier tokens. " * 5,
    (
        "Abstract. We introduce a method for detecting deceptive behaviour in language-model agents. "
        "Agents are placed in multi-step environments where honesty and task reward conflict, and a linear "
        "probe on middle-layer activations predicts deception before it appears in the output. "
    )
    * 4,
    " ".join(f"token{i}" for i in range(400)),  # far past 256 tokens: both backends must truncate the same way
    "word " * 300,
    "Short final sentence.",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """Export the bundled model once for the whole run; tests that damage the cache work on a copy."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxEmbedder(bundled_model_path(), BUNDLED_MODEL_ID, cache).load()
    return cache


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache) -> OnnxEmbedder:
    embedder = OnnxEmbedder(bundled_model_path(), BUNDLED_MODEL_ID, onnx_cache)
    embedder.load()
    return embedder


@pytest.mark.slow
def test_vectors_match_sentence_transformers(onnx_embedder, real_embedder):
    assert len(SENTENCES) >= 50
    ours = onnx_embedder.encode(SENTENCES, batch_size=7)  # batches of mixed lengths, reordered and restored
    theirs = real_embedder.encode(SENTENCES)
    assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(ours * theirs, axis=1)
    assert cosine.min() >= 0.999, [(SENTENCES[i][:40], float(cosine[i])) for i in np.argsort(cosine)[:3]]
    assert onnx_embedder.model_id == real_embedder.model_id and onnx_embedder.dim == real_embedder.dim
    assert onnx_embedder.texts_embedded >= len(SENTENCES)


@pytest.mark.slow
def test_int8_backend_is_close_to_fp32_under_its_own_model_id(onnx_embedder, onnx_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(onnx_cache, cache)  # the fp32 export is reused, not redone
    int8 = make_embedder("default", "cpu", backend="onnx-int8", cache_dir=cache)
    assert isinstance(int8, OnnxEmbedder) and int8.int8
    assert int8.model_id == BUNDLED_MODEL_ID + "+int8"  # never shares cache entries, indexes or probes with fp32
    ours, exact = int8.encode(SENTENCES), onnx_embedder.encode(SENTENCES)
    cosine = np.sum(ours * exact, axis=1)
    # Close (the probe-quality benchmark holds the real bar), yet not the same vectors: a real quantisation ran.
    assert cosine.mean() >= 0.98 and cosine.min() >= 0.95, sorted(cosine)[:3]
    assert cosine.max() < 0.99999
    card = json.loads(int8.card_path.read_text())
    assert card["int8"] is True and card["quantization"]["reduce_range"] is True and card["quantization"]["kept_fp32"] == 2
    assert int8.onnx_path.stat().st_size < 0.9 * onnx_embedder.onnx_path.stat().st_size  # int8 weights (the embedding table stays fp32)
    # A second embedder reuses the verified int8 file instead of quantising again; and a text's vector does not
    # depend on the texts batched with it (the cache keys vectors by text alone).
    mtime = int8.onnx_path.stat().st_mtime_ns
    again = make_embedder("default", "cpu", backend="onnx-int8", cache_dir=cache)
    np.testing.assert_array_equal(again.encode(SENTENCES[3:8], batch_size=32), ours[3:8])
    np.testing.assert_array_equal(again.encode(SENTENCES[5:6]), ours[5:6])
    assert int8.onnx_path.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_batching_does_not_change_vectors(onnx_embedder):
    one_by_one = np.vstack([onnx_embedder.encode([s]) for s in SENTENCES[:12]])
    batched = onnx_embedder.encode(SENTENCES[:12], batch_size=32)
    assert np.min(np.sum(one_by_one * batched, axis=1)) >= 0.99999
    assert onnx_embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_inference_imports_no_torch(onnx_cache):
    code = (
        "import json, sys\n"
        "from models.embedders import make_embedder\n"
        f"e = make_embedder('default', 'auto', cache_dir={str(onnx_cache)!r})\n"
        "v = e.encode(['a short draft about sparse autoencoders', 'and another'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print(json.dumps({'backend': type(e).__name__, 'shape': v.shape, 'heavy': heavy}))\n"
    )
    # No visible GPU, so `auto` must settle on the CPU from the environment alone.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"backend": "OnnxEmbedder", "shape": [2, 384], "heavy": []}


@pytest.mark.slow
def test_damaged_export_is_never_used(onnx_cache, onnx_embedder, tmp_path, monkeypatch):
    import models.onnx_export as module

    cache = tmp_path / "onnx"
    shutil.copytree(onnx_cache, cache)
    fresh = OnnxEmbedder(bundled_model_path(), BUNDLED_MODEL_ID, cache)
    fingerprint = json.loads(fresh.card_path.read_text())["source_fingerprint"]
    assert fresh.export.verified_bytes(fingerprint) is not None

    good = fresh.onnx_path.read_bytes()
    fresh.onnx_path.write_bytes(good[: len(good) // 2])  # truncated, as by a full disk
    assert fresh.export.verified_bytes(fingerprint) is None
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF  # same size, one weight byte changed
    fresh.onnx_path.write_bytes(bytes(flipped))
    assert fresh.export.verified_bytes(fingerprint) is None
    assert fresh.export.verified_bytes("another-source") is None  # a changed source model invalidates the export too

    # The real export ran once for the session fixture; here count that loading re-exports, and stand in for
    # the 10-20 s torch trace with the good bytes it would produce.
    exports = []
    monkeypatch.setattr(module, "export_onnx", lambda spec, work_dir: exports.append(spec) or (good, {"fused": True}))
    vectors = fresh.encode(SENTENCES[:5])
    assert len(exports) == 1
    assert fresh.onnx_path.read_bytes() == good
    assert json.loads(fresh.card_path.read_text())["sha256"] == hashlib.sha256(good).hexdigest()
    assert np.min(np.sum(vectors * onnx_embedder.encode(SENTENCES[:5]), axis=1)) >= 0.99999
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith(".")) == []  # no temporary files left behind

    OnnxEmbedder(bundled_model_path(), BUNDLED_MODEL_ID, cache).load()
    assert len(exports) == 1  # the next process trusts the rebuilt, verified file


def test_backend_selection(tmp_path, monkeypatch):
    import models.embedders as embedders

    cache = tmp_path / "onnx"
    # Construction is lazy for both backends: nothing below loads a model or exports.
    assert isinstance(make_embedder("default", "cpu", backend="torch", cache_dir=cache), SentenceTransformerEmbedder)
    onnx = make_embedder("default", "cpu", backend="onnx", cache_dir=cache)
    assert isinstance(onnx, OnnxEmbedder) and onnx.model_id == BUNDLED_MODEL_ID and onnx.dim == 384
    assert isinstance(make_embedder("default", "cpu", cache_dir=cache), OnnxEmbedder)
    assert isinstance(make_embedder("default", "cpu"), SentenceTransformerEmbedder)  # auto without a cache folder
    assert isinstance(make_embedder("default", "cuda", cache_dir=cache), SentenceTransformerEmbedder)
    assert isinstance(make_embedder("sentence-transformers/all-mpnet-base-v2", "cpu", cache_dir=cache), SentenceTransformerEmbedder)
    assert make_embedder("fake-384", backend="onnx").model_id == "fake-hash-384"  # a registered name ignores the backend
    int8 = make_embedder("default", "cpu", backend="onnx-int8", cache_dir=cache)
    assert isinstance(int8, OnnxEmbedder) and int8.model_id == BUNDLED_MODEL_ID + "+int8"
    assert not cache.exists()

    for kwargs, message in (
        ({"model": "sentence-transformers/all-mpnet-base-v2", "backend": "onnx", "cache_dir": cache}, "hub name"),
        ({"device": "cuda", "backend": "onnx", "cache_dir": cache}, "CPU only"),
        ({"backend": "onnx"}, "cache folder"),
        ({"backend": "tensorrt", "cache_dir": cache}, "unknown embedding backend"),
    ):
        with pytest.raises(ModelError, match=message):
            make_embedder(**kwargs)

    monkeypatch.setattr(embedders, "onnx_available", lambda: False)
    assert isinstance(make_embedder("default", "cpu", cache_dir=cache), SentenceTransformerEmbedder)
    monkeypatch.undo()

    # `auto` asks torch only when a GPU could be there, and then follows its answer.
    monkeypatch.setattr(embedders, "_gpu_possible", lambda: True)
    monkeypatch.setattr(embedders, "pick_device", lambda device="auto": "cuda")
    assert isinstance(make_embedder("default", "auto", cache_dir=cache), SentenceTransformerEmbedder)
    monkeypatch.setattr(embedders, "_gpu_possible", lambda: False)
    assert isinstance(make_embedder("default", "auto", cache_dir=cache), OnnxEmbedder)


def test_model_names_come_from_the_registry(monkeypatch, capsys):
    """Only a registered name reaches a test double; anything else is a folder or a hub name, or one line of error."""
    import models.embedders as embedders
    from models.embedders import FakeEmbedder, register_embedder, unregister_embedder
    from tests.cli_helpers import run_cli

    assert isinstance(make_embedder("fake", "cuda", backend="onnx-int8"), FakeEmbedder)  # registered by conftest
    register_embedder("hashing-8", lambda: FakeEmbedder(8))
    assert make_embedder("hashing-8").model_id == "fake-hash-8"
    unregister_embedder("hashing-8")
    monkeypatch.setattr(embedders, "_REGISTRY", {})  # as in production: nothing registered
    for name in ("fake", "fake-16", "fake_model_v1"):  # hub names now, loaded (and refused, offline) only when used
        assert isinstance(make_embedder(name, "cpu"), SentenceTransformerEmbedder)
    with pytest.raises(ModelError, match="cannot load embedding model 'fake_model_v1'") as caught:
        SentenceTransformerEmbedder("fake_model_v1", "cpu").load()
    assert "\n" not in str(caught.value)
    for bad in ("fake model v1", "fake-16!", "org/name/extra"):
        with pytest.raises(ModelError, match="is not a model"):
            make_embedder(bad)
    result = run_cli(capsys, "--model", "fake model v1", "similar", "sparse autoencoders")
    assert result.code == 1 and result.err.strip().splitlines() == [
        "triage: error: 'fake model v1' is not a model: give 'default', a model folder, or a hub name such as org/model"
    ]


def test_cache_fills_use_the_embedders_batch_size(monkeypatch, tmp_path):
    """embed_texts batches as the embedder prefers: wide on a GPU, the protocol's 32 for embedders without a view."""
    import models.embedders as embedders
    from corpus.store import Store
    from models.embedders import FakeEmbedder
    from triage.embedding import embed_texts

    asked: list[int] = []

    class Recording(FakeEmbedder):
        def encode(self, texts, *, batch_size=32, progress=None):
            asked.append(batch_size)
            return super().encode(texts, batch_size=batch_size, progress=progress)

    with Store(tmp_path / "triage.db") as store:
        embed_texts(store, Recording(16), ["one text", "another text"])
        gpu = Recording(16)
        gpu.batch_size = embedders.GPU_BATCH_SIZE
        embed_texts(store, gpu, ["a third text"])
    assert asked == [32, embedders.GPU_BATCH_SIZE]
    monkeypatch.setattr(embedders, "pick_device", lambda device="auto": "cuda")
    assert SentenceTransformerEmbedder("default", "cuda").batch_size == embedders.GPU_BATCH_SIZE
    monkeypatch.setattr(embedders, "pick_device", lambda device="auto": "cpu")
    assert SentenceTransformerEmbedder("default", "cpu").batch_size == 32


def test_auto_falls_back_to_torch_for_pipelines_onnx_cannot_reproduce(tmp_path):
    folder = tmp_path / "with-dense"
    source = bundled_model_path()
    folder.mkdir()
    for name in ("config.json", "sentence_bert_config.json", "tokenizer.json"):
        shutil.copy(source / name, folder / name)
    shutil.copytree(source / "1_Pooling", folder / "1_Pooling")
    modules = json.loads((source / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))

    assert isinstance(make_embedder(str(folder), "cpu", cache_dir=tmp_path / "onnx"), SentenceTransformerEmbedder)
    with pytest.raises(ModelError, match="Transformer \\+ mean Pooling"):
        make_embedder(str(folder), "cpu", backend="onnx", cache_dir=tmp_path / "onnx")

    # A folder whose weights are only a pickled checkpoint: the export never loads it; auto takes torch instead.
    pickled = tmp_path / "pickled"
    shutil.copytree(folder, pickled)
    (pickled / "modules.json").write_text((source / "modules.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    assert isinstance(make_embedder(str(pickled), "cpu", cache_dir=tmp_path / "onnx"), SentenceTransformerEmbedder)
    with pytest.raises(ModelError, match="safetensors only"):
        make_embedder(str(pickled), "cpu", backend="onnx", cache_dir=tmp_path / "onnx")
