"""Items that gave up: kept with their reason until `feedsvc-worker retry-failed`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedsvc.keys import Keys, split_work_member
from feedsvc.store import feeds, queue
from feedsvc.store.accounting import add_llm_calls
from feedsvc.store.db import Db
from feedsvc.store.enrichments import EnrichmentStore
from feedsvc.store.records import FailedRecord, LlmCall, WorkItem


class FailureStore:
    """Enrichments marked failed, and the way back onto the queue for them and dead letters."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys
        self.enrichments = EnrichmentStore(db, keys)  # where a failed paper shows: feeds, day

    def mark_failed(
        self, item: WorkItem, source_hash: str, reason: str, when: datetime,
        usage: Sequence[LlmCall] = (),
    ) -> None:  # fmt: skip
        """Give up on an item: acknowledged, kept with its reason, its feeds told, the calls
        of its last attempt counted; one step."""
        record = FailedRecord(reason, source_hash, when.isoformat()).to_json()
        slugs, day = self.enrichments.feed_place(item.paper_id)
        batch = self.db.batch(atomic=True)
        add_llm_calls(batch, self.keys, usage)
        batch.hset(self.keys.enrich_failed(), {item.member: record})
        batch.hincrby(self.keys.enrich_attempts(), item.member)
        batch.zrem(self.keys.enrich_retry(), item.member)
        queue.add_done(batch, self.keys, item)
        feeds.bump_feeds(batch, self.keys, slugs, item.language, day)
        batch.run()

    def failed_items(self) -> dict[str, str]:
        """'paper_id|language' -> the last reason, for every item that gave up."""
        raw = self.db.one(lambda b: b.hgetall(self.keys.enrich_failed()))
        return {member: FailedRecord.from_json(record).reason for member, record in raw.items()}

    def requeue_failed(self) -> int:
        """Queue every failed or dead-lettered item again with fresh attempts; return how many."""
        batch = self.db.batch()
        failed = batch.hkeys(self.keys.enrich_failed())
        dead = batch.hkeys(self.keys.enrich_dead())
        batch.run()
        members = sorted(set(failed.value) | set(dead.value))
        if not members:
            return 0
        batch = self.db.batch(atomic=True)
        batch.hdel(self.keys.enrich_failed(), *members)
        batch.hdel(self.keys.enrich_dead(), *members)
        batch.hdel(self.keys.enrich_attempts(), *members)
        queued = queue.add_enqueue(batch, self.keys, [split_work_member(m) for m in members])
        batch.run()
        return queued.value
