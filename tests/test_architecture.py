"""The package boundaries the design promises, checked on the source and on a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "models", "triage", "tui")
# Which of our packages each package may import. The faces (the CLI in triage/cli, and tui) reach `corpus` and
# `models` only through `triage`; the CLI launches the app (`triage review`); the library never imports tui.
ALLOWED = {
    "corpus": {"corpus"},
    "models": {"models"},
    "triage": {"triage", "corpus", "models"},
    "tui": {"tui", "triage"},
}
FACES = {"triage/cli": {"triage", "tui"}}  # a folder whose allowed set replaces its package's
HEAVY = ("torch", "sentence_transformers", "faiss", "textual", "transformers", "pandas", "sklearn", "onnxruntime")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_go_one_way(package):
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        allowed = next((only for folder, only in FACES.items() if relative.startswith(folder + "/")), ALLOWED[package])
        for name in _imports(path) & set(PACKAGES):
            if name not in allowed:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders


@pytest.mark.parametrize("package", ("corpus", "models", "triage"))
def test_only_tui_imports_textual(package):
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py") if "textual" in _imports(p)]
    assert not offenders


def test_every_module_has_a_docstring():
    missing = [
        str(p.relative_to(ROOT))
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert not missing, missing


def test_cli_import_loads_no_heavy_library(tmp_path):
    code = (
        "import sys, triage.cli; "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "", f"`import triage.cli` loaded: {out.stdout.strip()}"


def test_a_command_without_a_model_runs_without_numpy_or_pydantic(tmp_path):
    """`triage corpus stats` end to end (seeding a fresh workspace included) imports neither: the 0.5 s start-up bar.
    typer 0.29 builds a pydantic validator per parameter on every run, which is why pyproject caps typer below 0.28."""
    code = (
        "import sys\nfrom triage.cli import main\nrc = main()\n"
        "print('loaded:' + ','.join(m for m in ('numpy', 'pydantic', *%r) if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(rc)\n" % (HEAVY,)
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--home", str(tmp_path / "home"), "corpus", "stats", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "papers" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "loaded:", f"`triage corpus stats` loaded: {done.stderr.strip()}"


def test_import_creates_no_folders(tmp_path):
    home = tmp_path / "home"
    code = "import corpus, models, triage, triage.cli, tui, triage.similar, triage.ingest"
    env = {"TRIAGE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)
    assert not home.exists()
    assert list(tmp_path.iterdir()) == []


def test_one_module_replaces_files():
    """Every whole-file write goes through models/atomic_files.py (fsync, rename, folder fsync): no second copy."""
    writers = sorted(
        str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*.py")
        if "os.replace(" in p.read_text(encoding="utf-8") or "os.rename(" in p.read_text(encoding="utf-8")
    )
    assert writers == ["models/atomic_files.py"]
