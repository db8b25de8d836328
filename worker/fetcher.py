"""Fetching: each topic's new papers from arXiv into the store, and backfills of past days."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from feedsvc.config import Topic
from feedsvc.errors import SourceError
from feedsvc.keys import fetch_lock_name
from feedsvc.logs import ids
from feedsvc.models import Paper
from feedsvc.store import Store
from worker.completeness import CompletenessCheck
from worker.coordination import FETCH_LOCK_SECONDS, held_lock
from worker.outcome import CycleReport
from worker.progress import Progress
from worker.schedule import FetchSchedule, completeness_due

log = logging.getLogger(__name__)

# A later fetch re-reads this far behind the newest update it saw: arXiv's timestamps are
# submission times, and a paper held in moderation is announced days after its `updated`.
HIGH_WATER_OVERLAP = timedelta(days=2)
BACKFILL_DAY_LIMIT = 2000  # arXiv's largest page; no topic of this kind has more a day


class PaperSource(Protocol):
    """What fetching needs from arXiv (see worker.arxiv_source.ArxivSource)."""

    def fetch_new(
        self,
        topic: Topic,
        stored_versions: Callable[[Sequence[str]], dict[str, int]],
        limit: int,
        progress: Callable[[int], None] | None = None,
    ) -> list[Paper]: ...

    def fetch_since(
        self, topic: Topic, since: datetime, progress: Callable[[int], None] | None = None
    ) -> list[Paper]: ...

    def fetch_window(
        self, topic: Topic, start: datetime, end: datetime, limit: int
    ) -> list[Paper]: ...

    def count_updated(self, topic: Topic, start: datetime, end: datetime) -> int: ...

    def fetch_updated(
        self, topic: Topic, start: datetime, end: datetime, limit: int
    ) -> list[Paper]: ...


class Fetcher:
    """Fetches topics one at a time across every worker, and stores what each fetch found."""

    def __init__(
        self,
        topics: Sequence[Topic],
        store: Store,
        source: PaperSource,
        clock: Callable[[], datetime],
        stop: threading.Event,
        enrich_now: Callable[[CycleReport], None],
        lock_seconds: float = FETCH_LOCK_SECONDS,
    ) -> None:
        self.topics = topics
        self.store = store
        self.source = source
        self.clock = clock
        self.stop = stop
        self.enrich_now = enrich_now  # a backfill enriches each day before the next
        self.lock_seconds = lock_seconds  # a killed fetcher's topic is free again after this
        self.completeness = CompletenessCheck(store, source, clock)

    def fetch_all(self, report: CycleReport) -> None:
        """Fetch every topic now (`feedsvc-worker once`)."""
        for topic in self.topics:
            if self.stop.is_set():
                return
            self.fetch_topic(topic, report)

    def fetch_due(self, report: CycleReport, schedule: FetchSchedule) -> int:
        """Fetch each topic the schedule says is due, and check the completeness of each
        announcement once; return how many topics were fetched. Due-ness comes from the
        status every worker shares, and is read again under the topic's lock, so several
        workers make one poll and one check between them."""
        fetched = 0
        for topic in self.topics:
            if self.stop.is_set():
                break
            status, now = self.store.topics.status(topic.slug), self.clock()
            if schedule.due(status, now) or completeness_due(status, now):
                fetched += self._fetch_due_topic(topic, report, schedule)
        return fetched

    def _fetch_due_topic(self, topic: Topic, report: CycleReport, schedule: FetchSchedule) -> bool:
        with self._topic_lock(topic) as mine:
            if not mine:
                return False
            fetched = schedule.due(self.store.topics.status(topic.slug), self.clock())
            if fetched:
                self._fetch_topic(topic, report)
            if day := completeness_due(self.store.topics.status(topic.slug), self.clock()):
                self.completeness.check(topic, day)
            return fetched

    def fetch_topic(self, topic: Topic, report: CycleReport) -> None:
        """Fetch and store one topic unless another process is fetching it right now."""
        with self._topic_lock(topic) as mine:
            if mine:
                self._fetch_topic(topic, report)

    @contextmanager
    def _topic_lock(self, topic: Topic) -> Iterator[bool]:
        """The topic's fetch lock, held by one process at a time: True when it is ours."""
        lock = self.store.coordination
        with held_lock(lock, fetch_lock_name(topic.slug), self.lock_seconds) as mine:
            if not mine:
                log.info("topic=%s is being fetched by another worker; skipped", topic.slug,
                         extra=ids(topic=topic.slug))  # fmt: skip
            yield mine

    def _fetch_topic(self, topic: Topic, report: CycleReport) -> None:
        """Fetch and store one topic; a failure is recorded and stores nothing."""
        try:
            papers = self._fetch_papers(topic)
        except SourceError as exc:
            log.warning(
                "topic=%s fetch failed: %s", topic.slug, exc.reason, extra=ids(topic=topic.slug)
            )
            self.store.topics.record_fetch_error(topic.slug, exc.reason, self.clock())
            report.fail(str(exc))
            return
        saved = self.store.papers.save_papers(topic, papers, fetched_at=self.clock())
        report.new += len(saved.new)
        report.revised += len(saved.revised)
        log.info(
            "topic=%s new=%d revised=%d amended=%d queued=%d",
            topic.slug, len(saved.new), len(saved.revised), len(saved.amended), saved.queued,
            extra=ids(topic=topic.slug),
        )  # fmt: skip

    def _fetch_papers(self, topic: Topic) -> list[Paper]:
        """The first fetch: the newest `max_results` papers. Every later one: exactly the
        papers updated since the topic's high-water mark (less the overlap), never older."""
        mark = self.store.topics.high_water(topic.slug)
        if mark is not None:
            return self.source.fetch_since(topic, mark - HIGH_WATER_OVERLAP)
        bar = Progress(f"first fetch of {topic.slug}", topic.max_results, "papers")
        stored = self.store.papers.stored_versions
        papers = self.source.fetch_new(topic, stored, topic.max_results, bar.update)
        bar.finish()
        return papers

    def backfill(self, topic: Topic, days: int) -> CycleReport:
        """Fetch and enrich the topic's papers submitted in the last `days` UTC days.

        One arXiv query per day, newest day first; a finished day is recorded in Redis, so
        a run that was interrupted or failed resumes where it stopped.
        """
        report = CycleReport()
        done = self.store.topics.backfilled_days(topic.slug)
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
            report.fail(str(exc))
            return False
        saved = self.store.papers.save_papers(topic, papers)
        report.new += len(saved.new)
        report.revised += len(saved.revised)
        self.enrich_now(report)
        self.store.topics.mark_backfilled(topic.slug, day)
        log.info("topic=%s backfilled %s: %d papers", topic.slug, day, len(papers), extra=about)
        return True
