"""The nasty-file corpus (tests/nasty_files.py, built at test time): each file through its reader and through the
real command line gives records or one line naming the file, in bounded time and memory; never a traceback."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from tests import nasty_files
from tests.cli_helpers import run_cli
from tests.test_fuzz_readers import assert_cli_outcome, outcome, read_all_papers, read_draft
from tests.test_reader_arxiv import FakeArxiv, atom_entry, atom_feed, fake_arxiv  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
# Generous: CI machines are shared. Every file here took well under a second alone, or minutes before its fix.
SECONDS = 20.0

# What a file that fails as a whole must say (a substring of its one line).
REFUSED = {
    "random.csv": "invalid UTF-8",
    "random.bib": "invalid UTF-8",
    "random.jsonl.gz": "gzip",
    "random.csv.gz": "gzip",
    "random.md": "invalid UTF-8",
    "random.txt": "invalid UTF-8",
    "random.tex": "invalid UTF-8",
    "random.pdf": "not a readable PDF",
    "random-after-pdf-header.pdf": "not a readable PDF",
    "truncated.pdf": "not a readable PDF",
    "truncated-tail.pdf": "not a readable PDF",
    "encrypted.pdf": "encrypted PDF",
    "no-text-layer.pdf": "no text layer",
    "blank-pages.pdf": "no text layer",
    "cyclic-pages.pdf": "not a readable PDF",
    "pdf-flate-bomb.pdf": "no text layer",  # pypdf refuses to inflate the 100 MB stream
    "invalid-utf8.md": "invalid UTF-8",
    "invalid-utf8.tex": "invalid UTF-8",
    "invalid-utf8.bib": "invalid UTF-8",
    "huge.txt": "limit for drafts",
    "huge.bib": "limit for BibTeX",
    "nul-header.csv": "header lacks",
    "title-brackets.tex": "no text",
    "nested-groups.tex": "too deeply",
    "too-many-passages.txt": "passages",
    "zeros-bomb.jsonl.gz": "decompression bomb",
    "lines-bomb.jsonl.gz": "decompression bomb",
    "csv-bomb.csv.gz": "decompression bomb",
    "truncated.jsonl.gz": "truncated gzip",
}
# Files read with some records skipped: the records (line numbers) that must be reported.
SKIPPED = {
    "huge.csv": {3},
    "huge.jsonl": {2},
    "deep-nesting.jsonl": {2, 3, 4},
    "huge-values.jsonl": {1, 2},
    "embedded-nul.csv": {5},
    "invalid-utf8.csv": {3},
    "invalid-utf8.jsonl": {2},
    "unbalanced-braces.bib": {2, 4},
    "only-opening-braces.bib": {1},
    "unterminated-quote.csv": {3},
}


@pytest.fixture(scope="module")
def nasty(tmp_path_factory) -> dict[str, Path]:
    return nasty_files.build(tmp_path_factory.mktemp("nasty"))


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nasty-cli")


def test_every_nasty_file_has_an_expectation():
    assert set(nasty_files.GENERATORS) >= set(REFUSED) | set(SKIPPED)


@pytest.mark.parametrize("name", sorted(nasty_files.GENERATORS))
def test_reader_gives_records_or_one_line_naming_the_file(nasty, name):
    path = nasty[name]
    read = read_all_papers if nasty_files.KIND[name] == "papers" else read_draft
    issues = []

    def collecting(path, sink):
        return read(path, lambda issue: (issues.append(issue), sink(issue)))

    began = time.monotonic()
    errors: list[str] = []
    result = outcome(path, collecting, errors)
    assert time.monotonic() - began < SECONDS
    if name in REFUSED:
        assert result is None, f"{name} was read, but should have been refused ({REFUSED[name]})"
        assert REFUSED[name] in errors[0], f"{name}: {errors[0]}"
    else:
        assert result is not None, f"{name} was refused"
    if name in SKIPPED:
        assert {issue.record for issue in issues if issue.message.startswith("skipped")} >= SKIPPED[name], issues


@pytest.mark.parametrize("name", ["huge.csv", "huge.jsonl", "huge-values.jsonl", "zeros-bomb.jsonl.gz"])
def test_streamed_files_take_bounded_memory(nasty, name):
    """The 200 MB one-line files and the 2 GiB bombs are read in a few MiB: no line or stream is held whole."""
    tracemalloc.start()
    try:
        outcome(nasty[name], read_all_papers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{name} took {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("name", sorted(nasty_files.GENERATORS))
def test_the_real_command_line(capsys, nasty, cli_home, name):
    path = nasty[name]
    if nasty_files.KIND[name] == "papers":
        args = ["corpus", "import", path, "--no-index", "--format", "json"]
    else:  # `score` reads drafts with the same reader; tests/test_confidential.py runs it end to end
        args = ["-q", "similar", "--file", path, "-k", "2", "--format", "json"]
    began = time.monotonic()
    result = run_cli(capsys, "--home", cli_home, "--model", "fake", *args)
    assert time.monotonic() - began < SECONDS
    assert_cli_outcome(result, path)
    assert (result.code != 0) == (name in REFUSED), result.err
    if result.code:
        assert result.code == 2  # every one of these is bad input, not a failure of the tool
    if nasty_files.KIND[name] == "draft":
        assert nasty_files.SECRET not in result.err  # an error quotes no draft text


def _maxrss_kib(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI as a real process and return it with its peak resident memory (KiB, from the kernel)."""
    report = tmp_path / "maxrss"
    code = (
        "import atexit, resource, sys\n"
        f"atexit.register(lambda: open({str(report)!r}, 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
        "from tests.fake_triage import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    return done, int(report.read_text())


def test_200_mb_files_are_refused_or_streamed_fast_in_bounded_memory(nasty, tmp_path):
    home = str(tmp_path / "home")
    small = tmp_path / "small.csv"
    small.write_text("title,abstract\nA fine paper,With an abstract\n")
    _, baseline = _maxrss_kib(["--home", home, "--model", "fake", "corpus", "import", str(small), "--no-index"], tmp_path)

    began = time.monotonic()
    refused, refused_rss = _maxrss_kib(["--home", home, "--model", "fake", "score", str(nasty["huge.txt"])], tmp_path)
    assert time.monotonic() - began < SECONDS
    assert refused.returncode == 2 and "limit for drafts" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert refused_rss < baseline + 50 * 1024, "the draft was read before being refused"

    began = time.monotonic()
    streamed, streamed_rss = _maxrss_kib(["--home", home, "--model", "fake", "-q", "corpus", "import", str(nasty["huge.csv"]), "--no-index"], tmp_path)
    assert time.monotonic() - began < SECONDS * 2
    assert streamed.returncode == 0, streamed.stderr
    assert streamed_rss < baseline + 50 * 1024, f"{streamed_rss} KiB against {baseline} KiB: the 200 MB line was held"


def test_limits_can_be_raised_from_the_command_line(capsys, nasty, cli_home, tmp_path):
    wide = tmp_path / "wide.jsonl"
    wide.write_text('{"title": "Wide row", "abstract": "' + "x" * 2_000_000 + '"}\n')
    narrow = run_cli(capsys, "--home", cli_home, "--model", "fake", "corpus", "import", wide, "--no-index", "--format", "json")
    assert narrow.code == 0 and narrow.json()["inserted"] == 0 and "--max-line-kb" in narrow.err
    raised = run_cli(capsys, "--home", cli_home, "--model", "fake", "corpus", "import", wide, "--no-index", "--max-line-kb", "4096", "--format", "json")
    assert raised.code == 0 and raised.json()["inserted"] == 1

    draft = tmp_path / "draft.md"
    draft.write_text("# A draft\n\n" + "A sentence about sparse autoencoders and features. " * 400)
    tight = run_cli(capsys, "--home", cli_home, "--model", "fake", "score", draft, "--max-passages", "3")  # refused before any model work
    assert tight.code == 2 and "--max-passages" in tight.err and len(tight.err.splitlines()) == 1
    small = run_cli(capsys, "--home", cli_home, "--model", "fake", "similar", "--file", draft, "--max-file-mb", "0.001")
    assert small.code == 2 and "limit for drafts" in small.err


def test_markup_in_a_skipped_row_is_printed_not_parsed(capsys, cli_home, tmp_path):
    rows = tmp_path / "markup.jsonl"
    rows.write_text('{"title": "[bold]x", "abstract": "y", "arxiv_id": "[/]"}\n{"title": "z", "abstract": "w", "doi": "[/bold]\\nsecond line"}\n')
    result = run_cli(capsys, "--home", cli_home, "--model", "fake", "corpus", "import", rows, "--no-index", "--format", "json")
    assert result.code == 0 and result.json()["inserted"] == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 2 and "'[/]'" in lines[0], result.err


def test_atom_with_missing_fields_through_corpus_fetch(capsys, cli_home, fake_arxiv):
    entries = [
        atom_entry("2401.00001v1", title="Complete entry"),
        atom_entry("2401.00002v1", title=None),  # no title
        atom_entry(None, title="No id"),  # no <id>
        atom_entry("2401.00004v1", published="yesterday"),  # unparsable date
        atom_entry("2401.00005v1", published="0001-01-01T00:00:00+01:00"),  # out of datetime's range once converted
        atom_entry("2401.00006v1", authors=(), categories=(), abstract=""),  # bare, but usable
    ]
    fake_arxiv.handler = lambda params: (200, atom_feed(entries, total=len(entries)))
    ids = [f"2401.0000{n}" for n in range(1, 7)]
    result = run_cli(
        capsys, "--home", cli_home, "--model", "fake", "corpus", "fetch", "--ids", *ids, "--base-url", fake_arxiv.url,
        "--delay", "0.01", "--no-index", "--format", "json",
    )
    assert "Traceback" not in result.err
    assert result.code == 0, result.err
    assert result.json()["inserted"] == 2
    skipped = result.json()["skipped_rows"]
    assert any("2401.00002" in row for row in skipped) and any("2401.00004" in row for row in skipped), skipped
    assert all(line.startswith("note:") for line in result.err.strip().splitlines()), result.err


def test_atom_body_that_is_not_a_feed_is_one_line(capsys, cli_home, fake_arxiv):
    fake_arxiv.handler = lambda params: (200, "<html>" + "<div>" * 5000 + "not a feed")
    result = run_cli(
        capsys, "--home", cli_home, "--model", "fake", "corpus", "fetch", "--ids", "2401.00001", "--base-url", fake_arxiv.url,
        "--delay", "0.01", "--no-index",
    )
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1 and "arXiv API" in result.err
    assert "Traceback" not in result.err
