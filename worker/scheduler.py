"""When the worker does what: fetch what the schedule says is due, enrich in between, wait
out outages."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from feedsvc.config import Topic
from feedsvc.errors import StoreError
from feedsvc.store import Store
from worker.dispatcher import Dispatcher
from worker.fetcher import Fetcher
from worker.intake import Intake
from worker.outcome import CycleReport
from worker.paper_pages import PagesFetcher
from worker.schedule import AnnouncementSchedule, FetchSchedule, IntervalSchedule

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 30.0
OUTAGE_BACKOFF_SECONDS = 10.0


class Scheduler:
    """Runs fetch and enrichment cycles until asked to stop."""

    def __init__(
        self,
        topics: Sequence[Topic],
        store: Store,
        fetcher: Fetcher,
        dispatcher: Dispatcher,
        intake: Intake,
        clock: Callable[[], datetime],
        stop: threading.Event,
        schedule: FetchSchedule | None = None,
        pages: PagesFetcher | None = None,
    ) -> None:
        self.topics = topics
        self.store = store
        self.fetcher = fetcher
        self.dispatcher = dispatcher
        self.intake = intake
        self.clock = clock
        self.stop = stop
        self.schedule = schedule or AnnouncementSchedule()
        self.redis_down = False
        self.pages = pages  # the papers' HTML views and licences, when fetched

    def run_once(self) -> CycleReport:
        """Fetch every topic once, then enrich everything due."""
        report = CycleReport()
        self.fetcher.fetch_all(report)
        self._after_fetching()
        self._fetch_pages()
        self.dispatcher.enrich_due(report)
        return report

    def run_forever(self, interval_seconds: float | None = None) -> None:
        """Fetch each topic when the schedule (or, given, every `interval_seconds`) says it
        is due, and enrich in between, until `stop` is set.

        A Redis outage or an unexpected error is logged and waited out; the loop goes on.
        """
        schedule = self.schedule
        if interval_seconds is not None:
            schedule = IntervalSchedule(timedelta(seconds=interval_seconds))
        while not self.stop.is_set():
            try:
                self._cycle(schedule)
                wait_seconds = self._idle_seconds()
                self._redis_answers()
            except StoreError as exc:
                self._redis_failed(exc)
                wait_seconds = OUTAGE_BACKOFF_SECONDS
            except Exception:
                log.exception("unexpected error in the worker loop; retrying")
                wait_seconds = OUTAGE_BACKOFF_SECONDS
            self.stop.wait(max(wait_seconds, 0.0))

    def _cycle(self, schedule: FetchSchedule) -> None:
        report = CycleReport()
        if self.fetcher.fetch_due(report, schedule):
            self.intake.forget_idle_consumers()
        self.intake.queue_outdated(self.topics)  # one GET, unless the model just changed
        self._fetch_pages()
        self.dispatcher.enrich_due(report)

    def _fetch_pages(self) -> None:
        """The HTML views and licences of new paper versions, before they are enriched."""
        if self.pages is not None:
            self.pages.fetch_pending()

    def _after_fetching(self) -> None:
        self.intake.queue_outdated(self.topics)
        self.intake.forget_idle_consumers()

    def _idle_seconds(self) -> float:
        """Until the next look at the schedule, the next retry or a possible claim."""
        now = self.clock()
        waits = [IDLE_POLL_SECONDS, self.intake.policy.claim_idle_seconds]
        next_retry = self.store.queue.next_retry_at()
        if next_retry is not None:
            waits.append(next_retry - now.timestamp())
        return max(min(waits), 0.05)

    def _redis_failed(self, exc: StoreError) -> None:
        if not self.redis_down:
            log.error("redis unavailable: %s; retrying every %gs", exc, OUTAGE_BACKOFF_SECONDS)
        self.redis_down = True

    def _redis_answers(self) -> None:
        if self.redis_down:
            log.info("redis is back; resuming")
        self.redis_down = False
