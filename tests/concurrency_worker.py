"""A worker process for the concurrency and crash tests: `python -m tests.concurrency_worker ROLE HOME [ARG]`.

Each role loops over one kind of write (or read) on the workspace at HOME until it has done its share or the
file HOME/stop exists, then prints one JSON line: {"role", "done", "errors"}. Any exception is an error, and
"database is locked" would be one.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from models.embedders import FakeEmbedder
from triage.workspace import Workspace


def _stopped(home: Path) -> bool:
    return (home / "stop").exists()


def review(home: Path, count: int) -> int:
    """Record `count` decisions on the queued drafts, one committed transaction each, as a reviewer would."""
    from triage.review import ReviewSession

    session = ReviewSession.open(Workspace.at(home), "concurrent")
    items = [entry.id for entry in session.queue("alice")]
    states = ["approve", "hold", "restrict", "escalate"]
    for n in range(count):
        session.decide(items[n % len(items)], reviewer="alice", state=states[n % len(states)], rationale=f"decision {n}")
    return count


def labels(home: Path, count: int) -> int:
    """Add `count` training labels, one small transaction each."""
    from corpus.records import LabelledText
    from triage.workspace_data import open_store

    with open_store(Workspace.at(home)) as store:
        for n in range(count):
            store.add_labels([LabelledText(text=f"concurrent label {n} on reward hacking", safety=n % 2, capabilities=1 - n % 2, source="concurrency")])
    return count


def similar(home: Path, limit: int) -> int:
    """Ask for prior work (reads, plus the index sync and embedding-cache writes that come with it) until stopped."""
    from triage.similar import find_similar

    done = 0
    embedder = FakeEmbedder(64)
    while done < limit and not _stopped(home):
        result = find_similar(Workspace.at(home), embedder=embedder, text=f"sparse autoencoders and reward hacking {done}", k=3)
        assert len(result.hits) == 3
        done += 1
    return done


ROLES = {"review": review, "labels": labels, "similar": similar}


def main(argv: list[str]) -> int:
    role, home, amount = argv[0], Path(argv[1]), int(argv[2]) if len(argv) > 2 else 1_000_000
    began = time.monotonic()
    errors: list[str] = []
    done = 0
    try:
        done = ROLES[role](home, amount)
    except Exception:  # noqa: BLE001  (reported to the test, which fails on any)
        errors.append(traceback.format_exc(limit=3))
    print(json.dumps({"role": role, "done": done, "errors": errors, "seconds": round(time.monotonic() - began, 2)}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
