"""Topics: which papers each holds, how its fetches went, which backfill days are done."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime

from feedsvc.config import Topic
from feedsvc.keys import Keys, split_work_member
from feedsvc.status import Completeness, TopicStatus
from feedsvc.store.db import Db
from feedsvc.store.records import LanguageCounts


class TopicStore:
    """A topic's paper list (by last update), its fetch status and its finished backfill days."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def paper_ids(self, slug: str) -> list[str]:
        """Every paper id of the topic, newest update first."""
        return self.db.one(lambda b: b.zrevrange(self.keys.topic_papers(slug), 0, -1))

    def paper_id_chunks(self, slug: str, size: int = 1000) -> Iterator[list[str]]:
        """Every paper id of the topic, newest update first, `size` at a time: a walk over
        the whole archive that holds one chunk in memory, not the archive."""
        for start in itertools.count(0, size):
            chunk = self._ranked(slug, start, start + size - 1)
            if not chunk:
                return
            yield chunk

    def _ranked(self, slug: str, first: int, last: int) -> list[str]:
        return self.db.one(lambda b: b.zrevrange(self.keys.topic_papers(slug), first, last))

    def paper_count(self, slug: str) -> int:
        return self.db.one(lambda b: b.zcard(self.keys.topic_papers(slug)))

    def high_water(self, slug: str) -> datetime | None:
        """The newest `updated` any fetch of the topic saw; for data stored before the mark
        was kept, the newest update among its papers."""
        status = self.status(slug)
        if status.high_water is not None:
            return status.high_water
        newest = self.db.one(lambda b: b.zlast(self.keys.topic_papers(slug)))
        return datetime.fromtimestamp(newest[1], UTC) if newest else None

    def language_counts(self, topic: Topic, failed: Iterable[str]) -> dict[str, LanguageCounts]:
        """Per language of the topic, its papers enriched and given up on (`failed`: the
        'id|lang' members that gave up), counted by Redis in one round trip: the cost does
        not grow with the papers, only with the failures."""
        papers = self.keys.topic_papers(topic.slug)
        batch = self.db.batch()
        total = batch.zcard(papers)
        enriched = {
            language: batch.zintercard([papers, self.keys.enriched(language)])
            for language in topic.languages
        }
        gave_up = [
            (language, batch.zscore(papers, paper_id),
             batch.sismember(self.keys.enriched(language), paper_id))
            for paper_id, language in map(split_work_member, failed)
            if language in enriched
        ]  # fmt: skip
        batch.run()
        failed_counts = Counter(
            language for language, in_topic, done in gave_up
            if in_topic.value is not None and not done.value
        )  # fmt: skip
        return {
            language: LanguageCounts(total.value, count.value, failed_counts[language])
            for language, count in enriched.items()
        }

    def backfilled_days(self, slug: str) -> set[str]:
        """ISO dates whose backfill finished for the topic."""
        return self.db.one(lambda b: b.smembers(self.keys.topic_backfilled(slug)))

    def mark_backfilled(self, slug: str, day: date) -> None:
        self.db.one(lambda b: b.sadd(self.keys.topic_backfilled(slug), day.isoformat()))

    def record_fetch_success(self, slug: str, when: datetime) -> None:
        fields = TopicStatus.success_fields(when)
        self.db.one(lambda b: b.hset(self.keys.topic_status(slug), fields))

    def stored_between(self, slug: str, start: datetime, end: datetime) -> int:
        """How many of the topic's papers were last updated in [start, end)."""
        key = self.keys.topic_papers(slug)
        return self.db.one(lambda b: b.zcount(key, start.timestamp(), f"({end.timestamp()}"))

    def record_completeness(self, slug: str, completeness: Completeness) -> None:
        fields = completeness.to_fields()
        self.db.one(lambda b: b.hset(self.keys.topic_status(slug), fields))

    def record_completeness_failure(self, slug: str, when: datetime) -> None:
        fields = TopicStatus.completeness_failure_fields(when)
        self.db.one(lambda b: b.hset(self.keys.topic_status(slug), fields))

    def record_fetch_error(self, slug: str, reason: str, when: datetime) -> None:
        fields = TopicStatus.error_fields(reason, when)
        self.db.one(lambda b: b.hset(self.keys.topic_status(slug), fields))

    def status(self, slug: str) -> TopicStatus:
        return self._statuses([slug])[slug]

    def statuses(self, topics: Sequence[Topic]) -> dict[str, TopicStatus]:
        return self._statuses([topic.slug for topic in topics])

    def _statuses(self, slugs: Sequence[str]) -> dict[str, TopicStatus]:
        batch = self.db.batch()
        rows = [
            (batch.zcard(self.keys.topic_papers(slug)), batch.hgetall(self.keys.topic_status(slug)))
            for slug in slugs
        ]
        batch.run()
        return {
            slug: TopicStatus.from_redis(count.value, status.value)
            for slug, (count, status) in zip(slugs, rows, strict=True)
        }
