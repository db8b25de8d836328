"""Prometheus metrics: per-process request metrics, and what Redis knows, read at scrape time.

Web metrics (requests, render time, cache results, 304s) are counted in each process; with
PROMETHEUS_MULTIPROC_DIR set (feedsvc-web sets it) they are summed over processes. Papers,
queue, failures, LLM use, arXiv requests and fetch times live in Redis, written by every
worker on every machine, so /metrics reads them from there when scraped.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter as CountOf
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector

from feedsvc.config import Topic
from feedsvc.store import Store
from feedsvc.web.accesslog import AccessLog
from feedsvc.web.deferred import DEFERRED

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "feedsvc_http_requests", "HTTP requests answered", ["route", "status"]
)  # fmt: skip
NOT_MODIFIED = Counter("feedsvc_http_not_modified", "Requests answered 304 Not Modified")
RENDER_SECONDS = Histogram(
    "feedsvc_feed_render_seconds", "Time to read and render one feed on a cache miss",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)  # fmt: skip
CACHE_RESULTS = Counter(
    "feedsvc_feed_cache", "Feed cache lookups by where the rendering came from", ["result"]
)

_ROUTES = (
    ("/feeds/", "feed"), ("/topics/", "topic_page"), ("/static/", "static"),
    ("/opml", "opml"), ("/healthz", "healthz"), ("/readyz", "readyz"), ("/metrics", "metrics"),
)  # fmt: skip


def route_of(path: str) -> str:
    if path.startswith("/feeds/"):  # nearly every request
        return "feed"
    if path == "/":
        return "index"
    return next((name for prefix, name in _ROUTES if path.startswith(prefix)), "other")


class Tally:
    """Counts taken on the hot path as an append to a deque (atomic, no lock), added to the
    Prometheus counters by the deferred thread, at most a quarter second later, and before
    every scrape: a counter's own increment would cost a fifth of a cached 304."""

    def __init__(self) -> None:
        self._seen: deque[tuple[str, ...]] = deque()
        self._flushing = threading.Lock()  # a scrape and the deferred thread may meet here

    def add(self, *key: str) -> None:
        """Count one: ('request', route, status) or ('cache', result)."""
        self._seen.append(key)

    def flush(self) -> None:
        with self._flushing:
            taken = [self._seen.popleft() for _ in range(len(self._seen))]
        for key, count in CountOf(taken).items():  # fmt: skip
            if key[0] == "request":
                REQUESTS.labels(key[1], key[2]).inc(count)
                if key[2] == "304":
                    NOT_MODIFIED.inc(count)
            else:
                CACHE_RESULTS.labels(key[1]).inc(count)


TALLY = Tally()
DEFERRED.register(TALLY.flush)


