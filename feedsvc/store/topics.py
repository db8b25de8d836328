"""Topics: which papers each holds, how its fetches went, which backfill days are done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from feedsvc.config import Topic
from feedsvc.keys import Keys
from feedsvc.models import TopicStatus
from feedsvc.store.db import Db


class TopicStore:
    """A topic's paper list (by last update), its fetch status and its finished backfill days."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def paper_ids(self, slug: str) -> list[str]:
        """Every paper id of the topic, newest update first."""
        return self.db.one(lambda b: b.zrevrange(self.keys.topic_papers(slug), 0, -1))

    def paper_count(self, slug: str) -> int:
        return self.db.one(lambda b: b.zcard(self.keys.topic_papers(slug)))

    def high_water(self, slug: str) -> datetime | None:
        """The newest `updated` any fetch of the topic saw; for data stored before the mark
        was kept, the newest update among its papers."""
        status = self.statuses_of(slug)
        if status.high_water is not None:
            return status.high_water
        newest = self.db.one(lambda b: b.zlast(self.keys.topic_papers(slug)))
        return datetime.fromtimestamp(newest[1], UTC) if newest else None

    def statuses_of(self, slug: str) -> TopicStatus:
        data = self.db.one(lambda b: b.hgetall(self.keys.topic_status(slug)))
        return TopicStatus.from_redis(0, data)

    def backfilled_days(self, slug: str) -> set[str]:
        """ISO dates whose backfill finished for the topic."""
        return self.db.one(lambda b: b.smembers(self.keys.topic_backfilled(slug)))

    def mark_backfilled(self, slug: str, day: date) -> None:
        self.db.one(lambda b: b.sadd(self.keys.topic_backfilled(slug), day.isoformat()))

    def record_fetch_success(self, slug: str, when: datetime) -> None:
        fields = TopicStatus.success_fields(when)
        self.db.one(lambda b: b.hset(self.keys.topic_status(slug), fields))

    def record_fetch_error(self, slug: str, reason: str, when: datetime) -> None:
        fields = TopicStatus.error_fields(reason, when)
        self.db.one(lambda b: b.hset(self.keys.topic_status(slug), fields))

    def statuses(self, topics: Sequence[Topic]) -> dict[str, TopicStatus]:
        batch = self.db.batch()
        rows = [
            (
                batch.zcard(self.keys.topic_papers(t.slug)),
                batch.hgetall(self.keys.topic_status(t.slug)),
            )
            for t in topics
        ]
        batch.run()
        return {
            topic.slug: TopicStatus.from_redis(count.value, status.value)
            for topic, (count, status) in zip(topics, rows, strict=True)
        }
