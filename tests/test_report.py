"""The scores file in its three formats, and the self-contained HTML digest built from it."""

from __future__ import annotations

import base64
import re

import pytest

from corpus.errors import InputError
from tests.cli_helpers import run_cli
from triage.scores_file import COLUMNS, read_scores, write_scores


def _rows() -> list[dict]:
    base = {
        "authors": ["Ada Example", "Bo Sample"], "categories": ["cs.LG"], "published": "2026-11-28", "safety_std": 0.02,
        "capabilities_std": 0.03,
    }
    return [
        base | {
            "id": "arxiv:2611.00001", "arxiv_id": "2611.00001", "title": "Faster <script>alert(1)</script> kernels",
            "url": "https://arxiv.org/abs/2611.00001", "safety": 0.1, "capabilities": 0.9, "differential": -4.4,
            "tier": "restrict", "reasons": ["capability-dominant"], "top_areas": ["efficiency"], "prior_id": "2205.14135",
            "prior_similarity": 0.71,
        },
        base | {
            "id": "arxiv:2611.00002", "arxiv_id": "2611.00002", "title": "Probing for deception & lies",
            "url": "https://arxiv.org/abs/2611.00002", "safety": 0.9, "capabilities": 0.2, "differential": 3.6,
            "tier": "publish", "reasons": ["safety-dominant"], "top_areas": ["honesty", "interpretability"],
            "prior_id": None, "prior_similarity": None,
        },
        base | {
            "id": "title:abc", "arxiv_id": None, "title": "A draft-like paper", "url": "javascript:alert(1)",
            "safety": 0.6, "capabilities": 0.7, "differential": -0.4, "tier": "review", "reasons": ["dual-use"],
            "top_areas": [], "prior_id": "title:def", "prior_similarity": 0.3,
        },
    ]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_scores_file_round_trips(tmp_path, suffix):
    path = tmp_path / f"scores{suffix}"
    assert write_scores(iter([_rows()[:2], _rows()[2:]]), path) == 3
    frame = read_scores(path)
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 3
    assert frame["authors"].tolist()[0] == ["Ada Example", "Bo Sample"]
    assert frame["top_areas"].tolist() == [["efficiency"], ["honesty", "interpretability"], []]
    assert frame["title"].tolist()[0] == "Faster <script>alert(1)</script> kernels"
    assert frame["prior_similarity"].isna().tolist() == [False, True, False]


def test_unknown_suffix_and_missing_columns_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="must end in"):
        write_scores(iter([]), tmp_path / "scores.xlsx")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="missing columns"):
        read_scores(other)


def test_report_is_self_contained_and_escaped(capsys, tmp_path):
    scores = tmp_path / "scores.jsonl"
    write_scores(iter([_rows()]), scores)
    html_path = tmp_path / "out" / "digest.html"

    result = run_cli(capsys, "report", scores, "--html", html_path, "--format", "json")

    assert result.code == 0, result.err
    assert result.json() == {"html": str(html_path), "papers": 3, "restrict": 1, "review": 1, "publish": 1}
    page = html_path.read_text(encoding="utf-8")
    image = re.search(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert image and base64.b64decode(image.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "deception &amp; lies" in page
    assert 'href="https://arxiv.org/abs/2611.00001"' in page and 'href="https://arxiv.org/abs/2205.14135"' in page
    assert "javascript:" not in page  # only http(s) links become links
    assert not re.search(r'src="(?!data:)|<link |<script', page)  # nothing to fetch: the page stands alone
    for section in ("Tiers", "Score distribution", "Sub-areas", "Restrict (1)", "Review (1)"):
        assert section in page


def test_report_of_a_missing_file_is_exit_2(capsys, tmp_path):
    result = run_cli(capsys, "report", tmp_path / "gone.parquet", "--html", tmp_path / "r.html")
    assert result.code == 2 and "no such file" in result.err and len(result.err.strip().splitlines()) == 1
