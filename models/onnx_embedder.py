"""CPU embedder on ONNX Runtime: a sentence-transformers BERT + mean-pooling model, run without torch.

The graph comes from models/onnx_export.py, exported once per model into a checksummed cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from models.errors import ModelError
from models.onnx_export import ExportCache
from models.onnx_spec import OUTPUT, input_arrays, load_tokenizer, read_spec

_WINDOW = 2048  # texts tokenised and length-sorted together
# `batch_size` is an upper bound: a run also stops at this many tokens. On 2 cores, 8 x 256-token batches were
# ~15-25% faster than 32 x 256 (the B x heads x L x L attention buffers stay small), and short texts still batch widely.
TOKENS_PER_RUN = 2048

Progress = Callable[[int], None]


class OnnxEmbedder:
    """The `Embedder` protocol on onnxruntime + tokenizers + numpy; torch is imported only to export, once per cache."""

    def __init__(self, model_path: Path, model_id: str, cache_dir: Path, threads: int | None = None, int8: bool = False):
        self.model_path = Path(model_path)
        self.int8 = int8
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self.spec = read_spec(self.model_path)
        self.export = ExportCache(self.spec, self.model_path, model_id, self.cache_dir, int8=int8)
        # fp32: the same id as the torch backend (the weights, not the runtime, name the vectors). int8 vectors
        # differ slightly, so they get their own id: their own cache entries, index and probes, never mixed.
        self.model_id = self.export.cached_id
        self.dim = self.spec.dim
        self.texts_embedded = 0
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: tuple[str, ...] = ()

    @property
    def onnx_path(self) -> Path:
        return self.export.onnx_path

    @property
    def card_path(self) -> Path:
        return self.export.card_path

    def load(self) -> Any:
        """Build the onnxruntime session (exporting first if the cache has no valid export); idempotent."""
        if self._session is not None:
            return self._session
        import onnxruntime as ort

        data = self.export.model_bytes()
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
            tokenizer = load_tokenizer(self.spec)
        except Exception as exc:  # onnxruntime and tokenizers raise their own exception types
            raise ModelError(f"cannot load the ONNX embedding model {self.onnx_path}: {exc}".splitlines()[0]) from exc
        self._input_names = tuple(i.name for i in session.get_inputs())
        self._tokenizer = tokenizer
        self._session = session
        return session

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
                feeds = input_arrays([encodings[i] for i in idx], self._input_names)
                out[first + idx] = session.run([OUTPUT], feeds)[0]
                self.texts_embedded += len(idx)
                if progress:
                    progress(len(idx))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
