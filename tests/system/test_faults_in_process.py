"""Faults met inside one process: each arXiv failure, dead letters, the fetch lock, the gate.

The faults injected into real worker processes and a real Redis are in test_faults.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.conftest import Clock
from tests.servers import ATOM, ArxivReplay, fixture_entries
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.coordination import ArxivGate, held_lock
from worker.enrich import ExtractiveEnricher
from worker.outcome import CycleReport, EnrichPolicy

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ("503", "HTTP 503"),
        ("truncated", "truncated response"),
        ("slow", "no answer from"),
        ("empty_later_page", "empty page"),
        ("unreachable", "cannot connect"),
    ],
)
def test_arxiv_failures_fail_cleanly_and_are_retried_next_cycle(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock,
    failure: str, reason: str,
) -> None:  # fmt: skip
    entries = fixture_entries(LISTING)
    arxiv_replay.listing = entries[:5]
    testing = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    topic = replace(testing, max_results=5)  # pages of 5: the new papers fill page 1
    source = ArxivSource(settings.arxiv_api_url, 0, 1, num_retries=0)
    runner = assemble([topic], store, source, ExtractiveEnricher(), "c", clock)
    runner.scheduler.run_once()
    assert store.topics.paper_count("testing") == 5

    for n, entry in enumerate(entries[5:]):  # announced since the first fetch
        entry.find(f"{ATOM}updated").text = f"2026-11-20T{20 - n:02d}:00:00Z"
    arxiv_replay.listing = entries[5:] + entries[:5]  # 5 new papers on top of the stored ones
    clock.now += timedelta(hours=1)
    healthy = _inject(failure, arxiv_replay, runner)
    report = CycleReport()
    runner.fetcher.fetch_all(report)
    assert reason in report.failures[0]
    assert store.topics.paper_count("testing") == 5, "nothing stored from a failed fetch"
    status = store.topics.statuses([topic])["testing"]
    assert reason in status.last_error and status.failing

    arxiv_replay.respond = healthy  # type: ignore[method-assign]
    runner.fetcher.source = source
    runner.fetcher.fetch_all(report := CycleReport())
    assert not report.failures and store.topics.paper_count("testing") == 10
    assert not store.topics.statuses([topic])["testing"].failing


def _inject(failure: str, replay: ArxivReplay, runner: Worker) -> Any:
    """Make the next fetch meet `failure`; the healthy responder, to put back afterwards."""
    healthy = replay.respond
    broken = _break(replay, failure)
    if failure == "unreachable":
        runner.fetcher.source = ArxivSource("http://127.0.0.1:9/api/query", 0, 1, num_retries=0)
    else:
        replay.respond = broken  # type: ignore[method-assign]
    return healthy


def _break(replay: ArxivReplay, failure: str) -> Any:
    healthy = replay.respond

    def respond(params: dict[str, str]) -> tuple[int, bytes]:
        if failure == "503":
            return 503, b"Service Unavailable"
        if failure == "slow":
            time.sleep(1.5)
        status, body = healthy(params)
        if failure == "truncated":
            return status, body[: len(body) // 2]
        if failure == "empty_later_page" and params["start"] != "0":
            return 200, replay.page(1000, 5)
        return status, body

    return respond


def test_items_that_keep_failing_their_worker_become_dead_letters(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)[:1]
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    store.papers.save_papers(topic, [])
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    policy = EnrichPolicy(claim_idle_seconds=0.001, max_deliveries=2)
    runner = assemble([topic], store, source, ExtractiveEnricher(), "survivor", clock, policy)
    runner.fetcher.fetch_all(CycleReport())
    doomed = store.queue.take("crashed-1", 10)  # taken, then the worker "dies"
    assert len(doomed) == 2
    time.sleep(0.01)
    assert len(store.queue.claim_stale("crashed-2", 0.001, 10, 2)) == 2  # second delivery
    time.sleep(0.01)
    runner.dispatcher.enrich_due(report := CycleReport())  # third delivery: too many
    assert report.enriched == 0
    assert sorted(store.queue.dead_letters().values()) == [3, 3]
    assert store.failures.requeue_failed() == 2
    runner.dispatcher.enrich_due(report := CycleReport())
    assert report.enriched == 2 and store.queue.dead_letters() == {}


def test_one_process_fetches_a_topic_at_a_time(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    runner = assemble([topic], store, source, ExtractiveEnricher(), "b", clock)
    with held_lock(store.coordination, "fetch:testing", ttl_seconds=0.3) as mine:
        assert mine
        time.sleep(0.5)  # longer than the lock's expiry: it is renewed while held
        runner.fetcher.fetch_all(CycleReport())
        assert arxiv_replay.requests == []
    runner.fetcher.fetch_all(CycleReport())
    assert len(arxiv_replay.requests) == 1


def test_a_stuck_holder_loses_its_lock_after_the_longest_hold(store: Store) -> None:
    with held_lock(store.coordination, "fetch:x", ttl_seconds=0.3, max_hold_seconds=0.6) as mine:
        assert mine
        time.sleep(0.4)  # renewed past its first expiry
        assert not store.coordination.acquire_lock("fetch:x", "other", 1)
        time.sleep(0.6)  # stuck past the longest hold: no longer renewed, expired
        assert store.coordination.acquire_lock("fetch:x", "other", 1)


def test_the_arxiv_gate_spaces_requests_across_threads(store: Store) -> None:
    gate = ArxivGate(store.coordination, spacing_seconds=0.5, longest_request_seconds=2)
    entered: list[float] = []

    def request() -> None:
        with gate.turn():
            entered.append(time.monotonic())
            time.sleep(0.05)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gaps = [b - a for a, b in itertools.pairwise(sorted(entered))]
    assert len(gaps) == 3 and min(gaps) >= 0.5
