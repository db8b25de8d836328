"""Enrichments: what was made of each paper per language, how, and what it cost."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from feedsvc.calendar import announcement_day
from feedsvc.keys import Keys, work_member
from feedsvc.models import Enrichment, Paper, PaperPages
from feedsvc.store import feeds, queue
from feedsvc.store.accounting import add_llm_calls
from feedsvc.store.db import Db
from feedsvc.store.records import EnrichmentInputs, EnrichmentStamp, LlmCall, WorkItem
from feedsvc.times import decode_time, encode_time


class EnrichmentStore:
    """One hash per paper and language, the per-language index of enriched papers, and the
    enricher that stored results were last checked against."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

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

    def checked_identity(self) -> tuple[tuple[str, str, str] | None, datetime | None]:
        """The enricher (method, model, prompt version) stored results were last checked
        against, and when; (None, None) if never."""
        raw = self.db.one(lambda b: b.get(self.keys.enrich_identity()))
        if raw is None:
            return None, None
        method, model, prompt_version, *when = json.loads(raw)
        checked_at = decode_time(when[0]) if when else None
        return (str(method), str(model), str(prompt_version)), checked_at

    def record_checked_identity(self, identity: tuple[str, str, str], when: datetime) -> None:
        raw = json.dumps([*identity, encode_time(when)])
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
        pages = batch.hgetall(self.keys.paper_pages(item.paper_id))
        pending = batch.sismember(self.keys.pages_pending(), item.paper_id)
        batch.run()
        if not paper.value:
            return None
        return EnrichmentInputs(Paper.from_redis(paper.value), _stamp(stamp.value),
                                frozenset(topics.value), int(attempts.value or 0),
                                PaperPages.from_redis(pages.value) if pages.value else None,
                                pending.value)  # fmt: skip

    def save_enrichment(
        self,
        paper_id: str,
        enrichment: Enrichment,
        done: WorkItem | None = None,
        inputs: EnrichmentInputs | None = None,
        usage: Sequence[LlmCall] = (),
    ) -> None:
        """Replace the paper's enrichment in that language, then commit it (see `commit`):
        two steps, two round trips given the `inputs` read before enriching.

        The enrichment is written first, on its own (on a cluster it lies on any node):
        killed before the commit, the work item is still pending, and whoever takes it
        again finds the enrichment current and commits it without another LLM call.
        """
        key = self.keys.enrichment(paper_id, enrichment.language)
        batch = self.db.batch(atomic=True)
        batch.delete(key)
        batch.hset(key, enrichment.to_redis())
        batch.run()
        self.commit(paper_id, enrichment.language, done, inputs, usage)

    def commit(
        self,
        paper_id: str,
        language: str,
        done: WorkItem | None = None,
        inputs: EnrichmentInputs | None = None,
        usage: Sequence[LlmCall] = (),
    ) -> None:
        """The paper's enrichment in `language` is stored and current: index it, clear its
        retry state, bump the feeds that show it (and the paper's day in their digests),
        count the LLM calls it cost and, given the work item it answers, acknowledge that:
        one step.

        A topic that took the paper after `inputs` were read is bumped right after.
        """
        topics, day = self._feed_place(paper_id, inputs)
        batch = self.db.batch(atomic=True)
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
        day = announcement_day(decode_time(updated.value)) if updated.value else None
        return frozenset(topics.value), day


def _stamp(fields: list[str | None]) -> EnrichmentStamp | None:
    method, model, prompt_version, source_hash, interests, full_text = fields
    if not method:
        return None
    return EnrichmentStamp(
        method,
        model or "",
        prompt_version or "",
        source_hash or "",
        interests or "",
        full_text or "",
    )
