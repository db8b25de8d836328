"""Every Redis read and write of feedsvc; callers see models, never raw hashes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis

from feedsvc.config import Settings, Topic
from feedsvc.errors import PageNotFound
from feedsvc.keys import ENRICH_GROUP, Keys
from feedsvc.models import Enrichment, FeedItem, Paper, TopicStatus

REDIS_SOCKET_TIMEOUT_SECONDS = 5.0


def connect(settings: Settings) -> redis.Redis:
    """A Redis client for the configured URL, decoding replies to str."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


STAMP_FIELDS = ["method", "model", "prompt_version", "source_hash"]
USAGE_DAYS_KEPT = 400
RENDERED_TTL_SECONDS = 7 * 86400
MAX_DIGEST_PAPERS = 5000


@dataclass(frozen=True)
class EnrichmentStamp:
    """How a stored enrichment was made: enough to tell whether it is still current."""

    method: str
    model: str
    prompt_version: str
    source_hash: str


@dataclass(frozen=True)
class WorkItem:
    """One enrichment to do: a paper in a language, as delivered by the queue.

    `entry_id` is the stream entry, or "" for an item that came back in a batch result.
    """

    entry_id: str
    paper_id: str
    language: str

    @property
    def member(self) -> str:
        return f"{self.paper_id}|{self.language}"

    @classmethod
    def from_member(cls, member: str) -> WorkItem:
        return cls("", *_split_member(member))


@dataclass(frozen=True)
class FeedPage:
    """One page of a feed; `next_visible_at`: when a hidden paper's grace period ends."""

    items: list[FeedItem]
    page: int
    pages: int
    next_visible_at: datetime | None


@dataclass
class SaveResult:
    """What storing one fetch changed."""

    new: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    queued: int = 0


