"""The worker loop: fetch each topic, store, queue, enrich; stop cleanly on request."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis

from feedsvc.config import Topic
from feedsvc.errors import EnrichmentFailed, SourceError
from feedsvc.models import Paper
from feedsvc.store import Store, WorkItem
from worker.enrich import Enricher

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 6 * 3600.0
CLAIM_IDLE_SECONDS = 600.0
WORK_BATCH = 16
IDLE_POLL_SECONDS = 30.0
OUTAGE_BACKOFF_SECONDS = 10.0
INCREMENTAL_FETCH_LIMIT = 1000  # after a first fetch: enough for a week-long pause


class PaperSource(Protocol):
    """What the runner needs from arXiv (see worker.arxiv_source.ArxivSource)."""

    def fetch_new(
        self, topic: Topic, stored_versions: Callable[[Sequence[str]], dict[str, int]], limit: int
    ) -> list[Paper]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CycleReport:
    """What one fetch-and-enrich cycle did; `failures` are one-line reasons."""

    new: int = 0
    revised: int = 0
    enriched: int = 0
    failures: list[str] = field(default_factory=list)


class Runner:
    """Runs fetch and enrichment cycles against one store, source and enricher."""

    def __init__(
        self,
        topics: Sequence[Topic],
        store: Store,
        source: PaperSource,
        enricher: Enricher,
        consumer: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.topics = topics
        self.store = store
        self.source = source
        self.enricher = enricher
        self.consumer = consumer
        self.clock = clock
        self.stop = threading.Event()

    def run_once(self) -> CycleReport:
        """Fetch every topic once, then enrich everything due."""
        report = CycleReport()
        self.fetch_all(report)
        self.enrich_due(report)
        return report

    def run_forever(self, interval_seconds: float) -> None:
        """Fetch every `interval_seconds` and enrich in between, until `stop` is set.

        A Redis outage or an unexpected error is logged and waited out; the loop goes on.
        """
        next_fetch = self.clock()
        while not self.stop.is_set():
            try:
                next_fetch = self._cycle(next_fetch, interval_seconds)
                wait = min(IDLE_POLL_SECONDS, (next_fetch - self.clock()).total_seconds())
            except redis.RedisError as exc:
                log.error("redis unavailable: %s; retrying in %gs", exc, OUTAGE_BACKOFF_SECONDS)
                wait = OUTAGE_BACKOFF_SECONDS
            except Exception:
                log.exception("unexpected error in the worker loop; retrying")
                wait = OUTAGE_BACKOFF_SECONDS
            self.stop.wait(max(wait, 0.0))

    def _cycle(self, next_fetch: datetime, interval_seconds: float) -> datetime:
        report = CycleReport()
        if self.clock() >= next_fetch:
            self.fetch_all(report)
            next_fetch = self.clock() + timedelta(seconds=interval_seconds)
        self.enrich_due(report)
        return next_fetch

    def fetch_all(self, report: CycleReport) -> None:
        for topic in self.topics:
            if self.stop.is_set():
                return
            self.fetch_topic(topic, report)

    def fetch_topic(self, topic: Topic, report: CycleReport) -> None:
        """Fetch and store one topic; a failure is recorded and stores nothing."""
        first_fetch = self.store.topic_paper_count(topic.slug) == 0
        limit = topic.max_results if first_fetch else INCREMENTAL_FETCH_LIMIT
        try:
            papers = self.source.fetch_new(topic, self.store.stored_versions, limit)
        except SourceError as exc:
            log.warning("topic=%s fetch failed: %s", topic.slug, exc.reason)
            self.store.record_fetch_error(topic.slug, exc.reason, self.clock())
            report.failures.append(str(exc))
            return
        saved = self.store.save_papers(topic, papers)
        self.store.record_fetch_success(topic.slug, self.clock())
        report.new += len(saved.new)
        report.revised += len(saved.revised)
        log.info(
            "topic=%s new=%d revised=%d queued=%d",
            topic.slug, len(saved.new), len(saved.revised), saved.queued,
        )  # fmt: skip

    def enrich_due(self, report: CycleReport) -> None:
        """Enrich queued work and due retries until the queue is empty or `stop` is set."""
        self.store.requeue_due_retries(self.clock())
        stale = self.store.claim_stale_work(self.consumer, CLAIM_IDLE_SECONDS, WORK_BATCH)
        batch = stale or self.store.take_work(self.consumer, WORK_BATCH)
        while batch and not self.stop.is_set():
            for item in batch:
                if self.stop.is_set():
                    return
                self.process(item, report)
            batch = self.store.take_work(self.consumer, WORK_BATCH)

    def process(self, item: WorkItem, report: CycleReport) -> None:
        """Enrich one item and store the result; a failure parks it for a later retry."""
        paper = self.store.load_paper(item.paper_id)
        if paper is None or self.store.enrichment_is_current(paper, item.language):
            self.store.ack(item)
            return
        try:
            enrichment = self.enricher.enrich(paper, item.language)
        except EnrichmentFailed as exc:
            self._retry_later(item, exc.reason, report)
            return
        self.store.save_enrichment(paper.id, enrichment)
        self.store.ack(item)
        report.enriched += 1
        log.info(
            "paper=%s lang=%s enriched method=%s tokens=%d+%d",
            paper.id, item.language, enrichment.method, enrichment.tokens_in, enrichment.tokens_out,
        )  # fmt: skip

    def _retry_later(self, item: WorkItem, reason: str, report: CycleReport) -> None:
        attempt = self.store.attempts(item.paper_id, item.language) + 1
        due = self.clock() + timedelta(seconds=retry_delay_seconds(attempt))
        self.store.schedule_retry(item, due, reason)
        log.warning(
            "paper=%s lang=%s attempt=%d enrichment failed: %s; retry at %s",
            item.paper_id, item.language, attempt, reason, due.isoformat(timespec="seconds"),
        )  # fmt: skip
        report.failures.append(f"paper {item.paper_id} ({item.language}): {reason}")


def retry_delay_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 ... minutes, at most 6 hours."""
    delay = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
    return float(delay * random.uniform(0.8, 1.2))
