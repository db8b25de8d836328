"""Papers and their enrichments: what was fetched from arXiv and what was made of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from feedsvc.calendar import announcement_day
from feedsvc.config import Topic
from feedsvc.keys import Keys, work_member
from feedsvc.models import Enrichment, Paper, Revision
from feedsvc.status import TopicStatus
from feedsvc.store import feeds, queue
from feedsvc.store.db import Batch, Db
from feedsvc.store.records import (
    FailedRecord,
    SaveResult,
)
from feedsvc.store.topics import TopicStore


@dataclass(frozen=True)
class _Known:
    """What is stored of a paper before a fetch is saved."""

    paper: Paper
    topics: frozenset[str]


class PaperStore:
    """Paper hashes, their topic links and their enrichments, one hash per language."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys
        self.topics = TopicStore(db, keys)  # a fetch moves its topic's high-water mark

    def stored_versions(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """The stored version of each given paper that is stored at all."""
        batch = self.db.batch()
        replies = [
            batch.hget(self.keys.paper(paper_id), Paper.VERSION_FIELD) for paper_id in paper_ids
        ]
        batch.run()
        return {
            paper_id: int(reply.value)
            for paper_id, reply in zip(paper_ids, replies, strict=True)
            if reply.value is not None
        }

    def load_paper(self, paper_id: str) -> Paper | None:
        data = self.db.one(lambda b: b.hgetall(self.keys.paper(paper_id)))
        return Paper.from_redis(data) if data else None

    def save_papers(
        self, topic: Topic, papers: Sequence[Paper], fetched_at: datetime | None = None
    ) -> SaveResult:
        """Store a fetch's papers, link them to the topic and queue what needs enriching.

        One atomic step: the papers, their links, the versions of the feeds they change,
        their work items and, given `fetched_at`, the topic's last successful fetch are all
        stored, or none of them.
        """
        known = self._known([p.id for p in papers])
        missing = self._missing_enrichments(papers, topic)
        result = SaveResult()
        batch = self.db.batch(atomic=True)
        changed = False
        now = fetched_at or datetime.now(UTC)
        for fetched in papers:
            old = known.get(fetched.id)
            changed |= self._add_paper(batch, topic, fetched, old, result, now)
        updated = set(result.revised) | set(result.amended)
        touched = {slug for p in papers if p.id in updated for slug in known[p.id].topics}
        if changed or touched:
            feeds.bump_topics(batch, self.keys, touched | {topic.slug})
        self._bump_days(batch, topic, [p for p in papers if p.id in updated], known)
        queued = queue.add_enqueue(batch, self.keys, missing)
        if fetched_at is not None:
            self._add_fetch_success(batch, topic, papers, fetched_at)
        batch.run()
        result.queued = queued.value
        return result

    def _add_fetch_success(
        self, batch: Batch, topic: Topic, papers: Sequence[Paper], fetched_at: datetime
    ) -> None:
        """Queue: the topic's last (and, the first time, first) successful fetch, and its
        high-water mark when this fetch moved it."""
        mark = _moved_mark(papers, self.topics.high_water(topic.slug))
        status = TopicStatus.success_fields(fetched_at, mark)
        key = self.keys.topic_status(topic.slug)
        batch.hset(key, status)
        batch.hsetnx(key, "first_fetched", status["last_fetched"])

    def _bump_days(
        self, batch: Batch, topic: Topic, changed: Sequence[Paper], known: dict[str, _Known]
    ) -> None:
        """Queue: papers changed in place; the digest days that showed and show them move."""
        for fetched in changed:
            before = known[fetched.id]
            days = [announcement_day(before.paper.updated), announcement_day(fetched.updated)]
            feeds.bump_topic_days(batch, self.keys, before.topics | {topic.slug}, days)

    def _add_paper(
        self, batch: Batch, topic: Topic, fetched: Paper, old: _Known | None, result: SaveResult,
        now: datetime,
    ) -> bool:  # fmt: skip
        """Queue the writes for one fetched paper; True when the topic's feeds change.

        A new version replaces the stored paper and says what changed; the same version
        with new metadata (a journal reference or DOI that arrived later) amends it; an
        older or unchanged one only links it to the topic.
        """
        batch.sadd(self.keys.paper_topics(fetched.id), topic.slug)
        batch.zadd_new(self.keys.topic_arrivals(topic.slug), {fetched.id: now.timestamp()})
        if old is None:
            result.new.append(fetched.id)
            self._write_paper(batch, [topic.slug], fetched, fetched.updated)
            batch.sadd(self.keys.pages_pending(), fetched.id)
            return True
        stored = old.paper
        revision = Revision.between(stored, fetched, now)
        if fetched.version < stored.version or revision is None:
            batch.zadd(self.keys.topic_papers(topic.slug), {stored.id: stored.updated.timestamp()})
            return topic.slug not in old.topics
        (result.amended if revision.amended else result.revised).append(fetched.id)
        paper = replace(fetched, first_seen=stored.first_seen, revision=revision)
        if revision.amended:
            self._write_paper(batch, [topic.slug], paper, stored.updated)
        else:  # every topic that shows it lists it by its new update, digests included
            self._write_paper(batch, sorted(old.topics | {topic.slug}), paper, paper.updated)
            batch.sadd(self.keys.pages_pending(), paper.id)  # a new version, a new view
        return True

    def _write_paper(
        self, batch: Batch, slugs: Sequence[str], paper: Paper, updated: datetime
    ) -> None:
        batch.hset(self.keys.paper(paper.id), paper.to_redis())
        for slug in slugs:
            batch.zadd(self.keys.topic_papers(slug), {paper.id: updated.timestamp()})

    def _known(self, paper_ids: Sequence[str]) -> dict[str, _Known]:
        batch = self.db.batch()
        rows = [
            (
                batch.hgetall(self.keys.paper(paper_id)),
                batch.smembers(self.keys.paper_topics(paper_id)),
            )
            for paper_id in paper_ids
        ]
        batch.run()
        return {
            paper_id: _Known(Paper.from_redis(fields.value), frozenset(topics.value))
            for paper_id, (fields, topics) in zip(paper_ids, rows, strict=True)
            if fields.value
        }

    def _missing_enrichments(self, papers: Sequence[Paper], topic: Topic) -> list[tuple[str, str]]:
        """Each (paper, language) of the topic whose enrichment is missing, made from older
        text or, when the topic states an interest, not scored against it (a paper that
        joins a second topic).

        An item that gave up on this very text stays failed, and a dead letter stays dead,
        until `requeue_failed`.
        """
        wanted = [(paper, language) for paper in papers for language in topic.languages]
        scored = f"{topic.slug}:{topic.interest_key}"
        batch = self.db.batch()
        stamps = [Enrichment.SOURCE_HASH_FIELD, "interests"]
        replies = [
            (
                batch.hmget(self.keys.enrichment(paper.id, language), stamps),
                batch.hget(self.keys.enrich_failed(), work_member(paper.id, language)),
                batch.hexists(self.keys.enrich_dead(), work_member(paper.id, language)),
            )
            for paper, language in wanted
        ]
        batch.run()
        missing = []
        for (paper, language), (stamp, failed, dead) in zip(wanted, replies, strict=True):
            stored_hash, interests = stamp.value
            gave_up = failed.value is not None and _failed_hash(failed.value) == paper.source_hash
            unscored = topic.interest and scored not in (interests or "").split(",")
            current = stored_hash == paper.source_hash and not unscored
            if not current and not gave_up and not dead.value:
                missing.append((paper.id, language))
        return missing


def _moved_mark(papers: Sequence[Paper], mark: datetime | None) -> datetime | None:
    """The newest `updated` of the fetch when it is past the topic's mark, else None."""
    newest = max((paper.updated for paper in papers), default=None)
    if newest is None or (mark is not None and newest <= mark):
        return None
    return newest


def _failed_hash(record: str) -> str:
    return FailedRecord.from_json(record).source_hash
