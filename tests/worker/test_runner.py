"""The worker loop against real Redis, replayed arXiv and the local LLM server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.config import Settings, load_topics
from feedsvc.keys import Keys
from feedsvc.store import Db, Store
from tests.conftest import Clock
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.enrich import ExtractiveEnricher, LLMEnricher, build_llm_client
from worker.outcome import CycleReport

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"


@pytest.fixture
def runner(settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock) -> Worker:
    arxiv_replay.listing = fixture_entries(LISTING)
    topics = [t for t in load_topics(settings.topics_file) if t.slug == "testing"]
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model)
    return assemble(topics, store, source, enricher, "test-consumer", clock)


def test_a_failed_llm_call_keeps_the_paper_and_retries_later(
    runner: Worker, store: Store, llm: FakeLLM, clock: Clock
) -> None:
    llm.script = ["500"]
    report = runner.scheduler.run_once()
    assert report.new == 10 and report.enriched == 19
    (failure,) = report.failures
    failed_id = llm.calls[0].arxiv_id
    assert failed_id in failure and "HTTP 500" in failure
    assert store.papers.load_paper(failed_id) is not None
    assert store.queue.attempts(failed_id, "zh") == 1 and store.queue.retry_count() == 1

    calls = len(llm.calls)
    runner.dispatcher.enrich_due(CycleReport())
    assert len(llm.calls) == calls, "not due yet"

    clock.now += timedelta(hours=1)
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.enriched == 1 and len(llm.calls) == calls + 1
    assert store.enrichments.load_enrichment(failed_id, "zh") is not None
    assert store.queue.attempts(failed_id, "zh") == 0 and store.queue.retry_count() == 0


def test_running_twice_makes_no_second_llm_call(runner: Worker, llm: FakeLLM) -> None:
    runner.scheduler.run_once()
    assert len(llm.calls) == 20
    report = runner.scheduler.run_once()
    assert report.new == report.enriched == 0 and len(llm.calls) == 20


def test_unenriched_papers_wait_for_the_grace_period(
    runner: Worker, store: Store, llm: FakeLLM, settings: Settings, clock: Clock
) -> None:
    llm.script = ["500"] * 20
    runner.scheduler.run_once()
    topic = runner.topics[0]
    now = datetime.now(UTC)
    hidden = store.feeds.feed_page(topic, "zh", 1, 50, settings.publish_grace_seconds, now)
    assert hidden.items == [] and hidden.next_visible_at is not None
    later = hidden.next_visible_at + timedelta(seconds=1)
    items = store.feeds.feed_page(topic, "zh", 1, 50, settings.publish_grace_seconds, later).items
    assert len(items) == 10 and all(item.enrichment is None for item in items)


def test_a_failed_fetch_stores_nothing_and_records_the_error(
    runner: Worker, store: Store, arxiv_replay: ArxivReplay
) -> None:
    arxiv_replay.raw = (503, b"service unavailable")
    report = runner.scheduler.run_once()
    assert "HTTP 503" in report.failures[0]
    status = store.topics.statuses(runner.topics)["testing"]
    assert status.paper_count == 0 and "HTTP 503" in status.last_error
    assert status.last_fetched is None


def test_stop_finishes_the_paper_in_hand(runner: Worker, llm: FakeLLM) -> None:
    llm.latency_seconds = 0.2
    runner.fetcher.fetch_all(CycleReport())
    thread = threading.Thread(target=runner.dispatcher.enrich_due, args=(CycleReport(),))
    thread.start()
    while not llm.calls:
        threading.Event().wait(0.01)
    runner.stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(llm.calls) == 1
    paper_id = llm.calls[0].arxiv_id
    assert runner.store.enrichments.load_enrichment(paper_id, "zh") is not None


def test_run_forever_waits_out_a_redis_outage(
    settings: Settings, arxiv_replay: ArxivReplay, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    dead = Store(Db.from_url("redis://127.0.0.1:9/0"), Keys("x"))
    topics = load_topics(settings.topics_file)
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    runner = assemble(topics, dead, source, ExtractiveEnricher(), "c", clock)
    thread = threading.Thread(target=runner.scheduler.run_forever, args=(3600,))
    thread.start()
    threading.Event().wait(0.5)
    runner.stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert "redis unavailable" in caplog.text


def test_a_rejected_answer_is_asked_again_at_once_within_the_attempts(
    runner: Worker, store: Store, llm: FakeLLM
) -> None:
    llm.script = ["chatter"] * 4  # the first two items: the answer and its correction rejected
    report = runner.scheduler.run_once()
    assert report.enriched == 20 and report.final == [], "enriched within the same run"
    assert report.retrying == 2 and store.queue.retry_count() == 0
    rejected = llm.calls[0]
    assert len(llm.calls_for(rejected.arxiv_id)) == 4 + 2, "4 rejected, then 2 good answers"
    assert store.queue.attempts(rejected.arxiv_id, "zh") == 0, "cleared once enriched"
