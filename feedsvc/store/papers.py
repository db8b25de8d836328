"""Papers and their enrichments: what was fetched from arXiv and what was made of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from feedsvc.calendar import announcement_day
from feedsvc.config import Topic
from feedsvc.keys import Keys, work_member
from feedsvc.models import Enrichment, Paper, Revision, TopicStatus
from feedsvc.store import feeds, queue
from feedsvc.store.accounting import add_llm_calls
from feedsvc.store.db import Batch, Db
from feedsvc.store.records import (
    EnrichmentInputs,
    EnrichmentStamp,
    FailedRecord,
    LlmCall,
    SaveResult,
    WorkItem,
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

    def load_enrichment(self, paper_id: str, language: str) -> Enrichment | None:
        data = self.db.one(lambda b: b.hgetall(self.keys.enrichment(paper_id, language)))
        return Enrichment.from_redis(data) if data else None

    def enrichment_stamps(
        self, paper_ids: Sequence[str], language: str
    ) -> list[EnrichmentStamp | None]:
        """How each paper's enrichment in `language` was made, or None where there is none."""
        batch = self.db.batch()
        replies = [
            batch.hmget(self.keys.enrichment(paper_id, language), EnrichmentStamp.FIELDS)
            for paper_id in paper_ids
        ]
        batch.run()
        return [_stamp(reply.value) for reply in replies]

    def save_papers(
        self, topic: Topic, papers: Sequence[Paper], fetched_at: datetime | None = None
    ) -> SaveResult:
        """Store a fetch's papers, link them to the topic and queue what needs enriching.

        One atomic step: the papers, their links, the versions of the feeds they change,
        their work items and, given `fetched_at`, the topic's last successful fetch are all
        stored, or none of them.
        """
        known = self._known([p.id for p in papers])
        missing = self._missing_enrichments(papers, topic.languages)
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
        for fetched in papers:
            if fetched.id in updated:  # changed in place: the digests that show it re-render
                days = [
                    announcement_day(t) for t in (known[fetched.id].paper.updated, fetched.updated)
                ]
                feeds.bump_topic_days(
                    batch, self.keys, known[fetched.id].topics | {topic.slug}, days
                )
        queued = queue.add_enqueue(batch, self.keys, missing)
        if fetched_at is not None:
            mark = _moved_mark(papers, self.topics.high_water(topic.slug))
            status = TopicStatus.success_fields(fetched_at, mark)
            batch.hset(self.keys.topic_status(topic.slug), status)
            batch.hsetnx(
                self.keys.topic_status(topic.slug), "first_fetched", status["last_fetched"]
            )
        batch.run()
        result.queued = queued.value
        return result

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
        if old is None:
            result.new.append(fetched.id)
            self._write_paper(batch, topic, fetched, fetched.updated)
            return True
        stored = old.paper
        revision = Revision.between(stored, fetched, now)
        if fetched.version < stored.version or revision is None:
            batch.zadd(self.keys.topic_papers(topic.slug), {stored.id: stored.updated.timestamp()})
            return topic.slug not in old.topics
        (result.amended if revision.amended else result.revised).append(fetched.id)
        paper = replace(fetched, first_seen=stored.first_seen, revision=revision)
        score = stored.updated if revision.amended else paper.updated
        self._write_paper(batch, topic, paper, score)
        return True

    def _write_paper(self, batch: Batch, topic: Topic, paper: Paper, updated: datetime) -> None:
        batch.hset(self.keys.paper(paper.id), paper.to_redis())
        batch.zadd(self.keys.topic_papers(topic.slug), {paper.id: updated.timestamp()})

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

    def _missing_enrichments(
        self, papers: Sequence[Paper], languages: Sequence[str]
    ) -> list[tuple[str, str]]:
        """Each (paper, language) whose enrichment is missing or made from older text.

        An item that gave up on this very text stays failed, and a dead letter stays dead,
        until `requeue_failed`.
        """
        wanted = [(paper, language) for paper in papers for language in languages]
        batch = self.db.batch()
        replies = [
            (
                batch.hget(self.keys.enrichment(paper.id, language), Enrichment.SOURCE_HASH_FIELD),
                batch.hget(self.keys.enrich_failed(), work_member(paper.id, language)),
                batch.hexists(self.keys.enrich_dead(), work_member(paper.id, language)),
            )
            for paper, language in wanted
        ]
        batch.run()
        missing = []
        for (paper, language), (stored_hash, failed, dead) in zip(wanted, replies, strict=True):
            gave_up = failed.value is not None and _failed_hash(failed.value) == paper.source_hash
            if stored_hash.value != paper.source_hash and not gave_up and not dead.value:
                missing.append((paper.id, language))
        return missing

    def checked_identity(self) -> tuple[str, str, str] | None:
        """The enricher (method, model, prompt version) stored results were last checked
        against, or None if never."""
        raw = self.db.one(lambda b: b.get(self.keys.enrich_identity()))
        if raw is None:
            return None
        method, model, prompt_version = json.loads(raw)
        return (str(method), str(model), str(prompt_version))

    def record_checked_identity(self, identity: tuple[str, str, str]) -> None:
        raw = json.dumps(list(identity))
        self.db.one(lambda b: b.set_string(self.keys.enrich_identity(), raw))

    def enrichment_inputs(self, item: WorkItem) -> EnrichmentInputs | None:
        """The item's paper, how its enrichment was made, its topics and failed attempts:
        one round trip. None when the paper is not stored."""
        batch = self.db.batch()
        paper = batch.hgetall(self.keys.paper(item.paper_id))
        stamp = batch.hmget(self.keys.enrichment(item.paper_id, item.language),
                            EnrichmentStamp.FIELDS)  # fmt: skip
        topics = batch.smembers(self.keys.paper_topics(item.paper_id))
        attempts = batch.hget(self.keys.enrich_attempts(), item.member)
        batch.run()
        if not paper.value:
            return None
        return EnrichmentInputs(Paper.from_redis(paper.value), _stamp(stamp.value),
                                frozenset(topics.value), int(attempts.value or 0))  # fmt: skip

    def save_enrichment(
        self,
        paper_id: str,
        enrichment: Enrichment,
        done: WorkItem | None = None,
        inputs: EnrichmentInputs | None = None,
        usage: Sequence[LlmCall] = (),
    ) -> None:
        """Replace the paper's enrichment in that language, clear its retry state, bump the
        feeds that show it (and the paper's day in their digests), count the LLM calls it
        cost and, given the work item it answers, acknowledge that: one step, one round trip
        given the `inputs` read before enriching.

        A topic that took the paper after `inputs` were read is bumped right after.
        """
        language = enrichment.language
        topics, day = self._feed_place(paper_id, inputs)
        key = self.keys.enrichment(paper_id, language)
        batch = self.db.batch(atomic=True)
        batch.delete(key)
        batch.hset(key, enrichment.to_redis())
        batch.sadd(self.keys.enriched(language), paper_id)
        queue.add_forget_attempts(batch, self.keys, work_member(paper_id, language))
        feeds.bump_feeds(batch, self.keys, topics, language, day)
        add_llm_calls(batch, self.keys, usage)
        if done is not None:
            queue.add_done(batch, self.keys, done)
        linked = batch.smembers(self.keys.paper_topics(paper_id))
        batch.run()
        if late := linked.value - topics:
            bump = self.db.batch(atomic=True)
            feeds.bump_feeds(bump, self.keys, late, language, day)
            bump.run()

    def feed_place(self, paper_id: str) -> tuple[frozenset[str], date | None]:
        """The topics whose feeds show the paper, and its announcement day (None if gone)."""
        return self._feed_place(paper_id, None)

    def _feed_place(
        self, paper_id: str, inputs: EnrichmentInputs | None
    ) -> tuple[frozenset[str], date | None]:
        if inputs is not None:
            return inputs.topics, announcement_day(inputs.paper.updated)
        batch = self.db.batch()
        topics = batch.smembers(self.keys.paper_topics(paper_id))
        updated = batch.hget(self.keys.paper(paper_id), "updated")
        batch.run()
        day = announcement_day(Paper.decode_time(updated.value)) if updated.value else None
        return frozenset(topics.value), day


def _moved_mark(papers: Sequence[Paper], mark: datetime | None) -> datetime | None:
    """The newest `updated` of the fetch when it is past the topic's mark, else None."""
    newest = max((paper.updated for paper in papers), default=None)
    if newest is None or (mark is not None and newest <= mark):
        return None
    return newest


def _stamp(fields: list[str | None]) -> EnrichmentStamp | None:
    method, model, prompt_version, source_hash = fields
    if not method:
        return None
    return EnrichmentStamp(method, model or "", prompt_version or "", source_hash or "")


def _failed_hash(record: str) -> str:
    return FailedRecord.from_json(record).source_hash
