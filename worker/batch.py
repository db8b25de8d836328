"""Enrichment through the OpenAI Batch API: half the price, for work that can wait a day.

https://platform.openai.com/docs/guides/batch: upload a JSONL file of requests, create a
batch, poll it, read the output (and error) file, match lines by `custom_id`. One batch is
open at a time: each cycle polls it; when none is open, everything queued is submitted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from feedsvc.errors import EnrichmentFailed
from feedsvc.models import Section
from feedsvc.store import Store, WorkItem
from worker.enrich import LLMEnricher
from worker.enrich.enricher import read_from
from worker.enrich.llm import BatchEndpoint
from worker.enrich.prompt import Interest, stamp_of
from worker.intake import Intake
from worker.outcome import CycleReport, Outcome

log = logging.getLogger(__name__)

READ = "#"  # in a batch record's stamp: the interests asked, READ, what the request read
BATCH_SUFFIX = "@batch"  # usage is counted under "<model>@batch", billed at half price
FINAL_STATUSES = {"completed", "expired", "failed", "cancelled"}
ENDPOINT: BatchEndpoint = "/v1/chat/completions"
BATCH_MAX_REQUESTS = 20000
BATCH_TAKE = 500


class BatchDispatcher:
    """Submits queued work as one batch at a time and applies finished batches."""

    def __init__(
        self, intake: Intake, enricher: LLMEnricher, store: Store, clock: Callable[[], datetime]
    ) -> None:
        self.intake = intake
        self.enricher = enricher
        self.llm = enricher.llm
        self.store = store
        self.clock = clock

    def enrich_due(self, report: CycleReport) -> None:
        """Apply finished batches; when none is open, submit everything queued as one."""
        self.intake.requeue_due_retries()
        try:
            for outcome in self.poll():
                report.tally(outcome)
        except EnrichmentFailed as exc:  # the batch stays open and is polled again next cycle
            log.warning("polling batches failed: %s", exc.reason)
            report.fail(exc.reason)
            return
        if self.store.batches.open_batches() or self.intake.must_pause(report):
            return
        todo: list[WorkItem] = []
        while len(todo) < BATCH_MAX_REQUESTS and (taken := self.intake.take(BATCH_TAKE)):
            todo += [item for item in taken if self.intake.paper_to_enrich(item) is not None]
        if not todo:
            return
        try:
            self.submit(todo)
        except EnrichmentFailed as exc:
            log.warning("%s; %d items stay queued", exc.reason, len(todo))
            report.fail(exc.reason)

    def hand_back_in_flight(self) -> int:
        """Nothing to hand back: a submitted batch's items wait in Redis until applied."""
        return 0

    def submit(self, items: Sequence[WorkItem]) -> str:
        """Upload the items as a JSONL file, create the batch, and record it in Redis."""
        lines, asked = [], {}
        for item in items:
            paper = self.store.papers.load_paper(item.paper_id)
            if paper is not None:
                interests = self._interests(item)
                sections = self._sections(item)
                asked[item.member] = f"{stamp_of(interests)}{READ}{read_from(sections)}"
                body = self.enricher.request_body(paper, item.language, interests, sections)
                line = {"custom_id": item.member, "method": "POST", "url": ENDPOINT, "body": body}
                lines.append(json.dumps(line, ensure_ascii=False))
        payload = "\n".join(lines).encode()
        # EnrichmentFailed leaves the items queued: the next cycle submits them again.
        batch = self.llm.create_batch(self.llm.upload_batch_input(payload), ENDPOINT)
        self.store.batches.hand_to_batch(items, batch.id, self.clock(), asked)
        log.info("batch %s submitted: %d requests", batch.id, len(lines))
        return batch.id

    def poll(self) -> list[Outcome]:
        """Apply every finished batch; an outcome per item."""
        outcomes: list[Outcome] = []
        for batch_id, members in self.store.batches.open_batches().items():
            batch = self.llm.batch_state(batch_id)
            if batch.status not in FINAL_STATUSES:
                continue
            results = self._lines(batch.output_file_id) | self._lines(batch.error_file_id)
            asked = self.store.batches.batch_interests(batch_id)
            for member in members:
                line = results.get(member)
                outcomes.append(self._apply(member, line, batch.status, asked.get(member)))
            self.store.batches.close_batch(batch_id)
            log.info("batch %s %s: %d results applied", batch_id, batch.status, len(results))
        return outcomes

    def _interests(self, item: WorkItem) -> tuple[Interest, ...]:
        """What the item's paper is scored against: read again when its result comes back (a
        topic that took the paper in between makes the answer fail, and be asked again)."""
        topics, _ = self.store.enrichments.feed_place(item.paper_id)
        return self.intake.interests(topics, item.language)

    def _sections(self, item: WorkItem) -> tuple[Section, ...] | None:
        """What a full-text topic's request reads of the paper (a batch does not wait for a
        view still to be fetched: it reads the abstract then)."""
        inputs = self.store.enrichments.enrichment_inputs(item)
        return self.intake.sections(inputs, item.language).sections if inputs else None

    def _lines(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        if not file_id:
            return {}
        text = self.llm.file_text(file_id)
        lines = (json.loads(line) for line in text.splitlines() if line.strip())
        return {line["custom_id"]: line for line in lines}

    def _apply(
        self, member: str, line: dict[str, Any] | None, status: str, asked: str | None
    ) -> Outcome:
        """Store a result line's enrichment; a failure, or a result scored against other
        interests than the paper's topics state now, is asked for again."""
        item = WorkItem.from_member(member)
        paper = self.store.papers.load_paper(item.paper_id)
        if paper is None:
            self.store.queue.ack(item)
            return Outcome.skipped()
        interests = self._interests(item)
        asked_interests, read, asked_read = (asked or "").partition(READ)
        sections = self._sections(item)
        if read and asked_read != read_from(sections):  # the view came while the batch ran
            sections = None if not asked_read else ()
        try:
            if asked is not None and asked_interests != stamp_of(interests):
                raise EnrichmentFailed("the topics' interests changed while the batch ran",
                                       kind="validation")  # fmt: skip
            completion = _completion_of(line, status)
            enrichment = self.enricher.enrichment_from_completion(
                paper, item.language, completion, self.enricher.model + BATCH_SUFFIX, interests,
                sections,
            )  # fmt: skip
        except EnrichmentFailed as exc:
            return self.intake.retry_later(item, paper, exc)
        outcome = self.intake.complete(item, enrichment)
        if read and asked_read != read_from(self._sections(item)):
            self.store.queue.enqueue([(item.paper_id, item.language)])  # now it can read more
        return outcome


def _completion_of(line: dict[str, Any] | None, status: str) -> dict[str, Any]:
    """The chat completion inside a batch result line, or EnrichmentFailed saying why not."""
    if line is None:
        raise EnrichmentFailed(f"no result: the batch ended {status}")
    response = line.get("response") or {}
    if line.get("error") or response.get("status_code") != 200:
        code = response.get("status_code", "?")
        raise EnrichmentFailed(f"batch line failed with HTTP {code}")
    body: dict[str, Any] = response.get("body") or {}
    return body