class RequestMetrics:
    """WSGI middleware counting every response by route and status, fast path included, and
    noting each in the access log when there is one (it sees every answer already)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], access_log: AccessLog | None = None):
        self.app = app
        self.access_log = access_log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        route = route_of(environ.get("PATH_INFO", "/"))
        started = time.perf_counter()
        access_log = self.access_log

        def counting_start_response(status: str, headers: list[Any], *args: Any) -> Any:
            TALLY.add("request", route, status[:3])
            if access_log is not None:
                access_log.note(environ, status, headers, time.perf_counter() - started)
            return start_response(status, headers, *args)

        return self.app(environ, counting_start_response)


class RedisCollector(Collector):
    """Gauges and counters read from Redis at scrape time."""

    def __init__(self, store: Store, topics: Sequence[Topic], stale_after_seconds: float) -> None:
        self.store = store
        self.topics = topics
        self.stale_after_seconds = stale_after_seconds

    def collect(self) -> Iterator[Any]:
        yield from self._topics()
        yield from self._queue()
        yield from self._llm()
        yield from self._arxiv()

    def _topics(self) -> Iterator[Any]:
        papers = GaugeMetricFamily("feedsvc_topic_papers", "Papers per topic", labels=["topic"])
        fetched = GaugeMetricFamily(
            "feedsvc_topic_last_fetch_timestamp_seconds",
            "Unix time of the last successful fetch per topic", labels=["topic"],
        )  # fmt: skip
        stale = GaugeMetricFamily(
            "feedsvc_topic_stale", "1 when the last successful fetch is too old", labels=["topic"]
        )
        announced = GaugeMetricFamily(
            "feedsvc_topic_announcement_papers",
            "Papers of the last announcement checked: on arXiv (its own count) and stored",
            labels=["topic", "source"],
        )  # fmt: skip
        missing = GaugeMetricFamily(
            "feedsvc_topic_announcement_missing",
            "Papers arXiv lists for the last announcement checked that the topic lacks",
            labels=["topic"],
        )  # fmt: skip
        now = datetime.now(UTC)
        for slug, status in self.store.topics.statuses(self.topics).items():
            papers.add_metric([slug], status.paper_count)
            if status.last_fetched:
                fetched.add_metric([slug], status.last_fetched.timestamp())
            stale.add_metric([slug], float(status.is_stale(now, self.stale_after_seconds)))
            if checked := status.completeness:
                announced.add_metric([slug, "arxiv"], checked.on_arxiv)
                announced.add_metric([slug, "stored"], checked.stored)
                missing.add_metric([slug], checked.missing)
        yield from (papers, fetched, stale, announced, missing)

    def _queue(self) -> Iterator[Any]:
        yield _gauge(
            "feedsvc_enrich_queue_depth", "Enrichments queued", self.store.queue.queue_length()
        )
        yield _gauge(
            "feedsvc_enrich_pending", "Enrichments not done yet (queued or waiting to retry)",
            self.store.queue.waiting_count(),
        )  # fmt: skip
        yield _gauge(
            "feedsvc_enrich_retry_waiting",
            "Enrichments waiting to retry",
            self.store.queue.retry_count(),
        )
        yield _gauge(
            "feedsvc_enrich_failed",
            "Enrichments marked failed",
            len(self.store.failures.failed_items()),
        )

    def _llm(self) -> Iterator[Any]:
        usage = self.store.accounting.llm_usage()
        calls = CounterMetricFamily("feedsvc_llm_calls", "LLM calls by model", labels=["model"])
        tokens = CounterMetricFamily(
            "feedsvc_llm_tokens", "LLM tokens by model and direction", labels=["model", "direction"]
        )
        outcomes = CounterMetricFamily(
            "feedsvc_llm_call_outcomes", "LLM calls by outcome", labels=["outcome"]
        )
        for model, counts in usage.models.items():
            calls.add_metric([model], counts.calls)
            tokens.add_metric([model, "in"], counts.tokens_in)
            tokens.add_metric([model, "out"], counts.tokens_out)
        for outcome, count in usage.outcomes.items():
            outcomes.add_metric([outcome], count)
        yield from (calls, tokens, outcomes)

    def _arxiv(self) -> Iterator[Any]:
        counts = self.store.accounting.arxiv_request_counts()
        requests = CounterMetricFamily(
            "feedsvc_arxiv_requests", "arXiv API requests by result", labels=["result"]
        )
        for result in ("ok", "error"):
            requests.add_metric([result], counts.get(result, 0))
        yield requests


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def scrape(collector: RedisCollector) -> bytes:
    """The Prometheus text exposition of this process (or all of them) plus Redis."""
    TALLY.flush()
    process_registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)  # type: ignore[no-untyped-call]
    redis_registry = CollectorRegistry()
    redis_registry.register(collector)
    return generate_latest(process_registry) + generate_latest(redis_registry)


def observe_render(build: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        return build()
    finally:
        RENDER_SECONDS.observe(time.perf_counter() - started)


def forget_process(pid: int) -> None:
    """gunicorn's child_exit: drop a dead worker's live values from the multiprocess folder."""
    mark_process_dead(pid)  # type: ignore[no-untyped-call]
