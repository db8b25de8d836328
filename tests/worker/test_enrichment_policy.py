"""Never lose a paper, never pay twice: attempts, backoff, limits, budget, re-enrichment."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from feedsvc.web.i18n import words_for
from tests.conftest import Clock, settings_env
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.cli import main as worker_main
from worker.enrich import ExtractiveEnricher, LLMEnricher, build_llm_client
from worker.limits import RateLimiter
from worker.outcome import CycleReport, EnrichPolicy

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"


def make_runner(
    settings: Settings, store: Store, clock: Clock, policy: EnrichPolicy, model: str = "test-model"
) -> Worker:
    topics = [t for t in load_topics(settings.topics_file) if t.slug == "testing"]
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)

    def record(model: str, tokens_in: int, tokens_out: int, outcome: str) -> None:
        store.accounting.record_llm_call(model, tokens_in, tokens_out, outcome, clock())

    enricher = LLMEnricher(build_llm_client(settings), model, record_call=record)
    return assemble(topics, store, source, enricher, "consumer-1", clock, policy)


@pytest.fixture
def listing(arxiv_replay: ArxivReplay) -> list[str]:
    arxiv_replay.listing = fixture_entries(LISTING)
    return [str(e.find("{http://www.w3.org/2005/Atom}id").text) for e in arxiv_replay.listing]


def test_an_item_that_keeps_failing_is_marked_failed_then_requeued(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    runner = make_runner(settings, store, clock, EnrichPolicy(max_attempts=2))
    llm.script = ["500"]
    runner.scheduler.run_once()
    failing = llm.calls[0]
    clock.now += timedelta(hours=1)
    llm.script = ["500"]
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.failures == [f"paper {failing.arxiv_id} (zh): HTTP 500 from the LLM; gave up"]
    assert store.failures.failed_items() == {f"{failing.arxiv_id}|zh": "HTTP 500 from the LLM"}
    assert store.queue.retry_count() == 0

    clock.now += timedelta(days=1)
    calls = len(llm.calls)
    runner.scheduler.run_once()
    assert len(llm.calls) == calls, "a failed item is not retried by itself"

    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert worker_main(["retry-failed"]) == 0
    runner.dispatcher.enrich_due(CycleReport())
    assert len(llm.calls) == calls + 1
    assert store.failures.failed_items() == {}
    assert store.enrichments.load_enrichment(failing.arxiv_id, "zh") is not None


def test_a_failed_paper_is_published_after_the_grace_period_with_a_note(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    runner = make_runner(settings, store, clock, EnrichPolicy(max_attempts=1))
    llm.script = ["400"]
    runner.scheduler.run_once()
    failed_id = llm.calls[0].arxiv_id
    client = create_app(replace(settings, publish_grace_seconds=0), store).test_client()
    feed = feedparser.parse(client.get("/feeds/testing.atom").data)
    entry = next(e for e in feed.entries if e.link.endswith(failed_id))
    failed_note = words_for("zh").gettext(
        "No summary: summarising this paper failed. The abstract follows."
    )
    assert "No summary" not in failed_note and failed_note in entry.content[0].value
    others = [e for e in feed.entries if not e.link.endswith(failed_id)]
    assert len(others) == 9 and all("这篇论文研究了" in e.content[0].value for e in others)


def test_retry_after_is_honoured_and_survives_a_restart(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    llm.retry_after = "7200"
    llm.script = ["429"]
    make_runner(settings, store, clock, EnrichPolicy()).scheduler.run_once()
    failing = llm.calls[0].arxiv_id
    assert store.queue.attempts(failing, "zh") == 1

    restarted = make_runner(settings, store, clock, EnrichPolicy())
    calls = len(llm.calls)
    clock.now += timedelta(minutes=119)
    restarted.dispatcher.enrich_due(CycleReport())
    assert len(llm.calls) == calls, "Retry-After: 7200 is not over yet"
    clock.now += timedelta(minutes=2)
    report = CycleReport()
    restarted.dispatcher.enrich_due(report)
    assert report.enriched == 1 and llm.calls[-1].arxiv_id == failing


def test_concurrency_is_capped(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    llm.latency_seconds = 0.1
    report = make_runner(settings, store, clock, EnrichPolicy(concurrency=4)).scheduler.run_once()
    assert report.enriched == 20
    assert llm.max_in_flight == 4


class FastForward(threading.Event):
    """A stop event whose waits move a fake wall clock forward instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_800_000_000.0
        self.waited: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.append(timeout or 0.0)
        self.now += timeout or 0.0
        return self.is_set()


