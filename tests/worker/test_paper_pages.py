"""Each new paper version's HTML view and licence, fetched once through the arXiv gate: a
missing view remembered, a failed request tried again next cycle, the spacing kept across
the API, the views and OAI-PMH with three workers."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace

import pytest

from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.conftest import Clock
from tests.servers import ArxivReplay, fixture_entries
from tests.servers.arxiv import entry_id, revise_entry
from tests.worker.test_paper_view import PAGE
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.coordination import ArxivGate
from worker.enrich import ExtractiveEnricher
from worker.paper_pages import ArxivPages
from worker.paper_view import parse_view

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
CC_BY = "http://creativecommons.org/licenses/by/4.0/"


def runner(settings: Settings, store: Store, clock: Clock, spacing: float = 0) -> Worker:
    topics = [t for t in load_topics(settings.topics_file) if t.slug == "testing"]
    gate = ArxivGate(store.coordination, spacing, longest_request_seconds=5).turn
    source = ArxivSource(settings.arxiv_api_url, spacing, 5, num_retries=0, gate=gate)
    pages = ArxivPages(settings.arxiv_html_url, settings.arxiv_oai_url, 5,
                       store.accounting.count_arxiv_page_request, gate)  # fmt: skip
    return assemble(topics, store, source, ExtractiveEnricher(), "test", clock, pages=pages)


@pytest.fixture
def listing(arxiv_replay: ArxivReplay) -> list[str]:
    arxiv_replay.listing = fixture_entries(LISTING)
    ids = [entry_id(entry) for entry in arxiv_replay.listing]
    arxiv_replay.views[f"{ids[0]}v1"] = PAGE.read_bytes()
    arxiv_replay.licences[ids[0]] = CC_BY
    arxiv_replay.licences[ids[1]] = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    return ids


def test_every_new_paper_gets_its_view_and_licence_once(
    settings: Settings, store: Store, clock: Clock, arxiv_replay: ArxivReplay, listing: list[str]
) -> None:
    worker = runner(settings, store, clock)
    worker.scheduler.run_once()
    assert len(arxiv_replay.page_requests) == 20, "one view and one record per paper"
    first = store.pages.load_pages(listing[0])
    assert first is not None and first.has_view and first.licence_url == CC_BY
    assert first.figure_count == 36 and len(first.figures) == 3
    assert first.figures[0].image_url == f"{arxiv_replay.html_url}/2501.11120v1/x1.png"
    assert first.figures[0].caption.startswith("Models can describe a learned behavioral")
    other = store.pages.load_pages(listing[2])
    assert other is not None and not other.has_view and other.licence_url == ""
    assert store.pages.pending_count() == 0

    worker.scheduler.run_once()
    assert len(arxiv_replay.page_requests) == 20, "a missing view is not asked for again"
    counts = store.accounting.arxiv_request_counts()
    assert counts["pages_ok"] == 20 - 9 and counts["pages_error"] == 9  # the views' 404s


def test_a_new_version_is_asked_again(
    settings: Settings, store: Store, clock: Clock, arxiv_replay: ArxivReplay, listing: list[str]
) -> None:
    worker = runner(settings, store, clock)
    worker.scheduler.run_once()
    revised = revise_entry(arxiv_replay.listing[2], "2026-11-21T10:00:00Z")
    arxiv_replay.listing = [revised, *arxiv_replay.listing]
    version = int(revised.find("{http://www.w3.org/2005/Atom}id").text.rsplit("v", 1)[1])
    arxiv_replay.views[f"{listing[2]}v{version}"] = PAGE.read_bytes()
    clock.now = clock.now.replace(day=22)
    worker.scheduler.run_once()
    pages = store.pages.load_pages(listing[2])
    assert pages is not None and pages.version == version and pages.has_view


def test_a_failed_request_leaves_the_paper_pending_and_loses_nothing(
    settings: Settings, store: Store, clock: Clock, arxiv_replay: ArxivReplay, listing: list[str]
) -> None:
    arxiv_replay.page_failure = (503, b"Retry later")
    worker = runner(settings, store, clock)
    report = worker.scheduler.run_once()
    assert report.new == 10 and report.enriched == 20, "enrichment goes on"
    assert len(arxiv_replay.page_requests) == 1, "the first failure ends the round"
    assert store.pages.pending_count() == 10
    arxiv_replay.page_failure = None
    worker.scheduler.run_once()
    assert store.pages.pending_count() == 0 and store.pages.load_pages(listing[0]) is not None


def test_pages_stored_by_a_worker_killed_before_committing_them_are_committed_unasked(
    settings: Settings, store: Store, clock: Clock, arxiv_replay: ArxivReplay, listing: list[str]
) -> None:
    worker = runner(settings, store, clock)
    worker.scheduler.run_once()
    stored = store.pages.load_pages(listing[0])
    assert stored is not None
    store.pages.fetch_again(listing[0])  # as if killed between storing and committing them
    store.pages.count_attempt(listing[0])
    version = store.feeds.feed_version("testing", "en")
    requests = len(arxiv_replay.page_requests)
    worker.scheduler.run_once()
    assert len(arxiv_replay.page_requests) == requests, "the stored pages are not asked again"
    assert store.pages.pending_count() == 0
    assert store.pages.count_attempt(listing[0]) == 1, "the failed attempts were cleared"
    assert store.feeds.feed_version("testing", "en") != version, "its feeds moved"
    assert store.pages.load_pages(listing[0]) == stored


def test_a_truncated_view_is_refused(
    settings: Settings, store: Store, clock: Clock, arxiv_replay: ArxivReplay, listing: list[str]
) -> None:
    arxiv_replay.views[f"{listing[0]}v1"] = PAGE.read_bytes()[:20000]
    runner(settings, store, clock).scheduler.run_once()
    assert store.pages.load_pages(listing[0]) is None
    assert store.pages.pending(100) == [listing[0]], "the others are fetched; it waits"
    pages = runner(settings, store, clock).scheduler.pages
    assert pages is not None
    for _ in range(4):  # five failures in all
        pages.fetch_pending()
    given_up = store.pages.load_pages(listing[0])
    assert given_up is not None and not given_up.has_view and store.pages.pending_count() == 0


def test_three_workers_keep_the_spacing_across_the_api_views_and_records(
    settings: Settings, store: Store, clock: Clock, arxiv_replay: ArxivReplay, listing: list[str]
) -> None:
    spacing = 0.15
    workers = [runner(settings, store, clock, spacing) for _ in range(3)]
    threads = [threading.Thread(target=w.scheduler.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    times = sorted(
        [r.at for r in arxiv_replay.requests] + [r.at for r in arxiv_replay.page_requests]
    )
    assert len(arxiv_replay.page_requests) == 20 and arxiv_replay.requests, "each paper once"
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= spacing * 0.95, "one arXiv request at a time, spaced, across all three"


def test_the_recorded_view_parses_the_same_through_the_replay(arxiv_replay: ArxivReplay) -> None:
    view = parse_view(PAGE.read_bytes(), f"{arxiv_replay.html_url}/2501.11120v1")
    assert view is not None and replace(view.figures[0], image_url="").number == "1"
