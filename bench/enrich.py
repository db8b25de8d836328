"""Enrichment throughput and LLM calls per paper against a local OpenAI-compatible server.

    .venv/bin/python -m bench.enrich [--papers 500] [--latency 0.2] [--concurrency 1 8 16]
    PYTHONPATH=<another checkout> python bench/enrich.py ...   # that checkout's worker

Every call takes `--latency` seconds at the server, so C calls in flight can at best finish
C / latency papers a second: the table shows each run against that limit and against one
call at a time. A last run makes 20% of calls fail (HTTP 500, 429, broken JSON, chatter)
and fast-forwards the retry clock until every paper is enriched. The server runs in a
process of its own, as a real endpoint does, so its work does not share the worker's GIL.
Uses Redis at FEEDSVC_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14) under a prefix
of its own, deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from feedsvc.config import Settings, Topic
from feedsvc.keys import Keys
from feedsvc.models import Paper
from feedsvc.store import Db, Store
from tests.servers import ATOM, FIXTURES, fixture_entries
from worker.assembly import Worker, assemble
from worker.enrich import LLMEnricher, build_llm_client
from worker.outcome import CycleReport, EnrichPolicy

REDIS_URL = os.environ.get("FEEDSVC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TOPIC = Topic("bench", "Bench", "all:bench", ("zh",), 50)


@dataclass
class RunResult:
    label: str
    concurrency: int
    seconds: float
    enriched: int
    calls: int
    tokens: int
    papers: int


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def recorded_papers(count: int) -> list[Paper]:
    """`count` papers with real recorded titles and abstracts under fresh ids."""
    entries = [e for path in sorted(FIXTURES.glob("*.xml")) for e in fixture_entries(path.name)]
    texts = [(_text(e, "title"), _text(e, "summary")) for e in entries]
    texts = [(title, abstract) for title, abstract in texts if title and abstract]
    now = datetime.now(UTC)
    papers = []
    for n in range(count):
        title, abstract = texts[n % len(texts)]
        papers.append(
            Paper(f"9999.{n:05d}", 1, title, abstract, ("A. Author",), published=now, updated=now)
        )
    return papers


def _text(entry: Any, name: str) -> str:
    element = entry.find(f"{ATOM}{name}")
    return " ".join((element.text or "").split()) if element is not None else ""


_SERVER = """
import sys, time
from tests.servers import FakeLLM
llm = FakeLLM(latency_seconds=float(sys.argv[1]), failure_rate=float(sys.argv[2])).start()
print(llm.base_url, flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def llm_server(latency: float, failure_rate: float) -> Iterator[str]:
    """The local OpenAI-compatible server in a process of its own; its base URL."""
    with subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(latency), str(failure_rate)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as server:  # fmt: skip
        assert server.stdout is not None and server.stdin is not None
        try:
            yield server.stdout.readline().strip()
        finally:
            server.stdin.close()
            server.wait(timeout=10)


def run(
    label: str, papers: list[Paper], latency: float, concurrency: int, failure_rate: float
) -> RunResult:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = Store(Db(client), Keys(f"feedsvc-bench-{uuid.uuid4().hex[:8]}"))
    try:
        store.papers.save_papers(TOPIC, papers)
        clock = Clock()
        with llm_server(latency, failure_rate) as base_url:
            runner = _runner(store, base_url, concurrency, clock)
            started = time.perf_counter()
            enriched = _drain(runner, clock)
            seconds = time.perf_counter() - started
        usage = store.accounting.llm_usage()
        calls = sum(model.calls for model in usage.models.values())
        return RunResult(label, concurrency, seconds, enriched, calls, usage.tokens, len(papers))
    finally:
        # this script also drives older checkouts (bench/days.py), whose Keys named every
        # key under one pattern
        keys = store.keys
        patterns = (
            keys.all_keys_patterns()
            if hasattr(keys, "all_keys_patterns")
            else (
                keys.all_keys_pattern(),  # type: ignore[attr-defined]
            )
        )
        for pattern in patterns:
            for key in client.scan_iter(pattern, count=1000):
                client.delete(key)
        client.close()


def _runner(store: Store, base_url: str, concurrency: int, clock: Clock) -> Worker:
    """A worker wired as the checkout on the path wires it (its calls counted its way)."""
    settings = replace(
        Settings(), openai_base_url=base_url, openai_api_key="bench",
        llm_model="bench-model", llm_max_retries=0, llm_timeout_seconds=10,
    )  # fmt: skip
    policy = EnrichPolicy(concurrency=concurrency, max_attempts=50)
    try:
        from worker.usage import PendingUsage  # noqa: PLC0415 -- absent before 2026-12
    except ImportError:  # an older checkout: each call counted in a transaction of its own

        def record(model: str, tokens_in: int, tokens_out: int, outcome: str) -> None:
            store.accounting.record_llm_call(model, tokens_in, tokens_out, outcome, clock())

        enricher = LLMEnricher(build_llm_client(settings), settings.llm_model, record_call=record)
        return assemble([TOPIC], store, _NoSource(), enricher, "bench", clock, policy)
    usage = PendingUsage(clock)
    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model, record_call=usage.record)
    return assemble([TOPIC], store, _NoSource(), enricher, "bench", clock, policy, usage=usage)


class _NoSource:
    def fetch_new(self, *args: Any) -> list[Paper]:
        return []

    def fetch_window(self, *args: Any) -> list[Paper]:
        return []

    def fetch_since(self, *args: Any) -> list[Paper]:
        return []

    def fetch_updated(self, *args: Any) -> list[Paper]:
        return []

    def count_updated(self, *args: Any) -> int:
        return 0


def _drain(runner: Worker, clock: Clock) -> int:
    """Enrich until nothing is queued or waiting to retry; retries are fast-forwarded."""
    enriched = 0
    while True:
        report = CycleReport()
        runner.dispatcher.enrich_due(report)
        enriched += report.enriched
        if runner.store.queue.retry_count() == 0 and runner.store.queue.queue_length() == 0:
            return enriched
        clock.now += timedelta(hours=7)


def print_table(results: list[RunResult], latency: float, sequential: RunResult) -> None:
    header = (
        f"{'run':<28} {'C':>3} {'papers/s':>9} {'limit C/lat':>11} {'% of limit':>10} "
        f"{'× one-at-a-time':>15} {'calls/paper':>11} {'tokens/paper':>12} {'enriched':>9}"
    )
    print(header)
    print("-" * len(header))
    base_rate = sequential.enriched / sequential.seconds
    for r in results:
        rate = r.enriched / r.seconds
        limit = r.concurrency / latency
        print(
            f"{r.label:<28} {r.concurrency:>3} {rate:>9.1f} {limit:>11.1f} "
            f"{rate / limit:>10.1%} {rate / base_rate:>15.2f} {r.calls / r.papers:>11.2f} "
            f"{r.tokens / r.papers:>12.0f} {r.enriched:>5}/{r.papers}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per LLM call")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--failure-rate", type=float, default=0.2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the failure run's retries are expected
    papers = recorded_papers(args.papers)
    sequential = run("one call at a time", papers[:50], args.latency, 1, 0.0)
    results = [sequential]
    for c in args.concurrency:
        results.append(run("clean endpoint", papers, args.latency, c, 0.0))
    if args.failure_rate:
        label = f"{args.failure_rate:.0%} of calls fail"
        results.append(run(label, papers, args.latency, args.concurrency[0], args.failure_rate))
    print(f"{args.papers} papers (one language), {args.latency * 1000:.0f} ms per LLM call\n")
    print_table(results, args.latency, sequential)


if __name__ == "__main__":
    main()
