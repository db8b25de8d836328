"""The worker loop: fetch each topic, store, queue, enrich; stop cleanly on request."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import redis

from feedsvc.config import Topic
from feedsvc.errors import EnrichmentFailed, SourceError
from feedsvc.logs import ids
from feedsvc.models import Paper
from feedsvc.store import EnrichmentStamp, Store, WorkItem
from worker.batch import BatchEnrichment
from worker.coordination import held_lock
from worker.enrich import Enricher, estimate_tokens
from worker.limits import RateLimiter
from worker.progress import Progress

log = logging.getLogger(__name__)

RETRY_MAX_SECONDS = 6 * 3600.0
IDLE_POLL_SECONDS = 30.0
OUTAGE_BACKOFF_SECONDS = 10.0
BATCH_MAX_REQUESTS = 20000
BATCH_TAKE = 500
INCREMENTAL_FETCH_LIMIT = 1000  # after a first fetch: enough for a week-long pause
BACKFILL_DAY_LIMIT = 2000  # arXiv's largest page; no topic of this kind has more a day


class PaperSource(Protocol):
    """What the runner needs from arXiv (see worker.arxiv_source.ArxivSource)."""

    def fetch_new(
        self,
        topic: Topic,
        stored_versions: Callable[[Sequence[str]], dict[str, int]],
        limit: int,
        progress: Callable[[int], None] | None = None,
    ) -> list[Paper]: ...

    def fetch_window(
        self, topic: Topic, start: datetime, end: datetime, limit: int
    ) -> list[Paper]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EnrichPolicy:
    """How hard the runner may push the enricher."""

    concurrency: int = 1
    max_attempts: int = 5
    daily_token_budget: int = 0  # 0: no budget
    claim_idle_seconds: float = 600.0
    max_deliveries: int = 5
    retry_base_seconds: float = 60.0


@dataclass
class CycleReport:
    """What one fetch-and-enrich cycle did; `failures` are one-line reasons."""

    new: int = 0
    revised: int = 0
    enriched: int = 0
    failures: list[str] = field(default_factory=list)
    budget_reached: bool = False


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
        policy: EnrichPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.topics = topics
        self.store = store
        self.source = source
        self.enricher = enricher
        self.consumer = consumer
        self.clock = clock
        self.policy = policy or EnrichPolicy()
        self.limiter = limiter
        self.batch: BatchEnrichment | None = None  # set: enrich through the Batch API
        self.stop = threading.Event()
        self.in_flight: set[WorkItem] = set()
        self.in_flight_lock = threading.Lock()
        self.redis_down = False

    def run_once(self) -> CycleReport:
        """Fetch every topic once, then enrich everything due."""
        report = CycleReport()
        self.fetch_all(report)
        self.queue_outdated()
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
                wait_seconds = self._idle_seconds(next_fetch)
                self._redis_answers()
            except redis.RedisError as exc:
                self._redis_failed(exc)
                wait_seconds = OUTAGE_BACKOFF_SECONDS
            except Exception:
                log.exception("unexpected error in the worker loop; retrying")
                wait_seconds = OUTAGE_BACKOFF_SECONDS
            self.stop.wait(max(wait_seconds, 0.0))

    def _idle_seconds(self, next_fetch: datetime) -> float:
        """Until the next fetch, the next retry or a possible claim, whichever comes first."""
        now = self.clock()
        waits = [IDLE_POLL_SECONDS, self.policy.claim_idle_seconds]
        waits.append((next_fetch - now).total_seconds())
        next_retry = self.store.next_retry_at()
        if next_retry is not None:
            waits.append(next_retry - now.timestamp())
        return max(min(waits), 0.05)

    def _redis_failed(self, exc: redis.RedisError) -> None:
        if not self.redis_down:
            log.error("redis unavailable: %s; retrying every %gs", exc, OUTAGE_BACKOFF_SECONDS)
        self.redis_down = True

    def _redis_answers(self) -> None:
        if self.redis_down:
            log.info("redis is back; resuming")
        self.redis_down = False

    def hand_back_in_flight(self) -> int:
        """Return unfinished items to the queue (shutdown ran out of time)."""
        with self.in_flight_lock:
            items = list(self.in_flight)
        self.store.hand_back(items)
        return len(items)

    def _cycle(self, next_fetch: datetime, interval_seconds: float) -> datetime:
        report = CycleReport()
        if self.clock() >= next_fetch:
            self.fetch_all(report)
            self.queue_outdated()
            next_fetch = self.clock() + timedelta(seconds=interval_seconds)
        self.enrich_due(report)
        return next_fetch

    # -- fetching -------------------------------------------------------------

    def fetch_all(self, report: CycleReport) -> None:
        for topic in self.topics:
            if self.stop.is_set():
                return
            self.fetch_topic(topic, report)

    def fetch_topic(self, topic: Topic, report: CycleReport) -> None:
        """Fetch and store one topic unless another process is fetching it right now."""
        with held_lock(self.store, f"fetch:{topic.slug}") as mine:
            if not mine:
                log.info("topic=%s is being fetched by another worker; skipped", topic.slug,
                         extra=ids(topic=topic.slug))  # fmt: skip
                return
            self._fetch_topic(topic, report)

    def _fetch_topic(self, topic: Topic, report: CycleReport) -> None:
        """Fetch and store one topic; a failure is recorded and stores nothing."""
        first_fetch = self.store.topic_paper_count(topic.slug) == 0
        limit = topic.max_results if first_fetch else INCREMENTAL_FETCH_LIMIT
        bar = Progress(f"first fetch of {topic.slug}", limit, "papers") if first_fetch else None
        try:
            papers = self.source.fetch_new(
                topic, self.store.stored_versions, limit, bar.update if bar else None
            )
        except SourceError as exc:
            log.warning(
                "topic=%s fetch failed: %s", topic.slug, exc.reason, extra=ids(topic=topic.slug)
            )
            self.store.record_fetch_error(topic.slug, exc.reason, self.clock())
            report.failures.append(str(exc))
            return
        if bar is not None:
            bar.finish()
        saved = self.store.save_papers(topic, papers)
        self.store.record_fetch_success(topic.slug, self.clock())
        report.new += len(saved.new)
        report.revised += len(saved.revised)
        log.info(
            "topic=%s new=%d revised=%d queued=%d",
            topic.slug, len(saved.new), len(saved.revised), saved.queued,
            extra=ids(topic=topic.slug),
        )  # fmt: skip

    def backfill(self, topic: Topic, days: int) -> CycleReport:
        """Fetch and enrich the topic's papers submitted in the last `days` UTC days.

        One arXiv query per day, newest day first; a finished day is recorded in Redis, so
        a run that was interrupted or failed resumes where it stopped.
        """
        report = CycleReport()
        done = self.store.backfilled_days(topic.slug)
        today = self.clock().date()
        bar = Progress(f"backfill {topic.slug}", days, "days")
        for n in range(days):
            day = today - timedelta(days=n)
            if self.stop.is_set():
                break
            if day.isoformat() not in done and not self._backfill_day(topic, day, report):
                break
            bar.update(n + 1, f"{report.new} new papers")
        else:
            bar.finish(f"{report.new} new papers")
        return report

    def _backfill_day(self, topic: Topic, day: date, report: CycleReport) -> bool:
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=1) - timedelta(minutes=1)
        about = ids(topic=topic.slug)
        try:
            papers = self.source.fetch_window(topic, start, end, BACKFILL_DAY_LIMIT)
        except SourceError as exc:
            log.warning("topic=%s backfill of %s failed: %s", topic.slug, day, exc.reason,
                        extra=about)  # fmt: skip
            report.failures.append(str(exc))
            return False
        saved = self.store.save_papers(topic, papers)
        report.new += len(saved.new)
        report.revised += len(saved.revised)
        self.enrich_due(report)
        self.store.mark_backfilled(topic.slug, day)
        log.info("topic=%s backfilled %s: %d papers", topic.slug, day, len(papers), extra=about)
        return True

    def queue_outdated(self) -> int:
        """Queue, newest first, every enrichment made by another model or prompt version.

        The old result stays in the feed until the new one replaces it.
        """
        failed = self.store.failed_items()
        queued = 0
        for topic in self.topics:
            ids = self.store.topic_paper_ids(topic.slug)
            for language in topic.languages:
                stamps = self.store.enrichment_stamps(ids, language)
                stale = [
                    (paper_id, language)
                    for paper_id, stamp in zip(ids, stamps, strict=True)
                    if stamp is not None and not self._made_by_current_enricher(stamp)
                    and f"{paper_id}|{language}" not in failed
                ]  # fmt: skip
                queued += self.store.enqueue(stale)
        if queued:
            log.info("queued %d enrichments made by another model or prompt", queued)
        return queued

    # -- enriching ------------------------------------------------------------

    def enrich_due(self, report: CycleReport) -> None:
        """Enrich queued work and due retries, `concurrency` at a time, until none is left.

        Stops taking work when `stop` is set or the day's token budget is spent; what is in
        flight is finished either way.
        """
        self.store.requeue_due_retries(self.clock())
        if self.batch is not None:
            self._enrich_by_batch(self.batch, report)
            return
        with ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="enrich") as pool:
            in_flight: set[Future[tuple[str, str]]] = set()
            while True:
                room = 0 if self._must_pause(report) else self.policy.concurrency - len(in_flight)
                for item in self._take(room):
                    in_flight.add(pool.submit(self.process, item))
                if not in_flight:
                    return
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    self._tally(future.result(), report)

    def _enrich_by_batch(self, batch: BatchEnrichment, report: CycleReport) -> None:
        """Apply finished batches; when none is open, submit everything queued as one."""
        for outcome in batch.poll(self._retry_later):
            self._tally(outcome, report)
        if self.store.open_batches() or self._must_pause(report):
            return
        todo: list[WorkItem] = []
        while len(todo) < BATCH_MAX_REQUESTS and (taken := self._take(BATCH_TAKE)):
            todo += [item for item in taken if self._paper_to_enrich(item) is not None]
        if todo:
            try:
                batch.submit(todo)
            except EnrichmentFailed as exc:
                log.warning("%s; %d items stay queued", exc.reason, len(todo))
                report.failures.append(exc.reason)

    def _paper_to_enrich(self, item: WorkItem) -> Paper | None:
        """The item's paper if it still needs this enrichment; else acknowledge the item."""
        paper = self.store.load_paper(item.paper_id)
        stamp = self.store.enrichment_stamps([item.paper_id], item.language)[0]
        if paper is None or self._is_current(stamp, paper):
            self.store.ack(item)
            return None
        return paper

    def _must_pause(self, report: CycleReport) -> bool:
        if self.stop.is_set():
            return True
        budget = self.policy.daily_token_budget
        if budget and self.tokens_spent_today() >= budget:
            if not report.budget_reached:
                log.warning("daily LLM token budget of %d reached; enrichment paused", budget)
            report.budget_reached = True
            return True
        return False

    def tokens_spent_today(self) -> int:
        return self.store.llm_usage(self.clock().date().isoformat()).get("tokens", 0)

    def _take(self, room: int) -> list[WorkItem]:
        if room <= 0:
            return []
        stale = self.store.claim_stale_work(
            self.consumer, self.policy.claim_idle_seconds, room, self.policy.max_deliveries
        )
        return stale or self.store.take_work(self.consumer, room)

    @staticmethod
    def _tally(outcome: tuple[str, str], report: CycleReport) -> None:
        status, message = outcome
        if status == "enriched":
            report.enriched += 1
        elif status == "failed":
            report.failures.append(message)

    def process(self, item: WorkItem) -> tuple[str, str]:
        """Enrich one item and store the result; a failure parks it for a later retry.

        Returns ("enriched" | "skipped" | "failed", a one-line message).
        """
        with self.in_flight_lock:
            self.in_flight.add(item)
        try:
            return self._process(item)
        finally:
            with self.in_flight_lock:
                self.in_flight.discard(item)

    def _process(self, item: WorkItem) -> tuple[str, str]:
        paper = self._paper_to_enrich(item)
        if paper is None:
            return "skipped", ""
        if self.limiter and not self.limiter.acquire(estimate_tokens(paper, item.language)):
            return "skipped", ""  # stopped while waiting: the item stays pending, reclaimed later
        try:
            enrichment = self.enricher.enrich(paper, item.language)
        except EnrichmentFailed as exc:
            return "failed", self._retry_later(item, paper, exc)
        self.store.save_enrichment(paper.id, enrichment)
        self.store.ack(item)
        log.info(
            "paper=%s lang=%s enriched method=%s tokens=%d+%d",
            paper.id, item.language, enrichment.method, enrichment.tokens_in, enrichment.tokens_out,
            extra=ids(paper=paper.id, language=item.language),
        )  # fmt: skip
        return "enriched", ""

    def _is_current(self, stamp: EnrichmentStamp | None, paper: Paper) -> bool:
        if stamp is None or stamp.source_hash != paper.source_hash:
            return False
        return self._made_by_current_enricher(stamp)

    def _made_by_current_enricher(self, stamp: EnrichmentStamp) -> bool:
        method, model, prompt_version = self.enricher.identity
        if method == "extractive":
            return True  # never replace any result with an offline one
        return (stamp.method, stamp.model, stamp.prompt_version) == (method, model, prompt_version)

    def _retry_later(self, item: WorkItem, paper: Paper, exc: EnrichmentFailed) -> str:
        attempt = self.store.attempts(item.paper_id, item.language) + 1
        where = f"paper={item.paper_id} lang={item.language} attempt={attempt}"
        about = ids(paper=item.paper_id, language=item.language, attempt=attempt)
        if not exc.transient or attempt >= self.policy.max_attempts:
            self.store.mark_failed(item, paper.source_hash, exc.reason, self.clock())
            log.error("%s enrichment failed for good: %s", where, exc.reason, extra=about)
            return f"paper {item.paper_id} ({item.language}): {exc.reason}; gave up"
        backoff = retry_delay_seconds(attempt, self.policy.retry_base_seconds)
        delay = max(backoff, exc.retry_after_seconds or 0.0)
        due = self.clock() + timedelta(seconds=delay)
        self.store.schedule_retry(item, due, exc.reason)
        log.warning(
            "%s enrichment failed: %s; retry at %s",
            where, exc.reason, due.isoformat(timespec="seconds"), extra=about,
        )  # fmt: skip
        return f"paper {item.paper_id} ({item.language}): {exc.reason}"


def retry_delay_seconds(attempt: int, base_seconds: float = 60.0) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 ... minutes, at most 6 hours."""
    delay = min(base_seconds * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
    return float(delay * random.uniform(0.8, 1.2))
