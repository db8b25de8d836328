"""A paper's other arXiv pages: its HTML view (figures) and its OAI-PMH record (licence),
each fetched once per version through the arXiv gate every request takes.

A paper without a view (a 404, or arXiv's "HTML is not available" page) is remembered as
such for that version; a failed request leaves the paper pending, for the next cycle.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import requests

from feedsvc.config import Topic
from feedsvc.config.settings import DEFAULT_FULL_TEXT_TOKENS
from feedsvc.licences import allows_reuse, paper_licence
from feedsvc.models import Paper, PaperPages
from feedsvc.store import Store
from worker.arxiv_http import DeadlineSession, Gate, RequestRecorder
from worker.full_text import chosen_sections
from worker.oai import OaiError, parse_licences
from worker.paper_view import PaperView, parse_view
from worker.thumbnails import NoThumbnail, make_thumbnail

log = logging.getLogger(__name__)


class PagesUnavailable(Exception):
    """A paper's view or record could not be had now: the paper stays pending. `down`: arXiv
    did not answer or is overloaded (a connection error, a timeout, a 5xx or 429), so the
    others wait too; else the fault is this paper's (a cut-off or malformed answer)."""

    def __init__(self, reason: str, down: bool) -> None:
        super().__init__(reason)
        self.down = down


PENDING_PER_CYCLE = 200  # at 3 s a request, two a paper: 20 minutes of arXiv's time at most
LOCK_SECONDS = 120.0  # two requests, each within the arXiv timeout, and the gate's waits
MAX_ATTEMPTS = 5  # a paper whose pages fail this often is given up on: no figure, default licence


def _current(stored: PaperPages | None, version: int, full_text: bool) -> bool:
    """Whether the stored pages serve the paper's version: of that version and, for a
    full-text topic's paper with a view, holding its sections."""
    if stored is None or stored.version != version:
        return False
    return not full_text or bool(stored.sections) or not stored.has_view


class ArxivPages:
    """The HTML view and the OAI-PMH record of a paper, over HTTP."""

    def __init__(
        self, html_url: str, oai_url: str, timeout_seconds: float, record: RequestRecorder,
        gate: Gate,
    ) -> None:  # fmt: skip
        self.html_url = html_url
        self.oai_url = oai_url
        self.views = DeadlineSession(timeout_seconds, record, gate, ends_with=b"</html>")
        self.records = DeadlineSession(timeout_seconds, record, gate, ends_with=b"</oai-pmh>")
        self.images = DeadlineSession(timeout_seconds, record, gate, ends_with=b"")

    def image(self, url: str, paper_id: str) -> bytes:
        """A figure's image, at arXiv."""
        response = self._get(self.images, url, paper_id)
        _ok(response, paper_id, "figure image")
        return bytes(response.content)

    def view_url(self, paper: Paper) -> str:
        return f"{self.html_url}/{paper.versioned_id}"

    def view(self, paper: Paper) -> PaperView | None:
        """The view of the paper's latest version; None when arXiv has none."""
        url = self.view_url(paper)
        response = self._get(self.views, url, paper.id)
        if response.status_code == 404:
            return None
        _ok(response, paper.id, "HTML view")
        try:
            return parse_view(response.content, url)
        except Exception as exc:  # lxml on a page unlike any seen: this paper's fault
            raise PagesUnavailable(
                f"{paper.id}: HTML view unreadable: {exc!r}", down=False
            ) from None

    def licence_url(self, paper: Paper) -> str:
        """The licence its OAI-PMH record states ("" for none, or no record)."""
        params = {"verb": "GetRecord", "identifier": f"oai:arXiv.org:{paper.id}",
                  "metadataPrefix": "arXiv"}  # fmt: skip
        response = self._get(self.records, self.oai_url, paper.id, params)
        _ok(response, paper.id, "OAI-PMH record")
        try:
            return parse_licences(response.content).get(paper.id, "")
        except OaiError as exc:
            raise PagesUnavailable(f"{paper.id}: {exc}", down=False) from None

    @staticmethod
    def _get(
        session: DeadlineSession, url: str, paper_id: str, params: dict[str, str] | None = None
    ) -> requests.Response:
        try:
            return session.get(url, params=params)
        except requests.RequestException as exc:
            down = isinstance(exc, requests.ConnectionError | requests.Timeout)
            raise PagesUnavailable(f"{url}: {exc}", down) from None


def _ok(response: requests.Response, paper_id: str, what: str) -> None:
    if response.status_code != 200:
        status = response.status_code
        raise PagesUnavailable(f"{paper_id}: {what}: HTTP {status}", status >= 500 or status == 429)


