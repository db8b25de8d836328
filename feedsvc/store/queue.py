"""The work queue: a stream of (paper, language) items with a consumer group, and retries.

An item is 'waiting' from the moment it is queued until its enrichment is stored or it
gives up; the set `enrich:waiting` keeps a second queueing of the same item out. Every step
that moves an item between the stream, the retry schedule and the waiting set is atomic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from feedsvc.errors import StoreError
from feedsvc.keys import (
    ENRICH_GROUP,
    STREAM_LANGUAGE_FIELD,
    STREAM_PAPER_FIELD,
    Keys,
    split_work_member,
    stream_fields,
    work_member,
)
from feedsvc.store.accounting import add_llm_calls
from feedsvc.store.db import Batch, Db
from feedsvc.store.records import DeadLetter, LlmCall, WorkItem
from feedsvc.store.replies import Reply, StreamEntry

# Stream an item for each (member, paper, language) triple whose member the first command
# (SADD to the waiting set, or ZREM from the retry schedule) changed: both in one step.
_MOVE_TO_STREAM = """
local moved = 0
for i = 4, #ARGV, 3 do
  if redis.call(ARGV[1], KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', ARGV[2], ARGV[i + 1], ARGV[3], ARGV[i + 2])
    moved = moved + 1
  end
end
return moved
"""


def add_enqueue(batch: Batch, keys: Keys, items: Sequence[tuple[str, str]]) -> Reply[int]:
    """Queue: stream each (paper id, language) not already waiting; replies how many."""
    return _move_to_stream(batch, keys, "SADD", keys.enrich_waiting(), items)


def _move_to_stream(
    batch: Batch, keys: Keys, command: str, source: str, items: Sequence[tuple[str, str]]
) -> Reply[int]:
    args: list[str | int] = [command, STREAM_PAPER_FIELD, STREAM_LANGUAGE_FIELD]
    for paper_id, language in items:
        args += [work_member(paper_id, language), paper_id, language]
    return batch.eval(_MOVE_TO_STREAM, [source, keys.enrich_queue()], args)


def add_forget_attempts(batch: Batch, keys: Keys, member: str) -> None:
    """Queue: clear an item's attempts, last failure, failed mark and retry schedule."""
    batch.hdel(keys.enrich_attempts(), member)
    batch.hdel(keys.enrich_failures(), member)
    batch.hdel(keys.enrich_failed(), member)
    batch.zrem(keys.enrich_retry(), member)


def add_release(batch: Batch, keys: Keys, item: WorkItem) -> None:
    """Queue: take the item's entry off the stream (acknowledged and deleted)."""
    if item.entry_id:  # items of a batch result left the stream when submitted
        batch.xack(keys.enrich_queue(), ENRICH_GROUP, item.entry_id)
        batch.xdel(keys.enrich_queue(), item.entry_id)


def add_done(batch: Batch, keys: Keys, item: WorkItem) -> None:
    """Queue: the item is finished; it leaves the stream and the waiting set."""
    add_release(batch, keys, item)
    batch.srem(keys.enrich_waiting(), item.member)


class WorkQueue:
    """Items to enrich: queued, taken, claimed from dead workers, retried, handed back."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys
        self.group_ready = False  # made (or found) once; made again if it disappears

    def ensure(self) -> None:
        """Create the work stream and its consumer group if they do not exist yet."""
        self.db.ensure_group(self.keys.enrich_queue(), ENRICH_GROUP)
        self.group_ready = True

    def enqueue(self, items: Sequence[tuple[str, str]]) -> int:
        """Queue each (paper id, language) not already waiting; return how many were queued."""
        if not items:
            return 0
        return self.db.one(lambda b: add_enqueue(b, self.keys, items))

    def take(self, consumer: str, count: int) -> list[WorkItem]:
        """Up to `count` new items for this consumer; they stay pending until acknowledged."""
        key = self.keys.enrich_queue()
        return self._read_group(lambda b: b.xreadgroup(ENRICH_GROUP, consumer, key, count))

    def claim(self, consumer: str, min_idle_seconds: float, count: int) -> list[WorkItem]:
        """Items another consumer took and left unacknowledged for `min_idle_seconds`."""
        key, idle_ms = self.keys.enrich_queue(), int(min_idle_seconds * 1000)
        return self._read_group(lambda b: b.xautoclaim(key, ENRICH_GROUP, consumer, idle_ms, count))

    def _read_group(self, command: Callable[[Batch], Reply[list[StreamEntry]]]) -> list[WorkItem]:
        """Run a consumer-group read: one round trip once the group is known to exist."""
        if not self.group_ready:
            self.ensure()
        try:
            entries: list[StreamEntry] = self.db.one(command)
        except StoreError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure()  # the stream was deleted since (FLUSHDB, a restore): make it again
            entries = self.db.one(command)
        return _work_items(entries)

    def claim_stale(
        self, consumer: str, min_idle_seconds: float, count: int, max_deliveries: int
    ) -> list[WorkItem]:
        """Items another consumer took and left unacknowledged for `min_idle_seconds`.

        An item delivered more than `max_deliveries` times goes to the dead letters instead.
        """
        while True:
            items = self.claim(consumer, min_idle_seconds, count)
            deliveries = self.deliveries(items)
            usable = [item for item in items if deliveries[item.entry_id] <= max_deliveries]
            for item in items:
                if deliveries[item.entry_id] > max_deliveries:
                    self.dead_letter(item, deliveries[item.entry_id])
            if usable or not items:
                return usable

    def dead_letter(self, item: WorkItem, deliveries: int) -> None:
        """Set aside an item that keeps killing its worker: kept until `requeue_failed`."""
        record = DeadLetter(deliveries, datetime.now(UTC).isoformat()).to_json()
        batch = self.db.batch(atomic=True)
        batch.hset(self.keys.enrich_dead(), {item.member: record})
        batch.srem(self.keys.enrich_waiting(), item.member)
        add_release(batch, self.keys, item)
        batch.run()

    def dead_letters(self) -> dict[str, int]:
        """'paper_id|language' -> deliveries, for every dead-lettered item."""
        raw = self.db.one(lambda b: b.hgetall(self.keys.enrich_dead()))
        return {member: DeadLetter.from_json(record).deliveries for member, record in raw.items()}

    def deliveries(self, items: Sequence[WorkItem]) -> dict[str, int]:
        """Stream entry id -> how many times it was delivered."""
        batch = self.db.batch()
        replies = [
            batch.xdeliveries(self.keys.enrich_queue(), ENRICH_GROUP, item.entry_id)
            for item in items
        ]
        batch.run()
        return {item.entry_id: r.value for item, r in zip(items, replies, strict=True)}

    def ack(self, item: WorkItem, usage: Sequence[LlmCall] = ()) -> None:
        """Mark the item done: its enrichment is stored or no longer needed."""
        batch = self.db.batch(atomic=True)
        add_done(batch, self.keys, item)
        add_llm_calls(batch, self.keys, usage)
        batch.run()

    def hand_back(self, items: Sequence[WorkItem]) -> None:
        """Put in-flight items back on the queue now, for another worker to take."""
        batch = self.db.batch(atomic=True)
        for item in items:
            batch.xadd(self.keys.enrich_queue(), stream_fields(item.paper_id, item.language))
            add_release(batch, self.keys, item)
        batch.run()

    def schedule_retry(
        self, item: WorkItem, due: datetime, reason: str, usage: Sequence[LlmCall] = ()
    ) -> int:
        """Park a failed item until `due`, acknowledge it, count the calls the failed
        attempt made, and return its attempts so far: one step."""
        batch = self.db.batch(atomic=True)
        add_llm_calls(batch, self.keys, usage)
        attempts = batch.hincrby(self.keys.enrich_attempts(), item.member)
        batch.hset(self.keys.enrich_failures(), {item.member: reason})
        batch.zadd(self.keys.enrich_retry(), {item.member: due.timestamp()})
        add_release(batch, self.keys, item)
        batch.run()
        return attempts.value

    def postpone(self, item: WorkItem, due: datetime) -> None:
        """Park an item until `due` without counting an attempt: it waits for something
        else (its paper's HTML view), not for a failure to pass."""
        batch = self.db.batch(atomic=True)
        batch.zadd(self.keys.enrich_retry(), {item.member: due.timestamp()})
        add_release(batch, self.keys, item)
        batch.run()

    def requeue_due_retries(self, now: datetime) -> int:
        """Move retries whose time has come back onto the work queue, in one step."""
        due = self.db.one(
            lambda b: b.zrangebyscore(self.keys.enrich_retry(), "-inf", now.timestamp())
        )
        if not due:
            return 0
        items = [split_work_member(member) for member in due]
        return self.db.one(
            lambda b: _move_to_stream(b, self.keys, "ZREM", self.keys.enrich_retry(), items)
        )

    def attempts(self, paper_id: str, language: str) -> int:
        member = work_member(paper_id, language)
        return int(self.db.one(lambda b: b.hget(self.keys.enrich_attempts(), member)) or 0)

    def next_retry_at(self) -> float | None:
        """Unix time of the earliest parked retry, if any."""
        first = self.db.one(lambda b: b.zfirst(self.keys.enrich_retry()))
        return first[1] if first else None

    def queue_length(self) -> int:
        return self.db.one(lambda b: b.xlen(self.keys.enrich_queue()))

    def waiting_count(self) -> int:
        return self.db.one(lambda b: b.scard(self.keys.enrich_waiting()))

    def retry_count(self) -> int:
        return self.db.one(lambda b: b.zcard(self.keys.enrich_retry()))


def _work_items(entries: Sequence[StreamEntry]) -> list[WorkItem]:
    return [
        WorkItem(entry.entry_id, entry.fields[STREAM_PAPER_FIELD],
                 entry.fields[STREAM_LANGUAGE_FIELD])
        for entry in entries
        if entry.fields  # an entry deleted while pending comes back without fields
    ]  # fmt: skip
