"""Enrichment through the Batch API: submit what is queued, apply what has finished."""

from __future__ import annotations

import logging

from feedsvc.errors import EnrichmentFailed
from feedsvc.store import Store, WorkItem
from worker.batch import BatchEnrichment
from worker.intake import Intake
from worker.outcome import CycleReport

log = logging.getLogger(__name__)

BATCH_MAX_REQUESTS = 20000
BATCH_TAKE = 500


class BatchDispatcher:
    """One open batch at a time: poll it each cycle; when none is open, submit the queue."""

    def __init__(self, intake: Intake, batch: BatchEnrichment, store: Store) -> None:
        self.intake = intake
        self.batch = batch
        self.store = store

    def enrich_due(self, report: CycleReport) -> None:
        """Apply finished batches; when none is open, submit everything queued as one."""
        self.intake.requeue_due_retries()
        for outcome in self.batch.poll(self.intake.retry_later):
            report.tally(outcome)
        if self.store.batches.open_batches() or self.intake.must_pause(report):
            return
        todo: list[WorkItem] = []
        while len(todo) < BATCH_MAX_REQUESTS and (taken := self.intake.take(BATCH_TAKE)):
            todo += [item for item in taken if self.intake.paper_to_enrich(item) is not None]
        if not todo:
            return
        try:
            self.batch.submit(todo)
        except EnrichmentFailed as exc:
            log.warning("%s; %d items stay queued", exc.reason, len(todo))
            report.failures.append(exc.reason)

    def hand_back_in_flight(self) -> int:
        """Nothing to hand back: a submitted batch's items wait in Redis until applied."""
        return 0
