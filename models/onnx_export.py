"""Export a sentence-transformers model to ONNX (and quantise it to int8) once, into a checksummed cache.

The only place torch is imported on the ONNX path: the runtime (models/onnx_embedder.py) asks `ExportCache` for
verified bytes, and only a missing or stale export runs the trace.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.atomic_files import atomic_write
from models.errors import ModelError
from models.onnx_spec import OUTPUT, WEIGHTS, ModelSpec, input_arrays, load_tokenizer

# Bump when the exported graph or the card changes meaning, so every cached export is rebuilt.
EXPORT_FORMAT = 1
OPSET = 17
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
_PROBE_TEXTS = (
    "A short probe.",
    "Sparse autoencoders recover interpretable features from the residual stream of small language models. " * 4,
    "",
)


def source_fingerprint(spec: ModelSpec, model_path: Path) -> str:
    """Config contents plus the weights' size and mtime: cheap on every start, and a touched weight file forces a re-export."""
    digest = hashlib.sha256(f"format={EXPORT_FORMAT};opset={OPSET};max_seq={spec.max_seq_length}".encode())
    for path in (model_path / "modules.json", spec.folder / "config.json", spec.folder / "sentence_bert_config.json"):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    path = spec.folder / WEIGHTS
    if path.is_file():
        stat = path.stat()
        digest.update(f"{WEIGHTS}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportCache:
    """One model's export in the cache folder: the graph, and a card naming its source and checksum.

    `model_id` is the base id; an int8 export is cached under `model_id + INT8_SUFFIX`, beside the fp32 one it is
    quantised from.
    """

    spec: ModelSpec
    model_path: Path
    model_id: str
    cache_dir: Path
    int8: bool = False

    @property
    def cached_id(self) -> str:
        return self.model_id + (INT8_SUFFIX if self.int8 else "")

    @property
    def onnx_path(self) -> Path:
        # One file per model id: a changed source overwrites its export instead of piling up 90 MB copies.
        return self.cache_dir / f"{self._slug}.onnx"

    @property
    def card_path(self) -> Path:
        return self.cache_dir / f"{self._slug}.json"

    @property
    def _slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.cached_id).strip("_") or "model"

    def fingerprint(self) -> str:
        fingerprint = source_fingerprint(self.spec, self.model_path)
        if not self.int8:
            return fingerprint
        recipe = f"{json.dumps(INT8_OPTIONS, sort_keys=True)};keep={INT8_KEEP_FP32.pattern}"
        return hashlib.sha256(f"{fingerprint};int8={recipe}".encode()).hexdigest()

    def verified_bytes(self, fingerprint: str) -> bytes | None:
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

    def model_bytes(self) -> bytes:
        """The verified export, made first (under a lock, once across processes) when the cache has none."""
        fingerprint = self.fingerprint()
        data = self.verified_bytes(fingerprint)
        if data is not None:
            return data
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"cannot create the ONNX cache folder {self.cache_dir}: {exc.strerror}") from exc
        from filelock import FileLock

        # Concurrent first runs would each spend seconds exporting; the second waits and reuses the first's file.
        with FileLock(str(self.onnx_path) + ".lock"):
            data = self.verified_bytes(fingerprint)
            if data is None:
                data = self._export(fingerprint)
        return data

    def _export(self, fingerprint: str) -> bytes:
        if self.int8:
            fp32 = ExportCache(self.spec, self.model_path, self.model_id, self.cache_dir).model_bytes()
            data, details = quantize_int8(fp32, self.spec, self.cache_dir)
        else:
            from models.embedders import no_stray_torch_cache  # here, not at the top: embedders imports this module's users

            with no_stray_torch_cache():
                data, details = export_onnx(self.spec, self.cache_dir)
        card = {
            "format": EXPORT_FORMAT,
            "model_id": self.cached_id,
            "source": str(self.model_path),
            "source_fingerprint": fingerprint,
            "int8": self.int8,
            "opset": OPSET,
            "sha256": _sha256(data),
            "bytes": len(data),
            "max_seq_length": self.spec.max_seq_length,
            "dim": self.spec.dim,
            **details,
        }
        # The model first, the card second: a crash in between leaves a card that does not match, so a re-export.
        atomic_write(self.onnx_path, data)
        atomic_write(self.card_path, (json.dumps(card, indent=2) + "\n").encode())
        return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    tokenizer = load_tokenizer(spec)
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

    tokenizer = load_tokenizer(spec)
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
    return input_arrays(tokenizer.encode_batch(list(texts)), input_names)


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
