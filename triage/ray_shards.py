"""The Ray engine's output folder on any pyarrow filesystem: shards written atomically, a manifest entry per finished
partition, and the import of papers and vectors from it into a workspace."""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict, fields

import numpy as np

from corpus.records import Paper

TEMP_PREFIX = ".tmp-"
PAPERS, VECTORS, FLOATS, SCORES, ENTRIES = "papers", "vectors", "f32", "scores", "manifest"
SPEC_FILE, MANIFEST_FILE = "spec.json", "manifest.json"
_LIST_FIELDS = ("authors", "categories")


def is_folder_target(out: str) -> bool:
    """`--out DIR/`, an existing folder, or a filesystem URI (s3://bucket/prefix/) means shards plus a manifest."""
    return out.endswith("/") or "://" in out or os.path.isdir(out)


class ShardFolder:
    """A folder (local path or pyarrow filesystem URI) whose files appear whole or not at all."""

    def __init__(self, uri: str):
        from pyarrow import fs  # heavy: only the Ray engine and shard imports need it

        if "://" in uri:
            self.fs, root = fs.FileSystem.from_uri(uri)
        else:
            self.fs, root = fs.LocalFileSystem(), os.path.abspath(uri)
        self.uri, self.root = uri, root.rstrip("/")

    def path(self, relative: str = "") -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def exists(self, relative: str = "") -> bool:
        from pyarrow import fs

        return self.fs.get_file_info(self.path(relative)).type != fs.FileType.NotFound

    def _atomic(self, relative: str, write) -> None:
        # A temporary name, then a rename: a killed writer leaves a ".tmp-" file (cleared on the next run), never
        # a truncated shard under the real name. On object stores the move is a copy, which is as good here
        # because the manifest entry, written last, is what marks a partition done.
        folder, _, name = relative.rpartition("/")
        self.fs.create_dir(self.path(folder), recursive=True)
        tmp = self.path(f"{folder}/{TEMP_PREFIX}{os.getpid()}-{name}" if folder else f"{TEMP_PREFIX}{os.getpid()}-{name}")
        with self.fs.open_output_stream(tmp, compression=None) as out:
            write(out)
        self.fs.move(tmp, self.path(relative))

    def write_json(self, relative: str, data) -> None:
        self._atomic(relative, lambda out: out.write(json.dumps(data, ensure_ascii=False).encode("utf-8")))

    def read_json(self, relative: str):
        if not self.exists(relative):
            return None
        with self.fs.open_input_stream(self.path(relative), compression=None) as handle:
            return json.loads(handle.read().decode("utf-8"))

    def write_table(self, relative: str, table) -> None:
        import pyarrow.parquet as pq

        self._atomic(relative, lambda out: pq.write_table(table, out))

    def read_table(self, relative: str):
        import pyarrow.parquet as pq

        with self.fs.open_input_file(self.path(relative)) as handle:
            return pq.read_table(handle)

    def write_array(self, relative: str, array: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        self._atomic(relative, lambda out: out.write(buffer.getvalue()))

    def read_array(self, relative: str) -> np.ndarray:
        with self.fs.open_input_stream(self.path(relative), compression=None) as handle:
            return np.load(io.BytesIO(handle.read()), allow_pickle=False)

    def names(self, folder: str) -> list[str]:
        """File names in `folder`, sorted (partition keys sort in input order)."""
        from pyarrow import fs

        selector = fs.FileSelector(self.path(folder), allow_not_found=True)
        return sorted(info.base_name for info in self.fs.get_file_info(selector) if info.type == fs.FileType.File)

    def remove_temporaries(self) -> int:
        """Delete what killed writers left behind; returns how many files."""
        from pyarrow import fs

        removed = 0
        for info in self.fs.get_file_info(fs.FileSelector(self.root, recursive=True, allow_not_found=True)):
            if info.type == fs.FileType.File and info.base_name.startswith(TEMP_PREFIX):
                self.fs.delete_file(info.path)
                removed += 1
        return removed

    def delete(self, folder: str = "") -> None:
        if self.exists(folder):
            self.fs.delete_dir(self.path(folder))


def shard_name(kind: str, key: str) -> str:
    return f"{kind}/part-{key}.{'npy' if kind == FLOATS else 'json' if kind == ENTRIES else 'parquet'}"


def done_keys(folder: ShardFolder, stage: str) -> list[str]:
    """Partitions whose `stage` ("embedded" or "scored") manifest entry exists."""
    prefix = f"part-{stage}-"
    return [name[len(prefix) : -len(".json")] for name in folder.names(ENTRIES) if name.startswith(prefix)]


def entry_name(stage: str, key: str) -> str:
    return f"{ENTRIES}/part-{stage}-{key}.json"


# --- papers and vectors ------------------------------------------------------------------------------------------


def papers_table(papers: list[Paper]):
    import pyarrow as pa

    schema = pa.schema([(f.name, pa.list_(pa.string()) if f.name in _LIST_FIELDS else pa.string()) for f in fields(Paper)])
    return pa.Table.from_pylist([asdict(paper) for paper in papers], schema=schema)


def papers_from_table(table) -> list[Paper]:
    return [Paper(**{**row, **{name: list(row[name] or []) for name in _LIST_FIELDS}}) for row in table.to_pylist()]


def vectors_table(ids: list[str], model_id: str, hashes: list[str], vectors: np.ndarray):
    """(id, model id, content hash, float16 vector): half the bytes of float32, enough to find prior work."""
    import pyarrow as pa

    dim = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else 0
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float16).reshape(-1), type=pa.float16())
    return pa.table({
        "id": pa.array(ids, pa.string()), "model_id": pa.array([model_id] * len(ids), pa.string()),
        "content_hash": pa.array(hashes, pa.string()), "vector": pa.FixedSizeListArray.from_arrays(flat, max(dim, 1)) if dim else pa.array([], pa.list_(pa.float16())),
    })


def import_shards(store, folder: ShardFolder) -> tuple[int, int]:
    """Bring a Ray run's papers and vectors into a workspace's store: (papers, vectors) imported.

    Vectors come from the run's float32 intermediates while they exist (a local run, at its end), else from the
    float16 vector shards, so a later in-process run embeds none of these papers.
    """
    papers_count = vectors_count = 0
    for name in folder.names(PAPERS):
        key = name[len("part-") : -len(".parquet")]
        papers = papers_from_table(folder.read_table(shard_name(PAPERS, key)))
        table = folder.read_table(shard_name(VECTORS, key))
        if folder.exists(shard_name(FLOATS, key)):
            vectors = folder.read_array(shard_name(FLOATS, key))
        else:
            vectors = np.asarray(table.column("vector").to_pylist(), dtype=np.float32).reshape(len(papers), -1)
        model_ids = set(table.column("model_id").to_pylist())
        store.upsert_papers(papers)
        for model_id in model_ids:
            store.put_embeddings(model_id, dict(zip(table.column("content_hash").to_pylist(), vectors)))
        papers_count += len(papers)
        vectors_count += len(vectors)
    return papers_count, vectors_count
