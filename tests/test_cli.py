"""The command line: help with examples everywhere, formats, and one-line errors with the right exit codes."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
import typer

from tests.cli_helpers import run_cli
from triage.cli import app


def _all_commands():
    root = typer.main.get_command(app)

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path

    return list(walk(root, []))


@pytest.mark.parametrize("path", _all_commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(capsys, path):
    result = run_cli(capsys, *path, "--help")
    assert result.code == 0
    assert "Examples" in result.out, f"`triage {' '.join(path)} --help` shows no example"


def test_help_runs_as_a_real_process():
    out = subprocess.run([sys.executable, "-m", "triage", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "similar" in out.stdout


def test_import_twice_keeps_the_count(capsys, tmp_path):
    csv_file = tmp_path / "papers.csv"
    csv_file.write_text("title,abstract,arxiv_id\nA study of widgets,We study widgets.,2101.00001v2\nGadget scaling,Gadgets scale.,\n")
    first = run_cli(capsys, "--model", "fake", "corpus", "import", csv_file, "--format", "json")
    assert first.code == 0, first.err
    count = first.json()["papers_in_workspace"]
    again = run_cli(capsys, "--model", "fake", "corpus", "import", csv_file, "--format", "json")
    assert again.json()["papers_in_workspace"] == count
    assert again.json()["inserted"] == 0 and again.json()["unchanged"] == 2


def test_bad_rows_are_reported_and_good_rows_kept(capsys, tmp_path):
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"title": "Good row", "abstract": "fine"}\n{not json}\n{"title": "", "abstract": ""}\n')
    result = run_cli(capsys, "--model", "fake", "corpus", "import", jsonl, "--format", "json")
    assert result.code == 0
    assert result.json()["inserted"] == 1
    assert [row.split(":")[1] for row in result.json()["skipped_rows"]] == ["2", "3"]
    assert "rows.jsonl:2" in result.err


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["corpus", "import", "missing.csv"], 2, "missing.csv: no such file"),
        (["corpus", "import", "{tmp}/notes.xyz"], 2, "unsupported"),
        (["similar", "   "], 2, "empty"),
        (["similar", "--arxiv-id", "not-an-id"], 2, "not an arXiv id"),
        (["similar", "--file", "{tmp}/gone.md"], 2, "no such file"),
        (["similar", "text", "--arxiv-id", "1706.03762"], 2, "exactly one"),
        (["similar"], 2, "exactly one"),
        (["similar", "--file", "{tmp}/empty.md"], 2, "empty"),
        (["similar", "--file", "{tmp}/bad.txt"], 2, "UTF-8"),
        (["corpus", "fetch", "--query", "x", "--ids", "1706.03762"], 2, "either"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, code, message):
    (tmp_path / "notes.xyz").write_text("x")
    (tmp_path / "empty.md").write_text("   \n\n")
    (tmp_path / "bad.txt").write_bytes(b"valid start \xff\xfe invalid")
    result = run_cli(capsys, "--model", "fake", *[a.format(tmp=tmp_path) for a in args])
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message.lower() in lines[0].lower(), result.err
    assert "Traceback" not in result.err


def test_unreachable_arxiv_is_a_clear_failure(capsys):
    result = run_cli(capsys, "--model", "fake", "corpus", "fetch", "--ids", "1706.03762", "--base-url", "http://127.0.0.1:9/api/query", "--delay", "0.01")
    assert result.code == 1
    assert "arXiv API" in result.err and len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_similar_formats_with_the_fake_embedder(capsys, fmt):
    result = run_cli(capsys, "--model", "fake", "similar", "sparse autoencoders interpretability features", "-k", "3", "--format", fmt)
    assert result.code == 0, result.err
    if fmt == "json":
        hits = result.json()
        assert len(hits) == 3 and {"rank", "similarity", "title", "year", "id"} <= set(hits[0])
    elif fmt == "csv":
        assert result.out.splitlines()[0] == "rank,similarity,year,id,title" and len(result.out.splitlines()) == 4
    else:
        assert "similarity" in result.out
        assert "Ranked by the dense and lexical (BM25) ranks fused" in " ".join(result.out.split())


def test_stats_and_index_build(capsys):
    stats = run_cli(capsys, "corpus", "stats", "--format", "json")
    assert stats.code == 0 and stats.json()["papers"] >= 400
    built = run_cli(capsys, "--model", "fake", "index", "build", "--format", "json")
    assert built.code == 0 and built.json()[0]["index"] == "flat"