def test_rate_limits_are_shared_across_workers(store: Store) -> None:
    stop = FastForward()
    first = RateLimiter(store.coordination, 5, 0, stop, clock=lambda: stop.now)
    second = RateLimiter(store.coordination, 5, 0, stop, clock=lambda: stop.now)
    for limiter in (first, second, first, second, first):
        assert limiter.acquire(100)
    assert stop.waited == []
    assert second.acquire(100)
    assert len(stop.waited) == 1 and 0 < stop.waited[0] <= 60


def test_token_limit_per_minute(store: Store) -> None:
    stop = FastForward()
    limiter = RateLimiter(store.coordination, 0, 1000, stop, clock=lambda: stop.now)
    assert limiter.acquire(600)
    assert limiter.acquire(600)
    assert len(stop.waited) == 1, "600 + 600 tokens do not fit in one minute of 1000"
    assert limiter.acquire(5000), "a call larger than the limit still goes, alone in its minute"
    stop.set()
    assert not limiter.acquire(10), "a stopped worker stops waiting"


def test_the_daily_budget_pauses_until_the_next_utc_day(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    runner = make_runner(settings, store, clock, EnrichPolicy(daily_token_budget=1000))
    report = runner.scheduler.run_once()
    assert report.budget_reached and report.enriched == 3  # 420 tokens a call
    assert store.queue.queue_length() == 17
    clock.now += timedelta(hours=11)
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.enriched == 0 and report.budget_reached
    clock.now += timedelta(hours=1)  # past midnight UTC
    runner.dispatcher.enrich_due(report := CycleReport())
    assert report.enriched == 3


def test_a_new_model_re_enriches_newest_first_keeping_the_old_result(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    make_runner(settings, store, clock, EnrichPolicy()).scheduler.run_once()
    assert len(llm.calls) == 20
    newer = make_runner(settings, store, clock, EnrichPolicy(), model="newer-model")
    assert newer.intake.queue_outdated(newer.topics) == 20
    ids = store.topics.paper_ids("testing")
    assert store.enrichments.load_enrichment(ids[0], "zh").model == "test-model"  # type: ignore[union-attr]
    newer.dispatcher.enrich_due(CycleReport())
    assert [c.model for c in llm.calls[20:]] == ["newer-model"] * 20
    assert [c.arxiv_id for c in llm.calls[20:30]] == ids, "newest first"
    assert newer.intake.queue_outdated(newer.topics) == 0
    offline = assemble(newer.topics, store, newer.fetcher.source, ExtractiveEnricher(), "c2", clock)
    assert offline.intake.queue_outdated(offline.topics) == 0, (
        "an offline enricher never replaces a model's work"
    )


def test_results_an_older_worker_stored_after_the_check_are_queued_a_day_later(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    """An upgrade: the new worker checks at once, while the old one, stopping, still stores
    the results of the work it had in hand."""
    older = make_runner(settings, store, clock, EnrichPolicy())
    newer = make_runner(settings, store, clock, EnrichPolicy(), model="newer-model")
    assert newer.intake.queue_outdated(newer.topics) == 0, "nothing stored yet"
    older.fetcher.fetch_all(CycleReport())
    older.dispatcher.enrich_due(CycleReport())  # 10 papers, 2 languages, by the older model
    clock.now += timedelta(hours=6)
    assert newer.intake.queue_outdated(newer.topics) == 0, "checked today already"
    clock.now += timedelta(hours=19)
    assert newer.intake.queue_outdated(newer.topics) == 20, "the daily check finds them"
    assert newer.intake.queue_outdated(newer.topics) == 0


def test_stats_shows_state_calls_tokens_and_cost(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    runner = make_runner(settings, store, clock, EnrichPolicy(max_attempts=1))
    llm.script = ["400"]
    clock.now = datetime.now(UTC)
    runner.scheduler.run_once()
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FEEDSVC_LLM_PRICES", "test-model=1:2")
    capsys.readouterr()
    assert worker_main(["stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    testing = next(t for t in stats["topics"] if t["slug"] == "testing")
    assert testing["papers"] == 10
    assert testing["languages"]["zh"] == {"enriched": 9, "pending": 0, "failed": 1}
    assert testing["languages"]["en"] == {"enriched": 10, "pending": 0, "failed": 0}
    assert stats["failed_by_reason"] == {"HTTP 400 from the LLM": 1}
    usage = stats["llm"]["today"]["models"]["test-model"]
    assert usage == {"calls": 20, "tokens_in": 5700, "tokens_out": 2280, "cost_usd": 0.0103}
    assert stats["llm"]["today"]["outcomes"] == {"ok": 19, "call": 1}

    assert worker_main(["stats"]) == 0
    table = capsys.readouterr().out
    assert "testing" in table and "failed: 1 × HTTP 400 from the LLM" in table
    assert "test-model: 20 calls, 5700 tokens in, 2280 out, ≈ $0.0103" in table
