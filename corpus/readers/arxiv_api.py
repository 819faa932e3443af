"""Read paper metadata from the arXiv API (search queries and id lists) as `Paper` records.

Requests and the Atom feed are handled here (requests + lxml), through no private name of the `arxiv` package,
whose public `Result` is the record that both the feed and `result_to_paper` go through.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, Iterator
from urllib.parse import urlencode, urlsplit

import arxiv
import requests

from corpus.errors import FetchError, InputError
from corpus.readers import IssueSink, ReadIssue, ignore_issue
from corpus.records import Paper, ascii_int, parse_arxiv_id

SOURCE = "arxiv"
MAX_PAGE_SIZE = 2000  # arXiv refuses larger pages
MIN_DELAY_SECONDS = 3.0  # arXiv's terms of use: at most one request every three seconds
# Keeps a GET URL for an id list around 1-2 KB; long id lists are split into several requests.
_IDS_PER_REQUEST = 100
_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
# arXiv answers a bad query with HTTP 200 and a single entry whose id lives under this path.
_API_ERROR_ID = "arxiv.org/api/errors"
try:  # arXiv asks API clients to say who they are
    USER_AGENT = f"pubtriage/{metadata.version('pubtriage')}"
except metadata.PackageNotFoundError:  # a source tree that was never installed
    USER_AGENT = "pubtriage"


@dataclass(frozen=True)
class ArxivSettings:
    """Where and how politely to call the arXiv API."""

    base_url: str = "https://export.arxiv.org/api/query"
    page_size: int = 100
    delay_seconds: float = MIN_DELAY_SECONDS
    num_retries: int = 3
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InputError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {self.page_size}")
        if self.num_retries < 0:
            raise InputError(f"num_retries must be 0 or more, got {self.num_retries}")
        if self.timeout_seconds <= 0:
            raise InputError(f"timeout_seconds must be positive, got {self.timeout_seconds}")
        if self.delay_seconds < 0:
            raise InputError(f"delay_seconds must be 0 or more, got {self.delay_seconds}")
        # Only a local stand-in server (tests) may be called faster than arXiv allows.
        if self.delay_seconds < MIN_DELAY_SECONDS and not _is_loopback(parts.hostname):
            raise InputError(
                f"delay_seconds={self.delay_seconds} is below arXiv's {MIN_DELAY_SECONDS:g}-second rule; "
                f"a shorter delay is only allowed for a loopback base_url, not {self.base_url!r}"
            )


@dataclass(frozen=True)
class ArxivPage:
    """One API response: the papers it held and where the next page starts, so a batch job can resume."""

    offset: int
    papers: list[Paper]
    next_offset: int  # counts skipped malformed entries too, so resuming never repeats or loses one
    total: int | None  # arXiv's opensearch:totalResults, None when the feed omits it


def fetch_ids(
    ids: list[str],
    settings: ArxivSettings = ArxivSettings(),
    on_issue: IssueSink = ignore_issue,
) -> Iterator[Paper]:
    """Fetch the latest version of each paper; ids may carry versions or be arXiv URLs, duplicates are dropped."""
    wanted = list(dict.fromkeys(_checked_id(raw) for raw in ids))  # validates all before any request
    return _fetch_ids(wanted, settings, on_issue)


def search(
    query: str,
    max_results: int | None = None,
    settings: ArxivSettings = ArxivSettings(),
    on_issue: IssueSink = ignore_issue,
    start: int = 0,
) -> Iterator[Paper]:
    """Papers matching an arXiv query (`ti:diffusion AND cat:cs.LG`), at most `max_results` from `start`."""
    if not query.strip():
        raise InputError("the arXiv search query is empty", source=SOURCE)
    pages = iter_pages(query=query, settings=settings, on_issue=on_issue, start=start, max_results=max_results)
    return (paper for page in pages for paper in page.papers)


def iter_pages(
    query: str | None = None,
    ids: list[str] | None = None,
    *,
    settings: ArxivSettings = ArxivSettings(),
    on_issue: IssueSink = ignore_issue,
    start: int = 0,
    max_results: int | None = None,
) -> Iterator[ArxivPage]:
    """Pages of a query and/or id list (arXiv intersects the two); arguments are checked before any request."""
    query = (query or "").strip()
    id_list = [_checked_id(raw) for raw in ids or []]
    if not query and not id_list:
        raise InputError("give an arXiv search query, a list of arXiv ids, or both", source=SOURCE)
    if start < 0:
        raise InputError(f"start must be 0 or more, got {start}", source=SOURCE)
    if max_results is not None and max_results < 0:
        raise InputError(f"max_results must be 0 or more, got {max_results}", source=SOURCE)
    return _pages(query, id_list, settings, on_issue, start, max_results)


def result_to_paper(result: arxiv.Result) -> Paper:
    """Convert one `arxiv.Result`; raises ValueError when it lacks a usable id or title."""
    arxiv_id = parse_arxiv_id(result.get_short_id())
    if arxiv_id is None:
        raise ValueError(f"entry id {result.entry_id!r} is not an arXiv abstract URL")
    title = _squash(result.title)
    if not title:
        raise ValueError("entry has no title")
    categories = list(dict.fromkeys([result.primary_category, *result.categories]))
    return Paper(
        title=title,
        abstract=_squash(result.summary),
        source=SOURCE,
        arxiv_id=arxiv_id,
        doi=(result.doi or "").strip() or None,
        authors=[name for name in (_squash(author.name) for author in result.authors) if name],
        categories=[category for category in categories if category],
        published=_iso_date(result.published),
        updated=_iso_date(result.updated),
        # Version-free link so the same paper from two fetches compares equal.
        url=f"https://arxiv.org/abs/{arxiv_id}",
    )


# --- fetching ---------------------------------------------------------------------------------
# Our own small HTTP layer (requests) rather than arxiv.Client: the Client hides page totals, the entries its parser
# drops and request timeouts behind private methods, and a reader that resumes batch jobs needs all three.


def _fetch_ids(wanted: list[str], settings: ArxivSettings, on_issue: IssueSink) -> Iterator[Paper]:
    seen: set[str] = set()

    def note(issue: ReadIssue) -> None:
        seen.add(str(issue.record))  # a malformed entry for an id is already reported; not "not found" too
        on_issue(issue)

    for first in range(0, len(wanted), _IDS_PER_REQUEST):
        chunk = wanted[first : first + _IDS_PER_REQUEST]
        for page in _pages("", chunk, settings, note, 0, None):
            for paper in page.papers:
                seen.add(paper.arxiv_id or "")
                yield paper
        for missing in (arxiv_id for arxiv_id in chunk if arxiv_id not in seen):
            on_issue(ReadIssue(SOURCE, missing, "not found on arXiv"))


def _pages(
    query: str,
    id_list: list[str],
    settings: ArxivSettings,
    on_issue: IssueSink,
    start: int,
    max_results: int | None,
) -> Iterator[ArxivPage]:
    end = None if max_results is None else start + max_results
    offset = start
    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        while end is None or offset < end:
            size = settings.page_size if end is None else min(settings.page_size, end - offset)
            feed = _get_page(session, settings, _page_url(settings.base_url, query, id_list, offset, size), offset)
            total, entries = feed.total, feed.entries
            if not entries:
                return
            yield ArxivPage(offset, _convert(entries, offset, on_issue), offset + len(entries), total)
            offset += len(entries)
            # Without a total, a short page is the only sign that the results ran out.
            if (total is not None and offset >= total) or (total is None and len(entries) < size):
                return


def _page_url(base_url: str, query: str, id_list: list[str], start: int, size: int) -> str:
    """The query URL of the arXiv API manual, in the order arxiv.Search asks for by default (most relevant first)."""
    args = {
        "search_query": query,
        "id_list": ",".join(id_list),
        "sortBy": arxiv.SortCriterion.Relevance.value,
        "sortOrder": arxiv.SortOrder.Descending.value,
        "start": str(start),
        "max_results": str(size),
    }
    return f"{base_url}?{urlencode(args)}"


@dataclass(frozen=True)
class _Feed:
    """One page: arXiv's total (None when the feed omits it) and its raw <entry> elements, bad ones included."""

    total: int | None
    entries: list[Any]


