"""The test embedders by name, and `python -m tests.fake_triage ARGS`: `triage ARGS` in a real process with them.

`--model fake` (64 dimensions) and `--model fake-384` (MiniLM's width, for pipeline benchmarks) are the hashing
`FakeEmbedder`; they exist only where something registered them: every test (tests/conftest.py), or this driver.
"""

from __future__ import annotations

import sys

from models.embedders import EmbedderFactory, FakeEmbedder, register_embedder, unregister_embedder

TEST_MODELS: dict[str, EmbedderFactory] = {"fake": lambda: FakeEmbedder(64), "fake-384": lambda: FakeEmbedder(384)}


def register() -> None:
    for name, factory in TEST_MODELS.items():
        register_embedder(name, factory)


def unregister() -> None:
    for name in TEST_MODELS:
        unregister_embedder(name)


def main(argv: list[str] | None = None) -> int:
    from triage.cli import main as triage_main

    register()
    return triage_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
