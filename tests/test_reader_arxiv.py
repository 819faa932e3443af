"""The arXiv API reader against a local HTTP server that serves hand-written Atom feeds."""

from __future__ import annotations

import ast
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import arxiv
import pytest

from corpus.errors import FetchError, InputError
from corpus.readers import ReadIssue, arxiv_api
from corpus.readers.arxiv_api import ArxivPage, ArxivSettings, fetch_ids, iter_pages, result_to_paper, search

HANG = object()  # a handler result that makes the server never answer
Reply = tuple[int, str]
Handler = Callable[[dict[str, str]], object]  # a Reply, or HANG


# --- Atom feed builders -------------------------------------------------------------------------


def atom_entry(
    arxiv_id: str | None = "2401.00001v1",
    title: str | None = "A Paper",
    abstract: str = "We study a thing.",
    authors: tuple[str, ...] = ("Ada Example",),
    categories: tuple[str, ...] = ("cs.LG",),
    published: str = "2024-01-02T10:00:00Z",
    updated: str = "2024-01-05T08:30:00Z",
    doi: str | None = None,
) -> str:
    parts = []
    if arxiv_id is not None:
        parts.append(f"<id>http://arxiv.org/abs/{arxiv_id}</id>")
        parts.append(f'<link href="http://arxiv.org/abs/{arxiv_id}" rel="alternate" type="text/html"/>')
        parts.append(f'<link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}" rel="related"/>')
    parts.append(f"<updated>{updated}</updated><published>{published}</published>")
    if title is not None:
        parts.append(f"<title>{escape(title)}</title>")
    parts.append(f"<summary>{escape(abstract)}</summary>")
    parts.extend(f"<author><name>{escape(name)}</name></author>" for name in authors)
    if doi:
        parts.append(f"<arxiv:doi>{doi}</arxiv:doi>")
    if categories:
        parts.append(f'<arxiv:primary_category term="{categories[0]}"/>')
    parts.extend(f'<category term="{term}" scheme="http://arxiv.org/schemas/atom"/>' for term in categories)
    return "<entry>" + "".join(parts) + "</entry>"


def atom_feed(entries: list[str], total: int, start: int = 0, per_page: int = 10) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
        ' xmlns:arxiv="http://arxiv.org/schemas/atom">'
        "<title>arXiv Query</title><id>http://arxiv.org/api/test</id><updated>2024-02-01T00:00:00Z</updated>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>"
        + "".join(entries)
        + "</feed>"
    )


def numbered_entries(count: int) -> list[str]:
    return [atom_entry(f"2402.{n:05d}v2", title=f"Sparse Widgets, Part {n}") for n in range(1, count + 1)]


def paged(entries: list[str]) -> Callable[[dict[str, str]], Reply]:
    """Serve `entries` like arXiv does: the slice asked for by start/max_results, with the full total."""

    def handle(params: dict[str, str]) -> Reply:
        start, size = int(params["start"]), int(params["max_results"])
        return 200, atom_feed(entries[start : start + size], total=len(entries), start=start, per_page=size)

    return handle


# --- the local server ----------------------------------------------------------------------------


@dataclass
class FakeArxiv:
    url: str
    handler: Handler = field(default=lambda params: (200, atom_feed([], total=0)))
    requests: list[dict[str, str]] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def settings(self, **overrides: float) -> ArxivSettings:
        values: dict = {"base_url": self.url, "page_size": 2, "delay_seconds": 0.01, "num_retries": 2, "timeout_seconds": 2.0}
        return ArxivSettings(**(values | overrides))


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    fake: FakeArxiv

    class FeedHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            params = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
            fake.requests.append(params)
            fake.user_agents.append(self.headers.get("User-Agent", ""))
            reply = fake.handler(params)
            try:
                if reply is HANG:
                    fake.release.wait(10)  # released at teardown so the server can shut down
                    return
                assert isinstance(reply, tuple)
                status, body = reply
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/atom+xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, which is what the timeout test wants

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    fake = FakeArxiv(url=f"http://127.0.0.1:{server.server_port}/api/query")
    # A short poll interval keeps shutdown (and so each test) fast.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()


def collect() -> tuple[list[ReadIssue], Callable[[ReadIssue], None]]:
    issues: list[ReadIssue] = []
    return issues, issues.append


# --- settings ------------------------------------------------------------------------------------


def test_default_settings_follow_arxiv_rules() -> None:
    settings = ArxivSettings()
    assert settings.base_url == "https://export.arxiv.org/api/query"
    assert settings.delay_seconds == 3.0 and settings.page_size == 100


