"""CPU embedder on ONNX Runtime: a sentence-transformers BERT + mean-pooling model, exported once, then run without torch."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from models.embedders import no_stray_torch_cache
from models.errors import ModelError

# Bump when the exported graph or the card changes meaning, so every cached export is rebuilt.
EXPORT_FORMAT = 1
OPSET = 17
OUTPUT = "sentence_embedding"
# Exported graphs must agree with torch this closely on the probe texts, or they are not published.
VERIFY_MIN_COSINE = 0.9999
# The int8 graph is checked against the fp32 one it came from. Measured: mean cosine 0.997 (min 0.996) on 600 arXiv
# abstracts, lower on very short texts; a broken quantisation measured 0.6-0.94. Below this floor, refuse it.
VERIFY_MIN_COSINE_INT8 = 0.96
# Dynamic int8 for the MatMuls (weights ahead of time, activations on the fly). Per-channel scales keep the small
# weights of each output column; 7-bit weights (reduce_range) avoid the int16 saturation of AVX2's u8 x s8
# multiply-add on CPUs without VNNI, which is what took naive int8 down to cosine 0.94 here. The fused Attention
# operator stays fp32 (quantising it measured slower and less accurate). The feed-forward down-projections take GELU
# outputs, whose outliers one per-tensor activation scale holds badly; on 600 arXiv abstracts (cosine to fp32):
# all quantised 0.9950 and 1.20x fp32's speed, none 0.9984 and 1.05x, all but layers 0 and 2 (the two that gained
# most when kept) 0.9974 and ~1.3x. The last keeps the probes' AUROC within 0.0024 of fp32 (docs/BENCHMARKS.md).
INT8_OPTIONS = {"per_channel": True, "reduce_range": True, "op_types_to_quantize": ["MatMul"]}
INT8_KEEP_FP32 = re.compile(r"layer\.[02]/output/dense/MatMul$")
INT8_SUFFIX = "+int8"
_WINDOW = 2048  # texts tokenised and length-sorted together
# `batch_size` is an upper bound: a run also stops at this many tokens. On 2 cores, 8 x 256-token batches were
# ~15-25% faster than 32 x 256 (the B x heads x L x L attention buffers stay small), and short texts still batch widely.
TOKENS_PER_RUN = 2048
# The export reads safetensors only: a pytorch_model.bin is a pickle, and a model folder may come from anyone.
_WEIGHTS = "model.safetensors"
_PROBE_TEXTS = (
    "A short probe.",
    "Sparse autoencoders recover interpretable features from the residual stream of small language models. " * 4,
    "",
)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ModelSpec:
    """What the exporter and the tokenizer need from a sentence-transformers folder."""

    folder: Path  # the Transformer module's folder: config.json, weights, tokenizer.json
    dim: int
    max_seq_length: int
    lower_case: bool
    model_type: str
    num_heads: int
    hidden_size: int


def read_spec(model_path: Path) -> ModelSpec:
    """Check the folder is Transformer + mean Pooling (+ Normalize), the only pipeline this backend reproduces."""
    try:
        modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise ModelError(f"the ONNX backend supports Transformer + mean Pooling models, not {' + '.join(kinds)}; use the torch backend")
        folder = model_path / modules[0].get("path", "")
        pooling = json.loads((model_path / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        st_config = folder / "sentence_bert_config.json"
        st = json.loads(st_config.read_text(encoding="utf-8")) if st_config.is_file() else {}
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelError(f"cannot read the sentence-transformers configuration in {model_path}: {exc}") from exc
    # Older configs set boolean `pooling_mode_*` flags; newer ones may name a single `pooling_mode`.
    flags = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True)
    named = pooling.get("pooling_mode")
    if not (flags == ["pooling_mode_mean_tokens"] and named in (None, "mean") or named == "mean" and not flags):
        raise ModelError(f"the ONNX backend supports mean pooling only, not {named or flags}; use the torch backend")
    if not (folder / "tokenizer.json").is_file():
        raise ModelError(f"the ONNX backend needs a fast tokenizer file, and {folder / 'tokenizer.json'} is missing; use the torch backend")
    if not (folder / _WEIGHTS).is_file():
        raise ModelError(f"the ONNX backend exports from {_WEIGHTS} only (never a pickled checkpoint), and {folder} has none; use the torch backend")
    max_positions = int(config.get("max_position_embeddings", 512))
    return ModelSpec(
        folder=folder,
        dim=int(pooling.get("word_embedding_dimension") or config["hidden_size"]),
        max_seq_length=min(int(st.get("max_seq_length") or max_positions), max_positions),
        lower_case=bool(st.get("do_lower_case", False)),
        model_type=str(config.get("model_type", "")),
        num_heads=int(config.get("num_attention_heads", 0)),
        hidden_size=int(config.get("hidden_size", 0)),
    )


def is_supported(model_path: Path) -> bool:
    try:
        read_spec(model_path)
    except ModelError:
        return False
    return True


def source_fingerprint(spec: ModelSpec, model_path: Path) -> str:
    """Config contents plus the weights' size and mtime: cheap on every start, and a touched weight file forces a re-export."""
    digest = hashlib.sha256(f"format={EXPORT_FORMAT};opset={OPSET};max_seq={spec.max_seq_length}".encode())
    for path in (model_path / "modules.json", spec.folder / "config.json", spec.folder / "sentence_bert_config.json"):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    path = spec.folder / _WEIGHTS
    if path.is_file():
        stat = path.stat()
        digest.update(f"{_WEIGHTS}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a torn write."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache is as readable as any other workspace file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OnnxEmbedder:
    """The `Embedder` protocol on onnxruntime + tokenizers + numpy; torch is imported only to export, once per cache."""

    def __init__(self, model_path: Path, model_id: str, cache_dir: Path, threads: int | None = None, int8: bool = False):
        self.model_path = Path(model_path)
        # fp32: the same id as the torch backend (the weights, not the runtime, name the vectors). int8 vectors
        # differ slightly, so they get their own id: their own cache entries, index and probes, never mixed.
        self.model_id = model_id + (INT8_SUFFIX if int8 else "")
        self.int8 = int8
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self.spec = read_spec(self.model_path)
        self.dim = self.spec.dim
        self.texts_embedded = 0
        self._base_id = model_id
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model_id).strip("_") or "model"
        # One file per model id: a changed source overwrites its export instead of piling up 90 MB copies.
        self.onnx_path = self.cache_dir / f"{slug}.onnx"
        self.card_path = self.cache_dir / f"{slug}.json"
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: tuple[str, ...] = ()

    # -- loading ---------------------------------------------------------------------------------

    def _verified_bytes(self, fingerprint: str) -> bytes | None:
        """The cached export, only when its card matches this source and its checksum matches its bytes."""
        try:
            card = json.loads(self.card_path.read_text(encoding="utf-8"))
            if card.get("format") != EXPORT_FORMAT or card.get("source_fingerprint") != fingerprint:
                return None
            if bool(card.get("int8")) != self.int8:
                return None
            data = self.onnx_path.read_bytes()
        except (OSError, ValueError, AttributeError):
            return None
        # Hash the very bytes handed to onnxruntime, so nothing can change between the check and the load.
        return data if len(data) == card.get("bytes") and _sha256(data) == card.get("sha256") else None

    def _model_bytes(self) -> bytes:
        fingerprint = source_fingerprint(self.spec, self.model_path)
        if self.int8:
            recipe = f"{json.dumps(INT8_OPTIONS, sort_keys=True)};keep={INT8_KEEP_FP32.pattern}"
            fingerprint = hashlib.sha256(f"{fingerprint};int8={recipe}".encode()).hexdigest()
        data = self._verified_bytes(fingerprint)
        if data is not None:
            return data
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"cannot create the ONNX cache folder {self.cache_dir}: {exc.strerror}") from exc
        from filelock import FileLock

        # Concurrent first runs would each spend seconds exporting; the second waits and reuses the first's file.
        with FileLock(str(self.onnx_path) + ".lock"):
            data = self._verified_bytes(fingerprint)
            if data is None:
                data = self._export(fingerprint)
        return data

    def _export(self, fingerprint: str) -> bytes:
        if self.int8:
            fp32 = OnnxEmbedder(self.model_path, self._base_id, self.cache_dir, threads=self.threads)._model_bytes()
            data, details = quantize_int8(fp32, self.spec, self.cache_dir)
        else:
            with no_stray_torch_cache():
                data, details = export_onnx(self.spec, self.cache_dir)
        card = {
            "format": EXPORT_FORMAT,
            "model_id": self.model_id,
            "source": str(self.model_path),
            "source_fingerprint": fingerprint,
            "int8": self.int8,
            "opset": OPSET,
            "sha256": _sha256(data),
            "bytes": len(data),
            "max_seq_length": self.spec.max_seq_length,
            "dim": self.dim,
            **details,
        }
        # The model first, the card second: a crash in between leaves a card that does not match, so a re-export.
        _write_atomically(self.onnx_path, data)
        _write_atomically(self.card_path, (json.dumps(card, indent=2) + "\n").encode())
        return data

    def load(self) -> Any:
        """Build the onnxruntime session (exporting first if the cache has no valid export); idempotent."""
        if self._session is not None:
            return self._session
        import onnxruntime as ort
        from tokenizers import Tokenizer

        data = self._model_bytes()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads or _usable_cpus()
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: on a shared, busy CPU spinning steals time from the threads doing
        # the work (measured 15-25% slower here under load); on an idle CPU it costs one wake-up per operator.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about unused initialisers would reach the user's terminal
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(self.spec.folder / "tokenizer.json"))
        except Exception as exc:  # onnxruntime and tokenizers raise their own exception types
            raise ModelError(f"cannot load the ONNX embedding model {self.onnx_path}: {exc}".splitlines()[0]) from exc
        # tokenizer.json ships with its own fixed padding and truncation (128 for MiniLM); sentence-transformers
        # overrides both, so must we: no padding here (batches are padded to their longest), truncate at max_seq_length.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.spec.max_seq_length)
        self._input_names = tuple(i.name for i in session.get_inputs())
        self._tokenizer = tokenizer
        self._session = session
        return session

    # -- encoding --------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self.load()
        # sentence-transformers strips (and optionally lower-cases) before tokenising; match it exactly.
        prepared = [(str(t).strip().lower() if self.spec.lower_case else str(t).strip()) for t in texts]
        # Dynamic int8 takes one activation scale per tensor, i.e. per batch: batched, a text's vector would depend on
        # its neighbours, and the cache keys vectors by text alone. One text per run keeps it a function of the text;
        # on 2 cores it measured as fast as batches of 32 (~200-token abstracts already make full-width matrices).
        batch_size = 1 if self.int8 else max(1, batch_size)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Tokenised a window at a time: an Encoding holds ~15 KB, too much to keep for a whole large corpus.
        for first in range(0, len(prepared), _WINDOW):
            encodings = self._tokenizer.encode_batch(prepared[first : first + _WINDOW])
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
            # Longest first, so each batch is padded only to its own longest text; `idx` restores the caller's order.
            order = np.argsort(-lengths, kind="stable")
            start = 0
            while start < len(order):
                width = int(lengths[order[start]])
                idx = order[start : start + max(1, min(batch_size, TOKENS_PER_RUN // width))]
                start += len(idx)
                feeds = self._feeds([encodings[i] for i in idx], width)
                out[first + idx] = session.run([OUTPUT], feeds)[0]
                self.texts_embedded += len(idx)
                if progress:
                    progress(len(idx))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _feeds(self, encodings: list[Any], width: int) -> dict[str, np.ndarray]:
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = 1
            types[row, :n] = enc.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: arrays[name] for name in self._input_names}


# -- export (the only place torch is imported) ------------------------------------------------------


def export_onnx(spec: ModelSpec, work_dir: Path) -> tuple[bytes, dict[str, Any]]:
    """Trace the model with mean pooling to ONNX, fuse it with onnxruntime's BERT optimiser when the fused graph
    verifies against torch, and return the bytes plus facts for the card."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local folders only: never reach for the hub while exporting
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import inspect
    import warnings

    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"exporting to ONNX needs torch and transformers once: {exc}") from exc
    from tokenizers import Tokenizer

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        # Eager attention traces to the MatMul/Softmax pattern the fusion optimiser recognises; SDPA does not.
        model = AutoModel.from_pretrained(str(spec.folder), attn_implementation="eager", use_safetensors=True).eval()
    except Exception as exc:  # transformers raises many types for a broken folder
        raise ModelError(f"cannot load {spec.folder} for ONNX export: {exc}".splitlines()[0]) from exc
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        input_names.append("token_type_ids")

    class MeanPooled(torch.nn.Module):
        """The Transformer + Pooling pair of the sentence-transformers pipeline; normalising stays in numpy."""

        def __init__(self, encoder: torch.nn.Module):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    pooled = MeanPooled(model).eval()
    tokenizer = Tokenizer.from_file(str(spec.folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=spec.max_seq_length)
    # The trace uses the first batch; the others have other shapes, so a size baked in as a constant shows up.
    probes = [_probe_feeds(tokenizer, input_names, texts) for texts in (_PROBE_TEXTS, _PROBE_TEXTS[:1], _PROBE_TEXTS[2:])]
    with torch.inference_mode():
        checks = [(feeds, pooled(**{k: torch.from_numpy(v) for k, v in feeds.items()}).numpy()) for feeds in probes]

    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".export-") as tmp:
        plain = Path(tmp) / "plain.onnx"
        dynamic = {name: {0: "batch", 1: "sequence"} for name in input_names} | {OUTPUT: {0: "batch"}}
        # The TorchScript exporter needs no onnxscript; torch >= 2.9 defaults to the dynamo one, which does.
        legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
        sample = tuple(torch.from_numpy(probes[0][name]) for name in input_names)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                # The tracer warns about the deprecated exporter and shape-dependent Python branches in the
                # mask code; the verification below is what decides whether the graph is right.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    pooled, sample, str(plain), input_names=input_names, output_names=[OUTPUT],
                    dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True, **legacy,
                )
        except Exception as exc:  # the exporter raises many types for unsupported operators
            raise ModelError(f"cannot export {spec.folder} to ONNX: {exc}".splitlines()[0]) from exc
        fused = _fuse(plain, spec)
        for candidate, is_fused in ((fused, True), (plain, False)):
            if candidate is None:
                continue
            data = candidate.read_bytes()
            if _agrees(data, checks):
                return data, {"fused": is_fused, "exporter": f"torch.onnx {torch.__version__}", **_runtime_version()}
    raise ModelError(f"the ONNX export of {spec.folder} disagrees with torch; use the torch backend")


def quantize_int8(fp32: bytes, spec: ModelSpec, work_dir: Path) -> tuple[bytes, dict[str, Any]]:
    """Dynamic int8 quantisation of a verified fp32 export (INT8_OPTIONS), checked against it text by text."""
    import logging

    import onnxruntime as ort
    from tokenizers import Tokenizer

    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelError(f"the int8 ONNX backend needs the onnx package once, to quantise: {exc}") from exc

    keep = [node.name for node in onnx.load_from_string(fp32).graph.node if INT8_KEEP_FP32.search(node.name)]
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".quantize-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(fp32)
        logging.disable(logging.WARNING)  # the quantiser's advice goes to the root logger, i.e. the user's terminal
        try:
            # The fused contrib operators have no ONNX type inference; their outputs are float tensors.
            quantize_dynamic(
                str(source), str(target), weight_type=QuantType.QInt8,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT}, nodes_to_exclude=keep, **INT8_OPTIONS,
            )
        except Exception as exc:  # the quantiser raises many types for graphs it cannot handle
            raise ModelError(f"cannot quantise the ONNX export of {spec.folder}: {exc}".splitlines()[0]) from exc
        finally:
            logging.disable(logging.NOTSET)
        data = target.read_bytes()

    tokenizer = Tokenizer.from_file(str(spec.folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=spec.max_seq_length)
    reference = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"])
    names = [i.name for i in reference.get_inputs()]
    # One text per run, as OnnxEmbedder runs the int8 graph.
    probes = [_probe_feeds(tokenizer, names, [text]) for text in _PROBE_TEXTS]
    if not _agrees(data, [(feeds, reference.run([OUTPUT], feeds)[0]) for feeds in probes], VERIFY_MIN_COSINE_INT8):
        raise ModelError(f"the int8 model of {spec.folder} disagrees with fp32; use the fp32 ONNX or torch backend")
    quantization = {"type": "dynamic int8", **INT8_OPTIONS, "kept_fp32": len(keep)}
    return data, {"quantization": quantization, **_runtime_version()}


def _probe_feeds(tokenizer: Any, input_names: list[str], texts: Sequence[str]) -> dict[str, np.ndarray]:
    """A right-padded batch; with texts of different lengths, verification covers the attention mask."""
    encodings = tokenizer.encode_batch(list(texts))
    width = max(len(e.ids) for e in encodings)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")}
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        arrays["input_ids"][row, :n] = enc.ids
        arrays["attention_mask"][row, :n] = 1
        arrays["token_type_ids"][row, :n] = enc.type_ids
    return {name: arrays[name] for name in input_names}


def _fuse(plain: Path, spec: ModelSpec) -> Path | None:
    """onnxruntime's offline BERT fusion (Attention, SkipLayerNorm, BiasGelu): ~1.3x faster on CPU than the plain graph."""
    if spec.model_type != "bert" or not spec.num_heads or not spec.hidden_size:
        return None
    try:
        import logging

        from onnxruntime.transformers.optimizer import optimize_model

        # The optimiser logs every pattern it fails to match; none of that is the user's business.
        logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
        # opt_level=0: only the portable contrib-op fusions are baked in; onnxruntime adds the
        # hardware-specific ones at load time.
        optimized = optimize_model(str(plain), model_type="bert", num_heads=spec.num_heads, hidden_size=spec.hidden_size, opt_level=0)
        target = plain.with_name("fused.onnx")
        optimized.save_model_to_file(str(target))
        return target
    except Exception:  # fusion is an optimisation: the plain graph is still correct
        return None


def _agrees(data: bytes, checks: list[tuple[dict[str, np.ndarray], np.ndarray]], floor: float = VERIFY_MIN_COSINE) -> bool:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        results = [(session.run([OUTPUT], feeds)[0], expected) for feeds, expected in checks]
    except Exception:  # an unloadable graph simply fails verification
        return False
    for got, want in results:
        got = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
        want = want / np.maximum(np.linalg.norm(want, axis=1, keepdims=True), 1e-12)
        if got.shape != want.shape or not np.all(np.sum(got * want, axis=1) >= floor):
            return False
    return True


def _runtime_version() -> dict[str, str]:
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__}


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