class PagesFetcher:
    """Fetches the pages of the papers whose latest version has none yet."""

    def __init__(
        self, store: Store, source: ArxivPages, clock: Callable[[], datetime],
        stop: threading.Event, topics: Sequence[Topic] = (),
        full_text_tokens: int = DEFAULT_FULL_TEXT_TOKENS, thumbnail_limit: int = 0,
    ) -> None:  # fmt: skip
        self.store = store
        self.source = source
        self.clock = clock
        self.stop = stop
        self.full_text = [topic for topic in topics if topic.full_text]
        self.full_text_tokens = full_text_tokens
        self.thumbnail_limit = thumbnail_limit  # 0: no thumbnails, the images stay at arXiv

    def fetch_pending(self, limit: int = PENDING_PER_CYCLE) -> int:
        """Fetch the pages of up to `limit` pending papers; returns how many. When arXiv is
        down the round ends (the rest wait for the next cycle); a paper whose own answer was
        bad is tried again next cycle, and given up on after MAX_ATTEMPTS."""
        fetched = 0
        for paper_id in self.store.pages.pending(limit):
            if self.stop.is_set():
                break
            try:
                fetched += self._fetch(paper_id)
            except PagesUnavailable as exc:
                log.warning("pages of %s not fetched: %s; tried again next cycle", paper_id, exc)
                if exc.down:
                    break
                self._failed(paper_id)
        return fetched

    def _failed(self, paper_id: str) -> None:
        if self.store.pages.count_attempt(paper_id) < MAX_ATTEMPTS:
            return
        paper = self.store.papers.load_paper(paper_id)
        if paper is not None:
            log.warning("pages of %s given up after %d attempts", paper_id, MAX_ATTEMPTS)
            given_up = PaperPages(paper.version, False, (), 0, "", self.clock())
            self.store.pages.save_pages(paper_id, given_up, ())

    def _fetch(self, paper_id: str) -> int:
        """One paper's pages, unless another worker is fetching them (a lock per paper, which
        a worker that dies while holding it loses when the lock expires)."""
        token = uuid.uuid4().hex
        lock = f"pages:{paper_id}"
        if not self.store.coordination.acquire_lock(lock, token, LOCK_SECONDS):
            return 0
        try:
            return self._fetch_held(paper_id)
        finally:
            self.store.coordination.release_lock(lock, token)

    def _fetch_held(self, paper_id: str) -> int:
        paper = self.store.papers.load_paper(paper_id)
        stored = self.store.pages.load_pages(paper_id)
        topics, _ = self.store.enrichments.feed_place(paper_id)
        languages = self._full_text_languages(topics)
        if paper is None:
            self.store.pages.drop_pending(paper_id)
            return 0
        if stored is not None and _current(stored, paper.version, bool(languages)):
            # Stored, yet pending: a worker was killed before committing them. Commit now.
            read = "sections" if stored.sections else "abstract"
            requeue = self._read_otherwise(paper_id, languages, read)
            self.store.pages.commit_pages(paper_id, stored.version, sorted(topics), requeue)
            return 0
        view = self.source.view(paper)
        licence_url = self.source.licence_url(paper)
        figures = view.figures if view else ()
        sections = (
            chosen_sections(view.sections, self.full_text_tokens) if view and languages else ()
        )
        pages = PaperPages(paper.version, view is not None, figures[: PaperPages.KEPT_FIGURES],
                           len(figures), licence_url, self.clock(), sections,
                           self.source.view_url(paper) if view else "")  # fmt: skip
        requeue = self._read_otherwise(paper_id, languages, "sections" if sections else "abstract")
        self.store.pages.save_pages(paper_id, pages, sorted(topics), requeue)
        if self.thumbnail_limit and figures and allows_reuse(paper_licence(licence_url)):
            self._thumbnail(paper, figures[0].image_url, sorted(topics))
        log.info("paper=%s pages: view=%s figures=%d licence=%s", paper_id,
                 "yes" if view else "none", len(figures), licence_url or "default")  # fmt: skip
        return 1

    def _thumbnail(self, paper: Paper, image_url: str, topics: Sequence[str]) -> None:
        """Keep a thumbnail of the lead figure; without one, entries link arXiv's image (a
        failure here is logged, not retried: the figure is shown either way)."""
        try:
            png = make_thumbnail(self.source.image(image_url, paper.id))
        except (PagesUnavailable, NoThumbnail) as exc:
            log.warning("paper=%s no thumbnail of its lead figure: %s", paper.id, exc)
            return
        self.store.pages.save_thumbnail(paper.id, paper.version, png, topics,
                                        self.thumbnail_limit, self.clock().timestamp())  # fmt: skip

    def _full_text_languages(self, topics: Iterable[str]) -> list[str]:
        """The languages in which a full-text topic of the paper's shows it."""
        held = set(topics)
        found = (t.languages for t in self.full_text if t.slug in held)
        return sorted({language for languages in found for language in languages})

    def _read_otherwise(
        self, paper_id: str, languages: Sequence[str], read: str
    ) -> list[tuple[str, str]]:
        """The full-text enrichments made before the view was had (from the abstract while
        it was pending), to make again now that they can read what `read` says."""
        again = []
        for language in languages:
            (stamp,) = self.store.enrichments.enrichment_stamps([paper_id], language)
            if stamp is not None and stamp.method == "llm" and stamp.full_text != read:
                again.append((paper_id, language))
        return again
