"""Confidential drafts: scoring or comparing a draft opens no network connection (the model loads offline), writes
nothing outside the workspace, and prints none of the draft's text in notes or errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import network_guard
from tests.cli_helpers import run_cli
from tests.test_readers import make_pdf

ROOT = Path(__file__).resolve().parents[1]
SECRET = "Confidential draft marker zq7x"


def _unique() -> str:
    # A text the embedding cache has never seen, so the model really has to load and run.
    return uuid.uuid4().hex[:12]


@pytest.fixture
def real_home(seeded_real_home, tmp_path) -> Path:
    """A private copy of the session's seeded, indexed workspace (with its probe), so writes stay in this test."""
    home = tmp_path / "workspace"
    shutil.copytree(seeded_real_home.home, home)
    return home


def _pdf_draft(path: Path) -> Path:
    nonce = _unique().encode()
    path.write_bytes(
        make_pdf(
            b"BT /F1 12 Tf 72 720 Td (" + SECRET.encode() + b". We fine-tune reward models against jailbreaks " + nonce + b".) Tj"
            b" 0 -16 Td (Red teaming evaluations of the fine-tuned models find fewer harmful completions.) Tj ET",
            title="Secret Draft",
        )
    )
    return path


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _guarded_env(tmp_path: Path, home: Path) -> tuple[dict[str, str], Path]:
    """A bare environment: no HF_HUB_OFFLINE (the model must load offline by itself), private HOME and TMPDIR."""
    guard = network_guard.install_sitecustomize(tmp_path / "guard")
    log = tmp_path / "network.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "user-home"), "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONPATH": str(guard), network_guard.LOG_VARIABLE: str(log), "TRIAGE_HOME": str(home), "LANG": "C.UTF-8",
    }
    for folder in ("user-home", "tmp", "cwd"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return env, log


def test_the_guard_sees_a_connection_attempt(tmp_path):
    """The control: in the same setup, a process that does try the network is caught, at both layers."""
    env, log = _guarded_env(tmp_path, tmp_path / "unused")
    code = "import socket\ntry:\n    socket.create_connection(('example.org', 443), timeout=1)\nexcept OSError as exc:\n    print(exc)\n"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path / "cwd", capture_output=True, text=True, timeout=60)
    assert "network guard" in done.stdout
    assert network_guard.network_attempts(log)
    # The system-call layer sees what bypasses Python's socket module (here: a connect without the guard).
    prefix = network_guard.strace_prefix(tmp_path / "strace.log")
    if prefix is None:
        pytest.skip("strace cannot trace here")
    code = "import socket\ns = socket.socket()\ns.settimeout(0.2)\ns.connect_ex(('192.0.2.1', 9))\n"  # TEST-NET-1: never routed
    subprocess.run([*prefix, sys.executable, "-c", code], cwd=tmp_path / "cwd", capture_output=True, timeout=60)
    assert network_guard.traced_attempts(tmp_path / "strace.log")


@pytest.mark.slow
def test_scoring_a_draft_pdf_end_to_end_opens_no_connection_and_writes_only_the_workspace(real_home, tmp_path):
    draft = _pdf_draft(tmp_path / "draft.pdf")
    env, log = _guarded_env(tmp_path, real_home)
    outside = {folder: _files_under(folder) for folder in (tmp_path / "user-home", tmp_path / "tmp", tmp_path / "cwd")}
    before = _files_under(real_home)

    traced = tmp_path / "strace.log"
    strace = network_guard.strace_prefix(traced) or []  # native code bypasses the Python guard; strace does not
    done = subprocess.run(
        [*strace, sys.executable, "-m", "triage", "--model", "default", "score", str(draft), "--explain"],
        env=env, cwd=tmp_path / "cwd", capture_output=True, text=True, timeout=600,
    )

    assert done.returncode == 0, done.stderr
    assert "Secret Draft" in done.stdout  # it really scored the draft, with the real model and probe
    assert network_guard.network_attempts(log) == [], network_guard.read_log(log)
    assert network_guard.traced_attempts(traced) == []
    for folder, files in outside.items():
        new = _files_under(folder) - files
        assert not new, f"score wrote outside the workspace: {sorted(map(str, new))}"
    assert list((tmp_path / "cwd").iterdir()) == []
    assert SECRET not in done.stderr  # notes and progress never quote the draft
    # Inside the workspace only the embedding cache grew: vectors keyed by hash, not the draft's text.
    # (The ONNX export of the model, made once per workspace, holds no draft text.)
    grown = {path for path in _files_under(real_home) - before if (real_home / "onnx") not in path.parents}
    assert grown <= {real_home / "triage.db-wal", real_home / "triage.db-shm"}
    assert not any(SECRET.encode() in path.read_bytes() for path in _files_under(real_home))


@pytest.mark.slow
def test_similar_file_in_process_opens_no_connection(capsys, monkeypatch, real_home, tmp_path):
    draft = tmp_path / "draft.md"
    draft.write_text(f"# {SECRET}\n\nWe study sparse autoencoders on a model's residual stream ({_unique()}).\n\n{SECRET} again.\n")
    with network_guard.guarded(monkeypatch) as attempts:
        result = run_cli(capsys, "--home", real_home, "--model", "default", "similar", "--file", draft, "-k", "3", "--format", "json")
        scored = run_cli(capsys, "--home", real_home, "--model", "default", "score", draft, "--format", "json")
    assert result.code == 0 and scored.code == 0, result.err + scored.err
    assert len(result.json()) == 3 and scored.json()[0]["title"] == SECRET
    assert attempts == []
    assert SECRET not in result.err and SECRET not in scored.err


def test_errors_about_a_draft_never_quote_it(capsys, tmp_path):
    broken = tmp_path / "broken.md"
    broken.write_bytes(f"# {SECRET}\n\n{SECRET} then a bad byte: ".encode() + b"\xff\n")
    tex = tmp_path / "broken.tex"
    tex.write_text("\\begin{document}" + "{" * 3000 + SECRET + "\\end{document}")
    for path in (broken, tex):
        for command in (["score", path], ["similar", "--file", path]):
            result = run_cli(capsys, "--model", "fake", *command)
            assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
            assert SECRET not in result.err and "zq7x" not in result.err


def _plain(help_text: str) -> str:
    """Help as one line of words: rich draws option help in boxes, wrapping a phrase across box borders."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", help_text).split())


NETWORK_HELP = [
    (["corpus", "fetch"], "network"),
    (["batch"], "network"),
    (["similar"], "network"),
    (["score"], "network"),
    (["--help"], "downloaded over the network"),  # --model with a hub name
    (["review"], "network"),  # --arxiv-id
]


@pytest.mark.parametrize("command, words", NETWORK_HELP, ids=lambda value: " ".join(value) if isinstance(value, list) else value)
def test_commands_that_reach_the_network_say_so_in_help(capsys, command, words):
    args = command if command == ["--help"] else [*command, "--help"]
    result = run_cli(capsys, *args)
    assert result.code == 0
    assert words in _plain(result.out), f"`triage {' '.join(args)}` does not mention {words!r}"


@pytest.mark.parametrize("command", [["corpus", "import"], ["labels", "import"], ["models", "train"], ["index", "build"], ["report"]])
def test_local_commands_do_not_claim_the_network(capsys, command):
    result = run_cli(capsys, *command, "--help")
    text = _plain(result.out)
    assert result.code == 0 and ("network" not in text or "never reaches the network" in text or "nothing reaches the network" in text)
