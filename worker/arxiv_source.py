"""Papers from the arXiv API; the only module that imports `arxiv`.

API manual: https://info.arxiv.org/help/api/user-manual.html
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import arxiv
import requests

from feedsvc.config import Topic
from feedsvc.errors import SourceError
from feedsvc.logs import ids
from feedsvc.models import Paper
from worker.arxiv_http import DeadlineSession, Gate, RequestRecorder
from worker.extract import find_code_links, find_venue

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100
_VERSIONED_ID = re.compile(r"^(?P<id>.+?)v(?P<version>\d+)$")

StoredVersions = Callable[[Sequence[str]], dict[str, int]]


PageProgress = Callable[[int], None]
LastPage = Callable[[Sequence[Paper]], bool]
"""Told each page as it arrives: True when no later page is wanted."""
FETCH_SINCE_LIMIT = 10000  # a safety cap only: months of the busiest category


class ArxivSource:
    """One reused arXiv client per process: paced requests, a timeout on each."""

    def __init__(
        self,
        api_url: str,
        delay_seconds: float,
        timeout_seconds: float,
        num_retries: int = 2,
        record_request: RequestRecorder | None = None,
        gate: Gate = nullcontext,
    ) -> None:
        self.client = arxiv.Client(
            page_size=MAX_PAGE_SIZE, delay_seconds=delay_seconds, num_retries=num_retries
        )
        self.client.query_url_format = api_url + "?{}"
        self._host = urlsplit(api_url).netloc
        self.client._session = DeadlineSession(timeout_seconds, record_request or _ignore, gate)

    def fetch_new(
        self,
        topic: Topic,
        stored_versions: StoredVersions,
        limit: int,
        progress: PageProgress | None = None,
    ) -> list[Paper]:
        """The topic's newest papers, newest update first, until a page holds only known ones.

        Takes at most `limit` papers. Raises SourceError on any failure, before the caller
        stores anything, so a failed fetch never leaves a gap behind a stored page.
        """
        search = _newest_updates_first(topic, limit)

        def all_known(page: Sequence[Paper]) -> bool:
            known = stored_versions([p.id for p in page])
            return all(known.get(p.id, 0) >= p.version for p in page)

        return self._run(topic, search, all_known, progress)

    def fetch_since(
        self, topic: Topic, since: datetime, progress: PageProgress | None = None
    ) -> list[Paper]:
        """Every paper of the topic updated at or after `since`, newest update first, however
        many pages that takes (at most FETCH_SINCE_LIMIT papers), and none older."""
        search = _newest_updates_first(topic, FETCH_SINCE_LIMIT)

        def reached_older(page: Sequence[Paper]) -> bool:
            return any(paper.updated < since for paper in page)

        papers = self._run(topic, search, reached_older, progress)
        return [paper for paper in papers if paper.updated >= since]

    def fetch_window(self, topic: Topic, start: datetime, end: datetime, limit: int) -> list[Paper]:
        """Every paper of the topic first submitted in [start, end] (UTC), up to `limit`."""
        window = f"submittedDate:[{start:%Y%m%d%H%M} TO {end:%Y%m%d%H%M}]"
        search = arxiv.Search(
            query=f"({topic.query}) AND {window}",
            max_results=limit,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        return self._run(topic, search, _never, None)

    def count_updated(self, topic: Topic, start: datetime, end: datetime) -> int:
        """arXiv's own count (opensearch:totalResults) of the topic's papers last updated in
        [start, end): one request for a single entry."""
        # The client reads the count only on its way to yielding results; its page parser
        # is the one place that exposes it, through the same session, gate and deadline.
        url = self.client._format_url(_updated_between(topic, start, end, 1), 0, 1)
        with self._errors_as_source_error(topic):
            feed = self.client._parse_feed(url)
        # The parser recovers from broken XML and reads a missing count as 0; a real answer
        # always says how many it was asked to list (itemsPerPage).
        if feed.malformed or feed.header.items_per_page != 1:
            raise SourceError(topic.slug, f"unreadable answer from {self._host}: no count")
        return int(feed.header.total_results)

    def fetch_updated(
        self, topic: Topic, start: datetime, end: datetime, limit: int
    ) -> list[Paper]:
        """The topic's papers last updated in [start, end), up to `limit`. A later page that
        comes back empty (arXiv counted more than it serves) ends the fetch with what came:
        this repairs a gap as far as arXiv lets it, and what stays missing stays counted."""
        search = _updated_between(topic, start, end, limit)
        return self._run(topic, search, _never, None, keep_partial=True)

    def _run(
        self,
        topic: Topic,
        search: arxiv.Search,
        last_page: LastPage,
        progress: PageProgress | None,
        keep_partial: bool = False,
    ) -> list[Paper]:
        page_size = min(topic.max_results, MAX_PAGE_SIZE)
        self.client.page_size = page_size
        results = self.client.results(search)
        papers: list[Paper] = []
        with self._errors_as_source_error(topic):
            try:
                self._collect(topic, results, page_size, last_page, progress, papers)
            except arxiv.UnexpectedEmptyPageError:
                if not (keep_partial and papers):
                    raise
        log.info("topic=%s fetched %d papers from arXiv", topic.slug, len(papers),
                 extra=ids(topic=topic.slug))  # fmt: skip
        return papers

    @contextmanager
    def _errors_as_source_error(self, topic: Topic) -> Iterator[None]:
        """Every failure of a request as SourceError, with a reason fit for the index page."""
        try:
            yield
        except arxiv.HTTPError as exc:
            raise SourceError(topic.slug, f"HTTP {exc.status} from {exc.url}") from exc
        except arxiv.UnexpectedEmptyPageError as exc:
            raise SourceError(topic.slug, f"empty page where results were due: {exc.url}") from exc
        except requests.Timeout as exc:
            raise SourceError(topic.slug, f"no answer from {self._host} in time") from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise SourceError(topic.slug, f"{exc} ({self._host})") from exc
        except requests.ConnectionError as exc:
            raise SourceError(topic.slug, f"cannot connect to {self._host}") from exc
        except (arxiv.ArxivError, requests.RequestException) as exc:
            raise SourceError(topic.slug, f"{type(exc).__name__}: {exc}") from exc

    def _collect(
        self,
        topic: Topic,
        results: Iterator[arxiv.Result],
        page_size: int,
        last_page: LastPage,
        progress: PageProgress | None,
        papers: list[Paper],
    ) -> None:
        """Add each paper to `papers` as it arrives, until `last_page`, told each whole page,
        says stop; a failure midway leaves what came in `papers`."""
        page_start = 0
        for result in results:
            papers.append(to_paper(result))
            if len(papers) - page_start == page_size:
                if progress is not None:
                    progress(len(papers))
                if last_page(papers[page_start:]):
                    return
                page_start = len(papers)
        if progress is not None and len(papers) > page_start:
            progress(len(papers))


def _ignore(ok: bool) -> None:
    pass


def _newest_updates_first(topic: Topic, limit: int) -> arxiv.Search:
    return arxiv.Search(
        query=topic.query,
        max_results=limit,
        sort_by=arxiv.SortCriterion.LastUpdatedDate,
        sort_order=arxiv.SortOrder.Descending,
    )


def _updated_between(topic: Topic, start: datetime, end: datetime, limit: int) -> arxiv.Search:
    """The topic's papers last updated in [start, end); arXiv's range is whole minutes, GMT,
    both ends included."""
    last = end.astimezone(UTC) - timedelta(minutes=1)
    window = f"lastUpdatedDate:[{start.astimezone(UTC):%Y%m%d%H%M} TO {last:%Y%m%d%H%M}]"
    return arxiv.Search(
        query=f"({topic.query}) AND {window}",
        max_results=limit,
        sort_by=arxiv.SortCriterion.LastUpdatedDate,
        sort_order=arxiv.SortOrder.Descending,
    )


def _never(page: Sequence[Paper]) -> bool:
    return False


def split_versioned_id(short_id: str) -> tuple[str, int]:
    """'2412.01234v2' -> ('2412.01234', 2); an id without a version is version 1."""
    match = _VERSIONED_ID.match(short_id)
    if match is None:
        return short_id, 1
    return match["id"], int(match["version"])


def to_paper(result: arxiv.Result) -> Paper:
    """Our Paper from an arxiv.Result; nothing downstream sees the library's type."""
    paper_id, version = split_versioned_id(result.get_short_id())
    comment = _one_line(result.comment or "")
    journal_ref = _one_line(result.journal_ref or "")
    abstract = _one_line(result.summary)
    return Paper(
        id=paper_id,
        version=version,
        title=_one_line(result.title),
        abstract=abstract,
        authors=tuple(_one_line(a.name) for a in result.authors),
        published=result.published,
        updated=result.updated,
        categories=tuple(_one_line(c) for c in result.categories),
        primary_category=result.primary_category,
        comment=comment,
        journal_ref=journal_ref,
        doi=(result.doi or "").strip(),
        pdf_url=_pdf_url(result.pdf_url, paper_id, version),
        code_links=find_code_links(abstract, comment),
        venue=find_venue(comment, journal_ref),
    )


def _pdf_url(given: str | None, paper_id: str, version: int) -> str:
    if given:
        return re.sub(r"^http://", "https://", given)
    return f"https://arxiv.org/pdf/{paper_id}v{version}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
