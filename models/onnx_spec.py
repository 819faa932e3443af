"""What the ONNX backend reads from a sentence-transformers folder: its spec, its tokenizer and the model's inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.errors import ModelError

OUTPUT = "sentence_embedding"  # the graph's one output: mean-pooled, not yet normalised
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The export reads safetensors only: a pytorch_model.bin is a pickle, and a model folder may come from anyone.
WEIGHTS = "model.safetensors"


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
    if not (folder / WEIGHTS).is_file():
        raise ModelError(f"the ONNX backend exports from {WEIGHTS} only (never a pickled checkpoint), and {folder} has none; use the torch backend")
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


def load_tokenizer(spec: ModelSpec) -> Any:
    """The folder's fast tokenizer, set up as sentence-transformers runs it.

    tokenizer.json ships with its own fixed padding and truncation (128 for MiniLM); sentence-transformers overrides
    both, so must we: no padding here (batches are padded to their longest), truncation at max_seq_length.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(spec.folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=spec.max_seq_length)
    return tokenizer


def input_arrays(encodings: Sequence[Any], input_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Model inputs for a batch of encodings, right-padded to the longest, for the graph's `input_names`."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = 1
        types[row, :n] = enc.type_ids
    arrays = dict(zip(INPUTS, (ids, mask, types)))
    return {name: arrays[name] for name in input_names}