class _Retryable(Exception):
    """A failure that a later attempt may avoid (a body that is not a feed, arXiv's sporadic empty pages)."""


def _get_page(session: requests.Session, settings: ArxivSettings, url: str, start: int) -> _Feed:
    """Fetch one page, paced per endpoint, with retries and exponential backoff; every failure is one line."""
    key = settings.base_url  # one pacing queue per API endpoint
    attempts = settings.num_retries + 1
    reason = ""
    for attempt in range(attempts):
        # Exponential backoff: the gap before retry n is delay * 2**n; arXiv's 503s clear within seconds.
        _pacer.wait(key, settings.delay_seconds * 2**attempt)
        try:
            return _try_page(session, settings, url, start)
        except _Retryable as err:
            reason = str(err)
        except requests.Timeout:
            reason = f"no answer within {settings.timeout_seconds:g} s"
        except requests.RequestException as err:  # refused connections, broken bodies, ...
            reason = _connection_reason(err)
        finally:
            # Count the gap from the end of a slow or timed-out request, so backoff really backs off.
            _pacer.touch(key)
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    raise FetchError(f"arXiv API at {url} failed after {tries}: {reason}")


def _try_page(session: requests.Session, settings: ArxivSettings, url: str, start: int) -> _Feed:
    response = session.get(url, timeout=settings.timeout_seconds)
    if response.status_code != requests.codes.ok:
        if _worth_retrying(response.status_code):
            raise _Retryable(f"HTTP {response.status_code}")
        raise FetchError(f"arXiv API at {url} refused the request: HTTP {response.status_code}")
    feed = _read_feed(response.content)
    # arXiv now and then answers a page inside the results with no entries; the total shows it is a glitch.
    if not feed.entries and feed.total is not None and start < feed.total:
        raise _Retryable(f"empty page at offset {start} of {feed.total} results")
    return feed


def _worth_retrying(status: int) -> bool:
    # Server errors, throttling and request timeouts pass; any other 4xx (a wrong base_url) will not.
    return status >= 500 or status in (408, 429)