class Store:
    """Reads and writes papers, enrichments, topic state and the work queue."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        # Any: redis-py types every reply as bytes | str whatever decode_responses says.
        self.redis: Any = client
        # Rendered feeds are bytes (gzip): a client on the same pool that does not decode.
        pool = client.connection_pool
        kwargs = {**pool.connection_kwargs, "decode_responses": False}
        binary_pool = redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        self.binary: Any = redis.Redis(connection_pool=binary_pool)
        self.keys = keys

    # -- papers ---------------------------------------------------------------

    def stored_versions(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """The stored version of each given paper that is stored at all."""
        pipe = self.redis.pipeline(transaction=False)
        for paper_id in paper_ids:
            pipe.hget(self.keys.paper(paper_id), "version")
        versions = pipe.execute()
        return {pid: int(v) for pid, v in zip(paper_ids, versions, strict=True) if v is not None}

    def load_paper(self, paper_id: str) -> Paper | None:
        data = self.redis.hgetall(self.keys.paper(paper_id))
        return Paper.from_redis(data) if data else None

    def save_papers(self, topic: Topic, papers: Sequence[Paper]) -> SaveResult:
        """Store a fetch's papers, link them to the topic and queue what needs enriching."""
        result = SaveResult()
        previous = self._previous_state([p.id for p in papers])
        pipe = self.redis.pipeline(transaction=True)
        touched_topics: set[str] = set()
        for fetched in papers:
            old = previous.get(fetched.id)
            pipe.sadd(self.keys.paper_topics(fetched.id), topic.slug)
            if old is not None and int(old["version"]) >= fetched.version:
                pipe.zadd(self.keys.topic_papers(topic.slug), {fetched.id: _score(old["updated"])})
                continue
            (result.new if old is None else result.revised).append(fetched.id)
            paper = fetched if old is None else _keep_first_seen(fetched, old)
            touched_topics.update(old["topics"] if old else ())
            pipe.hset(self.keys.paper(paper.id), mapping=paper.to_redis())
            pipe.zadd(self.keys.topic_papers(topic.slug), {paper.id: paper.updated.timestamp()})
        replies = pipe.execute()
        if touched_topics or any(replies):  # a new member, a new link or a new version
            self._bump_topics(touched_topics | {topic.slug})
        result.queued = self.queue_missing_enrichments(papers, topic.languages)
        return result

    def _bump_topics(self, slugs: Iterable[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for slug in slugs:
            pipe.incr(self.keys.topic_version(slug))
        pipe.execute()

    def _bump_feeds(self, paper_id: str, language: str) -> None:
        """After an enrichment change: bump the feed of every topic the paper is in."""
        slugs = self.redis.smembers(self.keys.paper_topics(paper_id))
        pipe = self.redis.pipeline(transaction=False)
        for slug in slugs:
            pipe.incr(self.keys.feed_version(slug, language))
        pipe.execute()

    def feed_version(self, slug: str, language: str) -> str:
        """The version of one feed's content: one round trip."""
        topic, feed = self.redis.mget(
            self.keys.topic_version(slug), self.keys.feed_version(slug, language)
        )
        return f"{topic or 0}.{feed or 0}"

    def load_rendered(self, slug: str, language: str, variant: str) -> dict[str, bytes]:
        """A rendered feed another web process stored, as raw bytes per field."""
        raw = self.binary.hgetall(self.keys.rendered(slug, language, variant))
        return {k.decode(): v for k, v in raw.items()}

    def save_rendered(
        self, slug: str, language: str, variant: str, fields: dict[str, bytes]
    ) -> None:
        key = self.keys.rendered(slug, language, variant)
        pipe = self.binary.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, RENDERED_TTL_SECONDS)
        pipe.execute()

    def _previous_state(self, paper_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        pipe = self.redis.pipeline(transaction=False)
        for paper_id in paper_ids:
            pipe.hmget(self.keys.paper(paper_id), ["version", "updated", "first_seen"])
            pipe.smembers(self.keys.paper_topics(paper_id))
        rows = pipe.execute()
        previous: dict[str, dict[str, Any]] = {}
        for i, paper_id in enumerate(paper_ids):
            (version, updated, first_seen), topics = rows[2 * i], rows[2 * i + 1]
            if version is not None:
                previous[paper_id] = {
                    "version": version, "updated": updated, "first_seen": first_seen,
                    "topics": topics,
                }  # fmt: skip
        return previous

    # -- enrichments ----------------------------------------------------------

    def load_enrichment(self, paper_id: str, language: str) -> Enrichment | None:
        data = self.redis.hgetall(self.keys.enrichment(paper_id, language))
        return Enrichment.from_redis(data) if data else None

    def save_enrichment(self, paper_id: str, enrichment: Enrichment) -> None:
        """Replace the paper's enrichment in that language and clear its retry state."""
        member = f"{paper_id}|{enrichment.language}"
        key = self.keys.enrichment(paper_id, enrichment.language)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping=enrichment.to_redis())
        pipe.hdel(self.keys.enrich_attempts(), member)
        pipe.hdel(self.keys.enrich_failures(), member)
        pipe.hdel(self.keys.enrich_failed(), member)
        pipe.zrem(self.keys.enrich_retry(), member)
        pipe.execute()
        self._bump_feeds(paper_id, enrichment.language)

    # -- LLM accounting -------------------------------------------------------

    def record_llm_call(
        self, model: str, tokens_in: int, tokens_out: int, outcome: str, when: datetime
    ) -> None:
        """Count one call and its tokens per model, on its UTC day and in the running total."""
        day_key = self.keys.llm_usage(when.astimezone(UTC).date().isoformat())
        pipe = self.redis.pipeline(transaction=False)
        for key in (day_key, self.keys.llm_usage_total()):
            pipe.hincrby(key, f"calls:{model}", 1)
            pipe.hincrby(key, f"tokens_in:{model}", tokens_in)
            pipe.hincrby(key, f"tokens_out:{model}", tokens_out)
            pipe.hincrby(key, f"outcome:{outcome}", 1)
            pipe.hincrby(key, "tokens", tokens_in + tokens_out)
        pipe.expire(day_key, USAGE_DAYS_KEPT * 86400)
        pipe.execute()

    def llm_usage(self, day: str | None = None) -> dict[str, int]:
        """The counters of one UTC day (YYYY-MM-DD), or of all time when `day` is None."""
        key = self.keys.llm_usage_total() if day is None else self.keys.llm_usage(day)
        return {field: int(value) for field, value in self.redis.hgetall(key).items()}

    def add_to_rate_window(self, kind: str, window: int, amount: int) -> int:
        """Add to a shared per-minute counter and return its new total."""
        key = self.keys.llm_rate(kind, window)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incrby(key, amount)
        pipe.expire(key, 180)
        total, _ = pipe.execute()
        return int(total)

    def enrichment_stamps(
        self, paper_ids: Sequence[str], language: str
    ) -> list[EnrichmentStamp | None]:
        """How each paper's enrichment in `language` was made, or None where there is none."""
        pipe = self.redis.pipeline(transaction=False)
        for paper_id in paper_ids:
            pipe.hmget(self.keys.enrichment(paper_id, language), STAMP_FIELDS)
        return [EnrichmentStamp(*row) if row[0] else None for row in pipe.execute()]

    def queue_missing_enrichments(self, papers: Iterable[Paper], languages: Sequence[str]) -> int:
        """Queue each (paper, language) whose enrichment is missing or made from older text.

        An item that gave up on this very text stays failed until `requeue_failed`.
        """
        wanted = [(p, lang) for p in papers for lang in languages]
        pipe = self.redis.pipeline(transaction=False)
        for paper, lang in wanted:
            pipe.hget(self.keys.enrichment(paper.id, lang), "source_hash")
            pipe.hget(self.keys.enrich_failed(), f"{paper.id}|{lang}")
        replies = pipe.execute()
        missing = []
        for i, (paper, lang) in enumerate(wanted):
            stored_hash, failed = replies[2 * i], replies[2 * i + 1]
            gave_up = failed is not None and json.loads(failed)["source_hash"] == paper.source_hash
            if stored_hash != paper.source_hash and not gave_up:
                missing.append((paper.id, lang))
        return self.enqueue(missing)

    # -- work queue -----------------------------------------------------------

    def ensure_queue(self) -> None:
        """Create the work stream and its consumer group if they do not exist yet."""
        try:
            self.redis.xgroup_create(self.keys.enrich_queue(), ENRICH_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def enqueue(self, items: Sequence[tuple[str, str]]) -> int:
        """Queue each (paper id, language) not already waiting; return how many were queued."""
        pipe = self.redis.pipeline(transaction=False)
        for paper_id, language in items:
            pipe.sadd(self.keys.enrich_waiting(), f"{paper_id}|{language}")
        added = pipe.execute()
        fresh = [item for item, was_added in zip(items, added, strict=True) if was_added]
        self._push(fresh)
        return len(fresh)

    def _push(self, items: Iterable[tuple[str, str]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for paper_id, language in items:
            pipe.xadd(self.keys.enrich_queue(), {"paper": paper_id, "lang": language})
        pipe.execute()

    def take_work(self, consumer: str, count: int) -> list[WorkItem]:
        """Up to `count` new items for this consumer; they stay pending until acknowledged."""
        self.ensure_queue()
        reply = self.redis.xreadgroup(
            ENRICH_GROUP, consumer, {self.keys.enrich_queue(): ">"}, count=count
        )
        return [item for _stream, entries in reply or [] for item in _work_items(entries)]

    def claim_stale_work(
        self, consumer: str, min_idle_seconds: float, count: int, max_deliveries: int
    ) -> list[WorkItem]:
        """Items another consumer took and left unacknowledged for `min_idle_seconds`.

        An item delivered more than `max_deliveries` times goes to the dead letters instead.
        """
        self.ensure_queue()
        while True:
            reply = self.redis.xautoclaim(
                self.keys.enrich_queue(),
                ENRICH_GROUP,
                consumer,
                min_idle_time=int(min_idle_seconds * 1000),
                count=count,
            )
            items = _work_items(reply[1])
            deliveries = self._deliveries(items)
            usable = [item for item in items if deliveries[item.entry_id] <= max_deliveries]
            for item in items:
                if deliveries[item.entry_id] > max_deliveries:
                    self.dead_letter(item, deliveries[item.entry_id])
            if usable or not items:
                return usable

    def _deliveries(self, items: Sequence[WorkItem]) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=False)
        for item in items:
            pipe.xpending_range(
                self.keys.enrich_queue(), ENRICH_GROUP, item.entry_id, item.entry_id, 1
            )
        replies = pipe.execute()
        return {
            item.entry_id: int(reply[0]["times_delivered"]) if reply else 0
            for item, reply in zip(items, replies, strict=True)
        }

    def dead_letter(self, item: WorkItem, deliveries: int) -> None:
        """Set aside an item that keeps killing its worker: kept until `requeue_failed`."""
        record = json.dumps({"deliveries": deliveries, "at": datetime.now(UTC).isoformat()})
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.enrich_dead(), item.member, record)
        pipe.srem(self.keys.enrich_waiting(), item.member)
        self._release(pipe, item)
        pipe.execute()

    def dead_letters(self) -> dict[str, int]:
        """'paper_id|language' -> deliveries, for every dead-lettered item."""
        raw = self.redis.hgetall(self.keys.enrich_dead())
        return {member: json.loads(record)["deliveries"] for member, record in raw.items()}

    def hand_back(self, items: Sequence[WorkItem]) -> None:
        """Put in-flight items back on the queue now, for another worker to take."""
        pipe = self.redis.pipeline(transaction=True)
        for item in items:
            pipe.xadd(self.keys.enrich_queue(), {"paper": item.paper_id, "lang": item.language})
            self._release(pipe, item)
        pipe.execute()

    # -- locks ----------------------------------------------------------------

    def acquire_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        key = self.keys.lock(name)
        return bool(self.redis.set(key, token, nx=True, px=int(ttl_seconds * 1000)))

    def renew_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        renewed = self.redis.eval(_RENEW_LOCK, 1, self.keys.lock(name), token,
                                  int(ttl_seconds * 1000))  # fmt: skip
        return bool(renewed)

    def release_lock(self, name: str, token: str) -> None:
        self.redis.eval(_RELEASE_LOCK, 1, self.keys.lock(name), token)

    def redis_time(self) -> float:
        """Redis's clock, the same for every worker on every machine."""
        seconds, micros = self.redis.time()
        return float(seconds) + float(micros) / 1e6

    def arxiv_last_request(self) -> float:
        return float(self.redis.get(self.keys.arxiv_last_request()) or 0.0)

    def mark_arxiv_request(self) -> None:
        self.redis.set(self.keys.arxiv_last_request(), repr(self.redis_time()), ex=86400)

    def ack(self, item: WorkItem) -> None:
        """Mark the item done: its enrichment is stored or no longer needed."""
        pipe = self.redis.pipeline(transaction=True)
        self._release(pipe, item)
        pipe.srem(self.keys.enrich_waiting(), item.member)
        pipe.execute()

    def hand_to_batch(self, items: Sequence[WorkItem], batch_id: str, when: datetime) -> None:
        """Record a submitted batch and take its items off the stream; they stay waiting."""
        record = json.dumps({"members": [i.member for i in items], "created": when.isoformat()})
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.llm_batches(), batch_id, record)
        for item in items:
            self._release(pipe, item)
        pipe.execute()

    def open_batches(self) -> dict[str, list[str]]:
        """Batch id -> the 'paper_id|language' members it holds, for every unfinished batch."""
        raw = self.redis.hgetall(self.keys.llm_batches())
        return {batch_id: json.loads(record)["members"] for batch_id, record in raw.items()}

    def close_batch(self, batch_id: str) -> None:
        self.redis.hdel(self.keys.llm_batches(), batch_id)

    def _release(self, pipe: Any, item: WorkItem) -> None:
        if item.entry_id:  # items of a batch result left the stream when submitted
            pipe.xack(self.keys.enrich_queue(), ENRICH_GROUP, item.entry_id)
            pipe.xdel(self.keys.enrich_queue(), item.entry_id)

    def schedule_retry(self, item: WorkItem, due: datetime, reason: str) -> int:
        """Park a failed item until `due`, acknowledge it, and return its attempts so far."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(self.keys.enrich_attempts(), item.member, 1)
        pipe.hset(self.keys.enrich_failures(), item.member, reason)
        pipe.zadd(self.keys.enrich_retry(), {item.member: due.timestamp()})
        self._release(pipe, item)
        attempts, *_ = pipe.execute()
        return int(attempts)

    def mark_failed(self, item: WorkItem, source_hash: str, reason: str, when: datetime) -> None:
        """Give up on an item: acknowledged, kept with its reason until `requeue_failed`."""
        record = json.dumps({"reason": reason, "source_hash": source_hash, "at": when.isoformat()})
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.enrich_failed(), item.member, record)
        pipe.hincrby(self.keys.enrich_attempts(), item.member, 1)
        pipe.zrem(self.keys.enrich_retry(), item.member)
        pipe.srem(self.keys.enrich_waiting(), item.member)
        self._release(pipe, item)
        pipe.execute()
        self._bump_feeds(item.paper_id, item.language)

    def failed_items(self) -> dict[str, str]:
        """'paper_id|language' -> the last reason, for every item that gave up."""
        raw = self.redis.hgetall(self.keys.enrich_failed())
        return {member: json.loads(record)["reason"] for member, record in raw.items()}

    def requeue_failed(self) -> int:
        """Queue every failed or dead-lettered item again with fresh attempts; return how many."""
        failed = list(self.redis.hkeys(self.keys.enrich_failed()))
        dead = list(self.redis.hkeys(self.keys.enrich_dead()))
        members = sorted(set(failed) | set(dead))
        if not members:
            return 0
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.enrich_failed(), *members)
        pipe.hdel(self.keys.enrich_dead(), *members)
        pipe.hdel(self.keys.enrich_attempts(), *members)
        pipe.execute()
        return self.enqueue([_split_member(m) for m in members])

    def attempts(self, paper_id: str, language: str) -> int:
        return int(self.redis.hget(self.keys.enrich_attempts(), f"{paper_id}|{language}") or 0)

    def requeue_due_retries(self, now: datetime) -> int:
        """Move retries whose time has come back onto the work queue."""
        due = self.redis.zrangebyscore(self.keys.enrich_retry(), "-inf", now.timestamp())
        moved = 0
        for member in due:
            if self.redis.zrem(self.keys.enrich_retry(), member):
                self._push([_split_member(member)])
                moved += 1
        return moved

    def next_retry_at(self) -> float | None:
        """Unix time of the earliest parked retry, if any."""
        first = self.redis.zrange(self.keys.enrich_retry(), 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def queue_length(self) -> int:
        return int(self.redis.xlen(self.keys.enrich_queue()))

    def waiting_count(self) -> int:
        return int(self.redis.scard(self.keys.enrich_waiting()))

    def count_arxiv_request(self, ok: bool) -> None:
        self.redis.hincrby(self.keys.arxiv_requests(), "ok" if ok else "error", 1)

    def arxiv_request_counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.redis.hgetall(self.keys.arxiv_requests()).items()}

    def retry_count(self) -> int:
        return int(self.redis.zcard(self.keys.enrich_retry()))

    # -- topics ---------------------------------------------------------------

    def topic_paper_ids(self, slug: str) -> list[str]:
        """Every paper id of the topic, newest update first."""
        return list(self.redis.zrevrange(self.keys.topic_papers(slug), 0, -1))

    def backfilled_days(self, slug: str) -> set[str]:
        """ISO dates whose backfill finished for the topic."""
        return set(self.redis.smembers(self.keys.topic_backfilled(slug)))

    def mark_backfilled(self, slug: str, day: date) -> None:
        self.redis.sadd(self.keys.topic_backfilled(slug), day.isoformat())

    def topic_paper_count(self, slug: str) -> int:
        return int(self.redis.zcard(self.keys.topic_papers(slug)))

    def record_fetch_success(self, slug: str, when: datetime) -> None:
        self.redis.hset(self.keys.topic_status(slug), "last_fetched", when.isoformat())

    def record_fetch_error(self, slug: str, reason: str, when: datetime) -> None:
        self.redis.hset(
            self.keys.topic_status(slug),
            mapping={"last_error": reason, "last_error_at": when.isoformat()},
        )

    def topic_statuses(self, topics: Sequence[Topic]) -> dict[str, TopicStatus]:
        pipe = self.redis.pipeline(transaction=False)
        for topic in topics:
            pipe.zcard(self.keys.topic_papers(topic.slug))
            pipe.hgetall(self.keys.topic_status(topic.slug))
        replies = pipe.execute()
        return {
            topic.slug: TopicStatus.from_redis(replies[2 * i], replies[2 * i + 1])
            for i, topic in enumerate(topics)
        }

    def feed_page(
        self, topic: Topic, language: str, page: int, size: int, grace_seconds: float, now: datetime
    ) -> FeedPage:
        """One page of the topic's papers ready in `language`, newest first (page 1: newest).

        A paper is ready once enriched in that language, or `grace_seconds` after it was
        first seen (then shown with the abstract and a pending or failed note). Raises
        PageNotFound past the last page.
        """
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(self.keys.topic_papers(topic.slug))
        pipe.zrevrange(self.keys.topic_papers(topic.slug), (page - 1) * size, page * size - 1)
        total, ids = pipe.execute()
        pages = max(1, -(-total // size))
        if page > pages:
            raise PageNotFound(topic.slug, page, pages)
        items, next_visible = self._ready_items(ids, language, grace_seconds, now)
        return FeedPage(items, page, pages, next_visible)

    def recent_items(
        self, topic: Topic, language: str, since: datetime, grace_seconds: float, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        """Every ready paper of the topic updated since `since`, newest first."""
        ids = self.redis.zrevrangebyscore(
            self.keys.topic_papers(topic.slug), "+inf", since.timestamp(),
            start=0, num=MAX_DIGEST_PAPERS,
        )  # fmt: skip
        return self._ready_items(ids, language, grace_seconds, now)

    def _ready_items(
        self, ids: Sequence[str], language: str, grace_seconds: float, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        pipe = self.redis.pipeline(transaction=False)
        for paper_id in ids:
            pipe.hgetall(self.keys.paper(paper_id))
            pipe.hgetall(self.keys.enrichment(paper_id, language))
            pipe.hexists(self.keys.enrich_failed(), f"{paper_id}|{language}")
        replies = pipe.execute()
        items: list[FeedItem] = []
        next_visible: datetime | None = None
        for i in range(len(ids)):
            paper_data, enrichment_data, failed = replies[3 * i : 3 * i + 3]
            if not paper_data:
                continue
            paper = Paper.from_redis(paper_data)
            enrichment = Enrichment.from_redis(enrichment_data) if enrichment_data else None
            visible_at = paper.first_seen + timedelta(seconds=grace_seconds)
            if enrichment is not None or visible_at <= now:
                items.append(FeedItem(paper, enrichment, failed=bool(failed)))
            elif next_visible is None or visible_at < next_visible:
                next_visible = visible_at
        items.sort(key=lambda item: item.paper.updated, reverse=True)
        return items, next_visible


_RENEW_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def _split_member(member: str) -> tuple[str, str]:
    paper_id, language = member.rsplit("|", 1)
    return paper_id, language


def _work_items(entries: Sequence[tuple[str, dict[str, str] | None]]) -> list[WorkItem]:
    return [
        WorkItem(entry_id, fields["paper"], fields["lang"])
        for entry_id, fields in entries
        if fields  # an entry deleted while pending comes back without fields
    ]


def _keep_first_seen(paper: Paper, old: dict[str, str]) -> Paper:
    return replace(paper, first_seen=datetime.fromisoformat(old["first_seen"]).astimezone(UTC))


def _score(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time).timestamp()