def test_short_delay_refused_for_a_remote_host() -> None:
    with pytest.raises(InputError, match="3-second rule"):
        ArxivSettings(delay_seconds=0.5)
    with pytest.raises(InputError, match="loopback"):
        ArxivSettings(base_url="http://mirror.example.org/api/query", delay_seconds=0.01)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]:9000/api"])
def test_short_delay_allowed_for_loopback(base_url: str) -> None:
    assert ArxivSettings(base_url=base_url, delay_seconds=0.0).delay_seconds == 0.0


@pytest.mark.parametrize(
    "overrides",
    [{"page_size": 0}, {"page_size": 2001}, {"num_retries": -1}, {"timeout_seconds": 0}, {"base_url": "ftp://x/y"}],
)
def test_bad_settings_refused(overrides: dict) -> None:
    with pytest.raises(InputError):
        ArxivSettings(**overrides)


# --- conversion ----------------------------------------------------------------------------------


def test_result_to_paper_normalises_fields() -> None:
    result = arxiv.Result(
        entry_id="http://arxiv.org/abs/2403.01234v3",
        published=datetime(2024, 3, 2, 23, 30, tzinfo=timezone.utc),
        updated=datetime(2024, 4, 1, 9, 0, tzinfo=timezone.utc),
        title="  Gradient   Pruning\n  for Tiny Robots ",
        summary="We prune\n   gradients.\n",
        authors=[arxiv.Result.Author("Grace  Placeholder"), arxiv.Result.Author("Linus Sample")],
        doi="10.1234/example.5678",
        primary_category="cs.RO",
        categories=["cs.RO", "cs.LG"],
    )
    paper = result_to_paper(result)
    assert paper.source == "arxiv"
    assert paper.arxiv_id == "2403.01234"
    assert paper.title == "Gradient Pruning for Tiny Robots"
    assert paper.abstract == "We prune gradients."
    assert paper.authors == ["Grace Placeholder", "Linus Sample"]
    assert paper.categories == ["cs.RO", "cs.LG"]
    assert (paper.published, paper.updated) == ("2024-03-02", "2024-04-01")
    assert paper.url == "https://arxiv.org/abs/2403.01234"
    assert paper.doi == "10.1234/example.5678"


def test_result_to_paper_old_style_id_and_missing_title() -> None:
    paper = result_to_paper(arxiv.Result(entry_id="http://arxiv.org/abs/hep-th/9901001v2", title="Old Strings"))
    assert paper.arxiv_id == "hep-th/9901001" and paper.published is None and paper.doi is None
    with pytest.raises(ValueError, match="title"):
        result_to_paper(arxiv.Result(entry_id="http://arxiv.org/abs/2401.00001v1", title="  "))


# --- paging, retries, failures -------------------------------------------------------------------


