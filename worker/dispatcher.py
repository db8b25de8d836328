"""Synchronous enrichment: one LLM call per item, `concurrency` in flight, until none is left."""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

from feedsvc.errors import EnrichmentFailed
from feedsvc.store import Store, WorkItem
from worker.enrich import Enricher
from worker.intake import Intake
from worker.outcome import CycleReport, Outcome


class Dispatcher(Protocol):
    """Enriches queued work: synchronously (this module) or through the Batch API."""

    def enrich_due(self, report: CycleReport) -> None: ...

    def hand_back_in_flight(self) -> int: ...


class SyncDispatcher:
    """Enriches queued work and due retries with one call per item, in a thread pool."""

    def __init__(
        self,
        intake: Intake,
        enricher: Enricher,
        store: Store,
        concurrency: int,
    ) -> None:
        self.intake = intake
        self.enricher = enricher
        self.store = store
        self.concurrency = concurrency
        self.in_flight: set[WorkItem] = set()
        self.in_flight_lock = threading.Lock()

    def enrich_due(self, report: CycleReport) -> None:
        """Enrich queued work and due retries, `concurrency` at a time, until none is left.

        Stops taking work when asked to stop or the day's token budget is spent; what is in
        flight is finished either way.
        """
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="enrich") as pool:
            self.intake.requeue_due_retries()
            self._drain(pool, report)
            # Answers rejected in this pass are due again at once: passes until none is.
            while not self.intake.must_pause(report) and self.intake.requeue_due_retries():
                self._drain(pool, report)

    def _drain(self, pool: ThreadPoolExecutor, report: CycleReport) -> None:
        """Enrich what the queue holds now, `concurrency` at a time."""
        running: set[Future[Outcome]] = set()
        while True:
            paused = self.intake.must_pause(report)
            room = 0 if paused else self.concurrency - len(running)
            for item in self.intake.take(room):
                running.add(pool.submit(self.process, item))
            if not running:
                return
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                report.tally(future.result())

    def process(self, item: WorkItem) -> Outcome:
        """Enrich one item and store the result; a failure parks it for a later retry."""
        with self.in_flight_lock:
            self.in_flight.add(item)
        try:
            return self._process(item)
        finally:
            self.intake.store_usage()  # calls that no stored result took along, if any
            with self.in_flight_lock:
                self.in_flight.discard(item)

    def _process(self, item: WorkItem) -> Outcome:
        """Three round trips: the take (shared by the items taken together), the read of
        what enriching needs, and the one step that stores the result."""
        inputs = self.intake.paper_to_enrich(item)
        if inputs is None:
            return Outcome.skipped()
        try:
            interests = self.intake.interests(inputs.topics, item.language)
            full_text = self.intake.sections(inputs, item.language)
            if full_text.wait:
                return self.intake.wait_for_pages(item)
            enrichment = self.enricher.enrich(
                inputs.paper, item.language, interests, full_text.sections
            )
        except EnrichmentFailed as exc:
            if exc.kind == "stopped":
                return Outcome.skipped()  # stays pending, reclaimed later
            return self.intake.retry_later(item, inputs.paper, exc, inputs.attempts)
        return self.intake.complete(item, enrichment, inputs)

    def hand_back_in_flight(self) -> int:
        """Return unfinished items to the queue (shutdown ran out of time)."""
        with self.in_flight_lock:
            items = list(self.in_flight)
        self.store.queue.hand_back(items)
        return len(items)
