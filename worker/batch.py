"""Enrichment through the OpenAI Batch API: half the price, for work that can wait a day.

https://platform.openai.com/docs/guides/batch: upload a JSONL file of requests, create a
batch, poll it, read the output (and error) file, match lines by `custom_id`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from feedsvc.errors import EnrichmentFailed
from feedsvc.models import Paper
from feedsvc.store import Store, WorkItem
from worker.enrich import LLMEnricher
from worker.enrich.llm import BatchEndpoint

log = logging.getLogger(__name__)

BATCH_SUFFIX = "@batch"  # usage is counted under "<model>@batch", billed at half price
FINAL_STATUSES = {"completed", "expired", "failed", "cancelled"}
ENDPOINT: BatchEndpoint = "/v1/chat/completions"

RetryLater = Callable[[WorkItem, Paper, EnrichmentFailed], str]


class BatchEnrichment:
    """Submits queued work as one batch at a time and applies finished batches."""

    def __init__(self, enricher: LLMEnricher, store: Store, clock: Callable[[], datetime]) -> None:
        self.enricher = enricher
        self.llm = enricher.llm
        self.store = store
        self.clock = clock

    def submit(self, items: Sequence[WorkItem]) -> str:
        """Upload the items as a JSONL file, create the batch, and record it in Redis."""
        lines = []
        for item in items:
            paper = self.store.load_paper(item.paper_id)
            if paper is not None:
                body = self.enricher.request_body(paper, item.language)
                line = {"custom_id": item.member, "method": "POST", "url": ENDPOINT, "body": body}
                lines.append(json.dumps(line, ensure_ascii=False))
        payload = "\n".join(lines).encode()
        # EnrichmentFailed leaves the items queued: the next cycle submits them again.
        batch = self.llm.create_batch(self.llm.upload_batch_input(payload), ENDPOINT)
        self.store.hand_to_batch(items, batch.id, self.clock())
        log.info("batch %s submitted: %d requests", batch.id, len(lines))
        return batch.id

    def poll(self, retry_later: RetryLater) -> list[tuple[str, str]]:
        """Apply every finished batch; returns an outcome per item, as Runner.process does."""
        outcomes: list[tuple[str, str]] = []
        for batch_id, members in self.store.open_batches().items():
            batch = self.llm.batch_state(batch_id)
            if batch.status not in FINAL_STATUSES:
                continue
            results = self._lines(batch.output_file_id) | self._lines(batch.error_file_id)
            for member in members:
                outcomes.append(self._apply(member, results.get(member), batch.status, retry_later))
            self.store.close_batch(batch_id)
            log.info("batch %s %s: %d results applied", batch_id, batch.status, len(results))
        return outcomes

    def _lines(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        if not file_id:
            return {}
        text = self.llm.file_text(file_id)
        lines = (json.loads(line) for line in text.splitlines() if line.strip())
        return {line["custom_id"]: line for line in lines}

    def _apply(
        self, member: str, line: dict[str, Any] | None, status: str, retry_later: RetryLater
    ) -> tuple[str, str]:
        item = WorkItem.from_member(member)
        paper = self.store.load_paper(item.paper_id)
        if paper is None:
            self.store.ack(item)
            return "skipped", ""
        try:
            completion = _completion_of(line, status)
            enrichment = self.enricher.enrichment_from_completion(
                paper, item.language, completion, self.enricher.model + BATCH_SUFFIX
            )
        except EnrichmentFailed as exc:
            return "failed", retry_later(item, paper, exc)
        self.store.save_enrichment(paper.id, enrichment)
        self.store.ack(item)
        return "enriched", ""


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
