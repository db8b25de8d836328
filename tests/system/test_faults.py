"""Nothing lost, nothing twice: faults injected into real processes, Redis and the replays.

Faults met inside one process (arXiv failures, dead letters, the fetch lock, the arXiv gate) are
in test_faults_in_process.py.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import feedparser
import redis

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.keys import Keys
from feedsvc.process.launcher import stop_process
from feedsvc.process.localredis import free_port, start_private_redis
from feedsvc.store import Db, Store
from tests.conftest import settings_env
from tests.servers import ArxivReplay, FakeLLM, entry_id, fixture_entries

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
        store.enrichments.load_enrichment(paper_id, language) is not None
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


def test_three_workers_never_ask_arxiv_twice_within_3_seconds(
    settings: Settings, arxiv_replay: ArxivReplay, tmp_path: Path
) -> None:
    """The API, the papers' HTML views and their OAI-PMH records, all through one gate."""
    arxiv_replay.listing = fixture_entries(LISTING)[:3]  # three papers: six page requests
    env = worker_env(settings, FEEDSVC_ARXIV_DELAY_SECONDS="3", OPENAI_BASE_URL="",
                     OPENAI_API_KEY="")  # fmt: skip
    workers = [
        subprocess.Popen([sys.executable, "-m", "worker", "once"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(3)
    ]  # fmt: skip
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    assert len(arxiv_replay.page_requests) == 6, "a view and a record per paper, once"
    arrivals = sorted(r.at for r in arxiv_replay.requests + arxiv_replay.page_requests)
    assert len(arrivals) >= 8
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
