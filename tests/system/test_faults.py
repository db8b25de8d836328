"""Nothing lost, nothing twice: faults injected into real processes, Redis and the replays."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import redis

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.keys import Keys
from feedsvc.process.launcher import stop_process
from feedsvc.process.localredis import free_port, start_private_redis
from feedsvc.store import Db, Store
from tests.conftest import Clock, settings_env
from tests.servers import ArxivReplay, FakeLLM, entry_id, fixture_entries
from worker.arxiv_source import ArxivSource
from worker.assembly import assemble
from worker.coordination import ArxivGate, held_lock
from worker.enrich import ExtractiveEnricher
from worker.outcome import CycleReport, EnrichPolicy

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
LANGUAGES = {"testing": ("zh", "en"), "also": ("en", "ja")}
LANGUAGE_NAMES = {"Simplified Chinese": "zh", "English": "en", "Japanese": "ja"}


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "OPENAI_"))}
    env.update(settings_env(settings), PYTHONUNBUFFERED="1", FEEDSVC_LLM_CONCURRENCY="2",
               FEEDSVC_CLAIM_IDLE_SECONDS="1", FEEDSVC_FETCH_INTERVAL_SECONDS="60",
               FEEDSVC_LLM_RETRY_BASE_SECONDS="1", **extra)  # fmt: skip
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "worker", "run"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    stop_process(process, timeout_seconds=30)


def all_enriched(store: Store, ids: list[str]) -> bool:
    return all(
        store.papers.load_enrichment(paper_id, language) is not None
        for slug, languages in LANGUAGES.items()
        for paper_id in ids
        for language in languages
    )


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except redis.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def check_recovered(settings: Settings, store: Store, llm: FakeLLM, ids: list[str]) -> None:
    """Every paper once per topic, enriched in every language, no duplicate, calls bounded."""
    for slug, languages in LANGUAGES.items():
        assert sorted(store.topics.paper_ids(slug)) == sorted(ids)
        client = create_app(settings, store).test_client()
        for language in languages:
            feed = feedparser.parse(client.get(f"/feeds/{slug}.{language}.atom").data)
            assert not feed.bozo
            entry_ids = [e.id for e in feed.entries]
            assert len(entry_ids) == len(set(entry_ids)) == len(ids)
            assert all("Summary pending" not in e.content[0].value for e in feed.entries)
    calls = Counter((c.arxiv_id, LANGUAGE_NAMES[c.language]) for c in llm.calls)
    failed = Counter((c.arxiv_id, LANGUAGE_NAMES[c.language]) for c in llm.calls
                     if c.outcome != "ok")  # fmt: skip
    for key, count in calls.items():
        assert count <= 1 + failed[key] + 1, (key, count)  # +1: a call cut short by SIGKILL


def test_a_worker_killed_mid_call_loses_nothing(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, llm: FakeLLM, tmp_path: Path
) -> None:
    entries = fixture_entries(LISTING)
    arxiv_replay.listing = entries
    ids = [entry_id(e) for e in entries]
    llm.latency_seconds = 0.3
    rng_script = ["500", "ok", "429", "ok", "ok", "broken_json", "ok", "timeout", "ok", "ok"]
    llm.script = rng_script * 3  # 30% of the first thirty calls fail
    llm.timeout_seconds = settings.llm_timeout_seconds + 0.5
    env = worker_env(settings, FEEDSVC_SHUTDOWN_SECONDS="5")
    log = tmp_path / "workers.log"
    first = start_worker(env, log)
    wait_for(lambda: len(llm.calls) >= 3, 30, "the first worker's calls")
    first.kill()  # SIGKILL mid-call: its pending items must be claimed by the next worker
    first.wait()
    second = start_worker(env, log)
    try:
        wait_for(lambda: all_enriched(store, ids), 120, "every paper enriched")
    finally:
        stop(second)
    assert second.returncode == 0, log.read_text()[-2000:]
    check_recovered(settings, store, llm, ids)
    # retries wait a minute: the fast path above came from claiming and corrective calls
    assert store.queue.queue_length() == 0


def test_a_redis_restart_mid_run_loses_nothing(
    settings: Settings, arxiv_replay: ArxivReplay, llm: FakeLLM, tmp_path: Path
) -> None:
    port = free_port()
    data = tmp_path / "redis"
    redis_server = start_private_redis(port, data, persistent=True)
    url = f"redis://127.0.0.1:{port}/0"
    settings = replace(settings, redis_url=url)
    client = redis.Redis.from_url(url, decode_responses=True)
    store = Store(Db(client), Keys(settings.redis_prefix))
    entries = fixture_entries(LISTING)
    arxiv_replay.listing = entries
    ids = [entry_id(e) for e in entries]
    llm.latency_seconds = 0.2
    llm.script = ["500", "ok", "ok"] * 10
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(settings), log)
    try:
        wait_for(lambda: len(llm.calls) >= 8, 30, "some enrichment")
        redis_server.terminate()  # SIGTERM: Redis flushes its append-only file
        redis_server.wait()
        time.sleep(2)
        redis_server = start_private_redis(port, data, persistent=True)
        wait_for(lambda: all_enriched(store, ids), 150, "every paper enriched after the restart")
    finally:
        stop(worker)
        redis_server.terminate()
        redis_server.wait()
    output = log.read_text()
    assert output.count("redis unavailable") == 1, output[-3000:]
    assert "redis is back" in output
    # An unavailable Redis is logged once per outage, and the worker exits 0 on SIGTERM.
    assert worker.returncode == 0
    redis_server = start_private_redis(port, data, persistent=True)
    try:
        check_recovered(settings, store, llm, ids)
    finally:
        redis_server.terminate()
        redis_server.wait()


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

    arxiv_replay.listing = entries[5:] + entries[:5]  # 5 new papers on top of the stored ones
    clock.now += timedelta(hours=1)
    healthy = arxiv_replay.respond
    broken = _break(arxiv_replay, failure)
    if failure == "unreachable":
        runner.fetcher.source = ArxivSource("http://127.0.0.1:9/api/query", 0, 1, num_retries=0)
    else:
        arxiv_replay.respond = broken  # type: ignore[method-assign]
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


def test_three_workers_never_ask_arxiv_twice_within_3_seconds(
    settings: Settings, arxiv_replay: ArxivReplay, tmp_path: Path
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)
    env = worker_env(settings, FEEDSVC_ARXIV_DELAY_SECONDS="3", OPENAI_BASE_URL="",
                     OPENAI_API_KEY="")  # fmt: skip
    workers = [
        subprocess.Popen([sys.executable, "-m", "worker", "once"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(3)
    ]  # fmt: skip
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    arrivals = sorted(r.at for r in arxiv_replay.requests)
    assert len(arrivals) >= 2
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 3.0, gaps


def test_sigterm_hands_back_what_cannot_finish_in_time(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, llm: FakeLLM, tmp_path: Path
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)[:2]
    llm.latency_seconds = 4.0
    env = worker_env(settings, FEEDSVC_SHUTDOWN_SECONDS="1", FEEDSVC_LLM_TIMEOUT_SECONDS="10")
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    wait_for(lambda: len(llm.calls) >= 2, 30, "two calls in flight")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    assert time.monotonic() - started < 3.5, "it did not wait for the 4 s calls"
    assert "2 items handed back to the queue" in log.read_text()
    pending = {item.member for item in store.queue.take("next-worker", 50)}
    in_flight = {f"{c.arxiv_id}|{LANGUAGE_NAMES[c.language]}" for c in llm.calls}
    assert in_flight <= pending, "the handed-back items wait on the queue for the next worker"
