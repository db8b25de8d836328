"""Batch API jobs in flight: which work items each one holds until its results are applied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedsvc.keys import Keys
from feedsvc.store import queue
from feedsvc.store.db import Db
from feedsvc.store.records import OpenBatch, WorkItem


class BatchStore:
    """Open batches by id; their items stay waiting, off the stream, until applied."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def hand_to_batch(
        self, items: Sequence[WorkItem], batch_id: str, when: datetime,
        interests: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        """Record a submitted batch, with the interests each item was asked to be scored
        against, and take its items off the stream, in one step."""
        members = [item.member for item in items]
        record = OpenBatch(members, when.isoformat(), interests or {}).to_json()
        batch = self.db.batch(atomic=True)
        batch.hset(self.keys.llm_batches(), {batch_id: record})
        for item in items:
            queue.add_release(batch, self.keys, item)
        batch.run()

    def open_batches(self) -> dict[str, list[str]]:
        """Batch id -> the 'paper_id|language' members it holds, for every unfinished batch."""
        raw = self.db.one(lambda b: b.hgetall(self.keys.llm_batches()))
        return {batch_id: OpenBatch.from_json(record).members for batch_id, record in raw.items()}

    def batch_interests(self, batch_id: str) -> dict[str, str]:
        """Member -> the interests stamp its request asked for (empty for older batches)."""
        raw = self.db.one(lambda b: b.hget(self.keys.llm_batches(), batch_id))
        return OpenBatch.from_json(raw).interests if raw else {}

    def close_batch(self, batch_id: str) -> None:
        self.db.one(lambda b: b.hdel(self.keys.llm_batches(), batch_id))