def test_search_pages_through_all_results(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = paged(numbered_entries(5))
    issues, on_issue = collect()

    papers = list(search("ti:widgets", None, fake_arxiv.settings(), on_issue))

    assert [paper.arxiv_id for paper in papers] == [f"2402.{n:05d}" for n in range(1, 6)]
    assert [request["start"] for request in fake_arxiv.requests] == ["0", "2", "4"]
    assert {request["search_query"] for request in fake_arxiv.requests} == {"ti:widgets"}
    assert issues == []


def test_iter_pages_gives_offsets_for_resuming(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = paged(numbered_entries(5))

    pages = list(iter_pages(query="all:widgets", settings=fake_arxiv.settings()))
    assert [(page.offset, page.next_offset, page.total, len(page.papers)) for page in pages] == [
        (0, 2, 5, 2), (2, 4, 5, 2), (4, 5, 5, 1),
    ]

    fake_arxiv.requests.clear()
    resumed = list(iter_pages(query="all:widgets", settings=fake_arxiv.settings(), start=pages[0].next_offset))
    assert [page.offset for page in resumed] == [2, 4]
    assert len(fake_arxiv.requests) == 2


def test_max_results_limits_requests(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = paged(numbered_entries(5))

    papers = list(search("all:widgets", 3, fake_arxiv.settings()))

    assert len(papers) == 3
    assert [(r["start"], r["max_results"]) for r in fake_arxiv.requests] == [("0", "2"), ("2", "1")]


def test_http_500_is_retried(fake_arxiv: FakeArxiv) -> None:
    serve = paged(numbered_entries(3))
    failed: list[bool] = []

    def flaky(params: dict[str, str]) -> Reply:
        if not failed:
            failed.append(True)
            return 500, "upstream hiccup"
        return serve(params)

    fake_arxiv.handler = flaky
    papers = list(search("all:widgets", None, fake_arxiv.settings()))

    assert len(papers) == 3
    assert [request["start"] for request in fake_arxiv.requests] == ["0", "0", "2"]


def test_unexpected_empty_page_is_retried(fake_arxiv: FakeArxiv) -> None:
    serve = paged(numbered_entries(4))
    emptied: list[bool] = []

    def sporadic(params: dict[str, str]) -> Reply:
        if params["start"] == "2" and not emptied:
            emptied.append(True)  # arXiv sometimes answers a mid-result page with no entries
            return 200, atom_feed([], total=4, start=2)
        return serve(params)

    fake_arxiv.handler = sporadic
    assert len(list(search("all:widgets", None, fake_arxiv.settings()))) == 4


def test_empty_result_yields_nothing(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = paged([])
    issues, on_issue = collect()

    assert list(search("ti:nothing-matches-this", None, fake_arxiv.settings(), on_issue)) == []
    assert list(iter_pages(query="ti:nothing", settings=fake_arxiv.settings())) == []
    assert len(fake_arxiv.requests) == 2 and issues == []


def test_malformed_entries_are_skipped_and_reported(fake_arxiv: FakeArxiv) -> None:
    entries = [
        atom_entry("2405.00001v1", title="Kept One"),
        atom_entry(None, title="No Identifier"),
        atom_entry("2405.00003v1", title=None),
        atom_entry("2405.00004v1", title="Bad Date", published="second Tuesday"),
        atom_entry("2405.00005v1", title="Kept Two"),
    ]
    fake_arxiv.handler = paged(entries)
    issues, on_issue = collect()

    pages = list(iter_pages(query="all:kept", settings=fake_arxiv.settings(page_size=10), on_issue=on_issue))

    assert [paper.title for paper in pages[0].papers] == ["Kept One", "Kept Two"]
    assert pages[0].next_offset == 5  # skipped entries still count, so a resume does not repeat them
    assert [(issue.source, issue.record) for issue in issues] == [("arxiv", 1), ("arxiv", "2405.00003"), ("arxiv", "2405.00004")]
    assert "no <id>" in issues[0].message and "title" in issues[1].message and "date" in issues[2].message


def test_entry_without_a_date_is_skipped_and_reported(fake_arxiv: FakeArxiv) -> None:
    # The reader keeps the page and says which entry went.
    entries = [atom_entry("2405.00006v1", title="No Date", published=""), atom_entry("2405.00007v1", title="Dated")]
    fake_arxiv.handler = paged(entries)
    issues, on_issue = collect()

    papers = list(search("all:dates", None, fake_arxiv.settings(), on_issue))

    assert [paper.title for paper in papers] == ["Dated"]
    assert [(issue.record, issue.message) for issue in issues] == [
        ("2405.00006", "skipped arXiv entry: entry has no <published> or <updated> date")
    ]


def test_body_that_is_not_a_feed_is_retried(fake_arxiv: FakeArxiv) -> None:
    # An HTML error page must not read as an empty result; the reader asks again instead.
    serve = paged(numbered_entries(1))
    replies = iter([(200, "<html><body>Service busy</body></html>")])
    fake_arxiv.handler = lambda params: next(replies, None) or serve(params)

    assert len(list(search("all:widgets", None, fake_arxiv.settings()))) == 1
    assert len(fake_arxiv.requests) == 2


def test_requests_say_who_is_asking_one_per_page(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = paged(numbered_entries(3))

    assert len(list(search("all:widgets", None, fake_arxiv.settings()))) == 3

    assert len(fake_arxiv.requests) == 2
    # arXiv's API manual asks clients to identify themselves; the default order is arxiv.Search's (relevance first).
    assert fake_arxiv.user_agents == [arxiv_api.USER_AGENT] * 2 and arxiv_api.USER_AGENT.startswith("pubtriage")
    assert {(r["sortBy"], r["sortOrder"]) for r in fake_arxiv.requests} == {("relevance", "descending")}


def test_reader_uses_no_private_name_of_the_arxiv_package() -> None:
    """A 4.x patch release may change anything private; the reader must not notice."""
    tree = ast.parse(Path(arxiv_api.__file__).read_text(encoding="utf-8"))
    private: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "arxiv":
            module = node.module or ""
            private += [f"from {module} import {alias.name}" for alias in node.names if alias.name.startswith("_")]
            private += [module] if any(part.startswith("_") for part in module.split(".")) else []
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "arxiv" or "__" in node.attr.strip("_"):
                private.append(ast.unparse(node))  # arxiv._x, or a name-mangled _Class__method on anything
        elif isinstance(node, ast.ClassDef):
            private += [f"class {node.name}({ast.unparse(base)})" for base in node.bases if "arxiv" in ast.unparse(base)]
    assert private == []


def test_arxiv_error_entry_is_input_error(fake_arxiv: FakeArxiv) -> None:
    error = (
        "<entry><id>http://arxiv.org/api/errors#incorrect_query</id><title>Error</title>"
        "<summary>malformed query: unbalanced parenthesis</summary></entry>"
    )
    fake_arxiv.handler = lambda params: (200, atom_feed([error], total=1))

    with pytest.raises(InputError, match="unbalanced parenthesis"):
        list(search("ti:(widgets", None, fake_arxiv.settings()))


def test_fetch_by_ids(fake_arxiv: FakeArxiv) -> None:
    def by_id(params: dict[str, str]) -> Reply:
        known = {"2406.11111": atom_entry("2406.11111v3", title="Found By Id"),
                 "cs/0101001": atom_entry("cs/0101001v1", title="An Old Style Paper")}
        entries = [known[i] for i in params["id_list"].split(",") if i in known]
        return 200, atom_feed(entries, total=len(entries))

    fake_arxiv.handler = by_id
    issues, on_issue = collect()
    wanted = ["arXiv:2406.11111v2", "https://arxiv.org/abs/cs/0101001", "2406.99999", "2406.11111"]

    papers = list(fetch_ids(wanted, fake_arxiv.settings(), on_issue))

    assert [paper.arxiv_id for paper in papers] == ["2406.11111", "cs/0101001"]
    assert fake_arxiv.requests[0]["id_list"] == "2406.11111,cs/0101001,2406.99999"
    assert fake_arxiv.requests[0]["search_query"] == ""
    assert issues == [ReadIssue("arxiv", "2406.99999", "not found on arXiv")]


def test_invalid_id_is_refused_before_any_request(fake_arxiv: FakeArxiv) -> None:
    with pytest.raises(InputError, match="'not-a-paper'"):
        fetch_ids(["2406.11111", "not-a-paper"], fake_arxiv.settings())
    with pytest.raises(InputError, match="'12345'"):
        iter_pages(ids=["12345"], settings=fake_arxiv.settings())
    assert fake_arxiv.requests == []


def test_server_that_always_fails_raises_fetch_error(fake_arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_arxiv.handler = lambda params: (503, "down for maintenance")
    waits: list[float] = []
    monkeypatch.setattr(arxiv_api._pacer, "_sleep", waits.append)

    with pytest.raises(FetchError) as caught:
        list(search("all:widgets", None, fake_arxiv.settings(delay_seconds=0.5, num_retries=3)))

    message = str(caught.value)
    assert message.startswith(f"arXiv API at {fake_arxiv.url}?")
    assert message.endswith("failed after 4 attempts: HTTP 503") and "\n" not in message
    assert len(fake_arxiv.requests) == 4
    # Backoff doubles: the gaps before retries 1, 2, 3 are 1, 2, 4 s (less the moment already passed).
    assert waits == pytest.approx([1.0, 2.0, 4.0], abs=0.2)


def test_client_error_is_not_retried(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = lambda params: (404, "no such endpoint")

    with pytest.raises(FetchError, match="refused the request: HTTP 404"):
        list(search("all:widgets", None, fake_arxiv.settings()))
    assert len(fake_arxiv.requests) == 1


def test_server_that_hangs_raises_fetch_error(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.handler = lambda params: HANG

    with pytest.raises(FetchError, match=r"failed after 2 attempts: no answer within 0.2 s"):
        list(search("all:widgets", None, fake_arxiv.settings(timeout_seconds=0.2, num_retries=1)))
    assert len(fake_arxiv.requests) == 2


def test_unreachable_server_raises_fetch_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago has nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ArxivSettings(base_url=f"http://127.0.0.1:{port}/api/query", delay_seconds=0.0, num_retries=1)

    with pytest.raises(FetchError, match="failed after 2 attempts: connection failed"):
        list(fetch_ids(["2401.00001"], settings))


def test_query_or_ids_required() -> None:
    with pytest.raises(InputError):
        iter_pages(settings=ArxivSettings())
    with pytest.raises(InputError):
        search("   ", None)


def test_arxiv_page_is_plain_data() -> None:
    page = ArxivPage(offset=0, papers=[], next_offset=0, total=None)
    assert page.total is None


def test_a_total_in_superscript_digits_is_no_total():
    """Found by the fuzzer: "¹".isdigit() is True, but int("¹") raises."""
    from corpus.readers import arxiv_api

    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        "<opensearch:totalResults>\u00b9</opensearch:totalResults></feed>"
    ).encode()
    assert arxiv_api._read_feed(body).total is None


def test_a_year_in_superscript_digits_is_no_year():
    from corpus.records import Paper

    assert Paper(title="t", abstract="a", published="\u00b9\u00b2\u00b3\u2074-01-01").year is None
