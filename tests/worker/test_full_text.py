"""A `full_text` topic: its papers are summarised from their HTML view's own sections, within
the token budget, in the same one call per paper and language, which also returns the
method, the results and the limitations, validated and checked against the full text; a
paper without a view is summarised from its abstract and says so."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest

from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.conftest import Clock
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from tests.servers.arxiv import entry_id
from tests.worker.test_paper_view import PAGE
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.enrich import LLMEnricher, build_llm_client
from worker.full_text import CHARS_PER_TOKEN, chosen_sections
from worker.outcome import CycleReport
from worker.paper_pages import ArxivPages
from worker.paper_view import parse_view
from worker.stats import collect_stats, format_stats

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
BUDGET = 1500


@pytest.fixture
def topics_file(tmp_path: Path, topics_file: Path) -> Path:
    text = topics_file.read_text().replace(
        "max_results = 10\n", "max_results = 10\nfull_text = true\n", 1
    )
    path = tmp_path / "full_text.toml"
    path.write_text(text)
    return path


@pytest.fixture
def listing(arxiv_replay: ArxivReplay) -> list[str]:
    arxiv_replay.listing = fixture_entries(LISTING)
    ids = [entry_id(entry) for entry in arxiv_replay.listing]
    arxiv_replay.views[f"{ids[0]}v1"] = PAGE.read_bytes()
    return ids


def runner(
    settings: Settings,
    store: Store,
    clock: Clock,
    pages: bool = True,
    slugs: tuple[str, ...] = ("testing",),
) -> Worker:
    topics = [t for t in load_topics(settings.topics_file) if t.slug in slugs]
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)

    def record(model: str, tokens_in: int, tokens_out: int, outcome: str) -> None:
        store.accounting.record_llm_call(model, tokens_in, tokens_out, outcome, clock.now)

    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model, record_call=record)
    views = ArxivPages(settings.arxiv_html_url, settings.arxiv_oai_url, 5, lambda ok: None,
                       nullcontext) if pages else None  # fmt: skip
    return assemble(topics, store, source, enricher, "test", clock, pages=views,
                    full_text_tokens=BUDGET)  # fmt: skip


def test_one_call_reads_the_sections_within_the_budget(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    report = runner(settings, store, clock).scheduler.run_once()
    assert report.enriched == 20 and len(llm.calls) == 20, "1.00 call per paper-language"
    pages = store.pages.load_pages(listing[0])
    assert pages is not None and pages.sections
    assert sum(len(s.text) for s in pages.sections) <= BUDGET * CHARS_PER_TOKEN
    assert "Acknowledgments" not in [s.title for s in pages.sections]
    for language, word in (("en", "section Conclusion"), ("zh", "「Conclusion」")):
        read = store.enrichments.load_enrichment(listing[0], language)
        assert read is not None and read.full_text == "sections"
        assert read.approach and read.limitations and word in read.results
    unread = store.enrichments.load_enrichment(listing[1], "en")
    assert unread is not None and unread.full_text == "abstract" and not unread.results
    runner(settings, store, clock).scheduler.run_once()
    assert len(llm.calls) == 20, "nothing asked twice"
    usage = store.accounting.llm_usage().models
    assert usage["test-model+full-text"].calls == 2 and usage["test-model"].calls == 18
    report = collect_stats(store, load_topics(settings.topics_file), settings, clock.now)
    assert report["full_text"] == {
        "topics": ["testing"],
        "budget_tokens": settings.full_text_tokens,
    }
    assert "full text: testing, at most" in format_stats(report)
    assert [(w["name"], w["live"]) for w in report["workers"]] == [("test", True)]
    assert "workers: 1 live of 1 known\n  test: 0 in hand" in format_stats(report)


def test_a_full_text_paper_waits_for_its_view_without_an_attempt(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str],
    arxiv_replay: ArxivReplay,
) -> None:  # fmt: skip
    arxiv_replay.page_failure = (503, b"busy")  # the views cannot be had for now
    runner(settings, store, clock).scheduler.run_once()
    assert len(llm.calls) == 0 and store.queue.retry_count() == 20
    assert store.queue.attempts(listing[0], "en") == 0
    arxiv_replay.page_failure = None
    clock.now += timedelta(minutes=5)
    runner(settings, store, clock).scheduler.run_once()
    assert len(llm.calls) == 20
    read = store.enrichments.load_enrichment(listing[0], "en")
    assert read is not None and read.full_text == "sections"


def test_without_a_fetcher_of_pages_nothing_waits(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    runner(settings, store, clock, pages=False).scheduler.run_once()
    assert len(llm.calls) == 20, "FEEDSVC_PAPER_PAGES=0: summarised from the abstract at once"
    read = store.enrichments.load_enrichment(listing[0], "en")
    assert read is not None and read.full_text == "abstract"


def test_a_view_fetched_before_a_full_text_topic_took_the_paper_is_fetched_again(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str],
    arxiv_replay: ArxivReplay,
) -> None:  # fmt: skip
    topics = {topic.slug: topic for topic in load_topics(settings.topics_file)}
    shared = next(p for p in runner(settings, store, clock).fetcher.source.fetch_new(
        topics["testing"], lambda ids: {}, 10) if p.id == listing[0])  # fmt: skip
    store.papers.save_papers(topics["also"], [shared])
    both = runner(settings, store, clock, slugs=("testing", "also"))
    assert both.scheduler.pages is not None and both.scheduler.pages.fetch_pending() == 1
    kept = store.pages.load_pages(shared.id)
    assert kept is not None and kept.has_view and not kept.sections, "no full-text topic yet"
    store.papers.save_papers(topics["testing"], [shared])
    both.dispatcher.enrich_due(CycleReport())
    assert not [c for c in llm.calls if c.arxiv_id == shared.id and c.language != "Japanese"]
    clock.now += timedelta(minutes=5)
    both.scheduler.run_once()
    read = store.enrichments.load_enrichment(shared.id, "zh")
    assert read is not None and read.full_text == "sections", "its view was fetched again"


def test_the_budget_shares_the_papers_own_sections() -> None:
    view = parse_view(PAGE.read_bytes(), "https://arxiv.org/html/2501.11120v1")
    assert view is not None
    chosen = chosen_sections(view.sections, 1000)
    titles = [section.title for section in chosen]
    assert titles[0] == "Introduction" and titles[-1] == "Conclusion"
    assert "Related work" not in titles and "Acknowledgments" not in titles
    assert sum(len(section.text) for section in chosen) <= 1000 * CHARS_PER_TOKEN
    assert all(section.text.rstrip().endswith((".", "?", "!", ":")) for section in chosen)