def _connection_reason(err: Exception) -> str:
    """The OS-level cause (e.g. 'Connection refused') is the useful part of requests' nested errors."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f"connection failed: {cause.strerror}"
        cause = cause.__cause__ or cause.__context__
    return f"connection failed: {type(err).__name__}"


class _Pacer:
    """Spaces requests to each API URL across all calls in this process, as arXiv's rate rule is per client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._sleep = time.sleep  # replaceable, so tests can observe waits without taking them

    def wait(self, key: str, gap_seconds: float) -> None:
        # Sleeping under the lock is deliberate: concurrent callers must queue, not all fire at once.
        with self._lock:
            last = self._last.get(key)
            if last is not None:
                pause = last + gap_seconds - time.monotonic()
                if pause > 0:
                    self._sleep(pause)
            self._last[key] = time.monotonic()

    def touch(self, key: str) -> None:
        with self._lock:
            self._last[key] = time.monotonic()


_pacer = _Pacer()


# --- parsing (pure) ---------------------------------------------------------------------------


def _read_feed(body: bytes) -> _Feed:
    """The feed's total and raw entries; a body that is not an Atom feed is worth retrying."""
    from lxml import etree  # only the feed parser needs it; importing the reader stays light

    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        raise _Retryable(f"response is not XML ({err})") from err
    if root.tag != f"{{{_NS['atom']}}}feed":
        raise _Retryable(f"response is not an Atom feed (root element {root.tag!r})")
    entries = root.findall("atom:entry", _NS)
    for entry in entries:
        entry_id = _squash(entry.findtext("atom:id", namespaces=_NS))
        if _API_ERROR_ID in entry_id:
            summary = _squash(entry.findtext("atom:summary", namespaces=_NS))
            raise InputError(f"arXiv rejected the request: {summary or entry_id}", source=SOURCE)
    total_text = (root.findtext("opensearch:totalResults", namespaces=_NS) or "").strip()
    return _Feed(ascii_int(total_text), entries)


def _convert(entries: list[Any], offset: int, on_issue: IssueSink) -> list[Paper]:
    """Good entries become papers; each bad one is reported by id (or position) and skipped."""
    papers: list[Paper] = []
    for position, entry in enumerate(entries, start=offset):
        try:
            papers.append(result_to_paper(_entry_to_result(entry)))
        except ValueError as err:
            entry_id = _squash(entry.findtext("atom:id", namespaces=_NS))
            on_issue(ReadIssue(SOURCE, _entry_record(entry_id, position), f"skipped arXiv entry: {err}"))
    return papers


def _entry_to_result(entry: Any) -> arxiv.Result:
    """An <entry> as an `arxiv.Result` (the fields `result_to_paper` reads); ValueError says why an entry is unusable."""
    entry_id = _squash(entry.findtext("atom:id", namespaces=_NS))
    if not entry_id:
        raise ValueError("entry has no <id>")
    updated = _moment(entry.findtext("atom:updated", namespaces=_NS))
    published = _moment(entry.findtext("atom:published", namespaces=_NS))
    if updated is None or published is None:
        raise ValueError("entry has no <published> or <updated> date")
    primary = entry.find("arxiv:primary_category", _NS)
    return arxiv.Result(
        entry_id=entry_id,
        updated=updated,
        published=published,
        title=entry.findtext("atom:title", default="", namespaces=_NS),
        authors=[arxiv.Result.Author(author.findtext("atom:name", default="", namespaces=_NS)) for author in entry.iterfind("atom:author", _NS)],
        summary=entry.findtext("atom:summary", default="", namespaces=_NS),
        doi=entry.findtext("arxiv:doi", namespaces=_NS),
        primary_category=(primary.get("term") if primary is not None else None) or "",
        categories=[term for term in (category.get("term") for category in entry.iterfind("atom:category", _NS)) if term is not None],
    )


def _moment(text: str | None) -> datetime | None:
    """An Atom timestamp in UTC (a zone-less one is taken as UTC); None when the element is missing or blank."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError) as err:  # OverflowError: year 1 with a positive offset leaves datetime's range
        raise ValueError(f"unparsable date ({err})") from err


def _entry_record(entry_id: str, position: int) -> str | int:
    """Name a bad entry by its arXiv id when it has one, else by its position in the whole result set."""
    if not entry_id:
        return position
    return parse_arxiv_id(entry_id.rsplit("/abs/", 1)[-1]) or entry_id


def _iso_date(moment: datetime | None) -> str | None:
    if moment is None or moment == datetime.min:
        return None
    # arXiv stamps in UTC; convert before taking the date so a +02:00 stamp near midnight lands right.
    return moment.astimezone(timezone.utc).date().isoformat() if moment.tzinfo else moment.date().isoformat()


def _checked_id(raw: str) -> str:
    arxiv_id = parse_arxiv_id(raw)
    if arxiv_id is None:
        raise InputError(f"{raw!r} is not an arXiv id or arXiv URL", source=SOURCE)
    return arxiv_id


def _squash(text: str | None) -> str:
    return " ".join((text or "").split())


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
