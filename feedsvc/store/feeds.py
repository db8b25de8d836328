"""Feeds: the versions that say when a feed changed, its pages, and rendered bytes to share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from feedsvc.config import Topic
from feedsvc.errors import PageNotFound
from feedsvc.keys import Keys, work_member
from feedsvc.models import Enrichment, FeedItem, Paper
from feedsvc.store.db import Batch, Db
from feedsvc.store.records import FeedPage

RENDERED_TTL_SECONDS = 7 * 86400
MAX_DIGEST_PAPERS = 5000


def bump_topics(batch: Batch, keys: Keys, slugs: Iterable[str]) -> None:
    """Queue: the topics' papers or their metadata changed."""
    for slug in sorted(slugs):
        batch.incrby(keys.topic_version(slug))


def bump_feeds(batch: Batch, keys: Keys, slugs: Iterable[str], language: str) -> None:
    """Queue: an enrichment shown in these topics' feeds in `language` changed."""
    for slug in sorted(slugs):
        batch.incrby(keys.feed_version(slug, language))


class FeedStore:
    """Reads the feeds' content and versions; keeps rendered feeds for every web process."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def feed_version(self, slug: str, language: str) -> str:
        """The version of one feed's content: one round trip."""
        names = [self.keys.topic_version(slug), self.keys.feed_version(slug, language)]
        topic, feed = self.db.one(lambda b: b.mget(names))
        return f"{topic or 0}.{feed or 0}"

    def load_rendered(self, slug: str, language: str, variant: str) -> dict[str, bytes]:
        """A rendered feed another web process stored, as raw bytes per field."""
        return self.db.hgetall_bytes(self.keys.rendered(slug, language, variant))

    def save_rendered(
        self, slug: str, language: str, variant: str, fields: dict[str, bytes]
    ) -> None:
        key = self.keys.rendered(slug, language, variant)
        batch = self.db.batch(atomic=True)
        batch.delete(key)
        batch.hset(key, fields)
        batch.expire(key, RENDERED_TTL_SECONDS)
        batch.run()

    def feed_page(
        self, topic: Topic, language: str, page: int, size: int, grace_seconds: float, now: datetime
    ) -> FeedPage:
        """One page of the topic's papers ready in `language`, newest first (page 1: newest).

        A paper is ready once enriched in that language, or `grace_seconds` after it was
        first seen (then shown with the abstract and a pending or failed note). Raises
        PageNotFound past the last page.
        """
        key = self.keys.topic_papers(topic.slug)
        batch = self.db.batch()
        total = batch.zcard(key)
        ids = batch.zrevrange(key, (page - 1) * size, page * size - 1)
        batch.run()
        pages = max(1, -(-total.value // size))
        if page > pages:
            raise PageNotFound(topic.slug, page, pages)
        items, next_visible = self._ready_items(ids.value, language, grace_seconds, now)
        return FeedPage(items, page, pages, next_visible)

    def recent_items(
        self, topic: Topic, language: str, since: datetime, grace_seconds: float, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        """Every ready paper of the topic updated since `since`, newest first."""
        key = self.keys.topic_papers(topic.slug)
        ids = self.db.one(
            lambda b: b.zrevrangebyscore(key, "+inf", since.timestamp(), MAX_DIGEST_PAPERS)
        )
        return self._ready_items(ids, language, grace_seconds, now)

    def _ready_items(
        self, ids: Sequence[str], language: str, grace_seconds: float, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        batch = self.db.batch()
        rows = [
            (
                batch.hgetall(self.keys.paper(paper_id)),
                batch.hgetall(self.keys.enrichment(paper_id, language)),
                batch.hexists(self.keys.enrich_failed(), work_member(paper_id, language)),
            )
            for paper_id in ids
        ]
        batch.run()
        items: list[FeedItem] = []
        next_visible: datetime | None = None
        for paper_data, enrichment_data, failed in rows:
            if not paper_data.value:
                continue
            paper = Paper.from_redis(paper_data.value)
            enrichment = (
                Enrichment.from_redis(enrichment_data.value) if enrichment_data.value else None
            )
            visible_at = paper.first_seen + timedelta(seconds=grace_seconds)
            if enrichment is not None or visible_at <= now:
                items.append(FeedItem(paper, enrichment, failed=failed.value))
            elif next_visible is None or visible_at < next_visible:
                next_visible = visible_at
        items.sort(key=lambda item: item.paper.updated, reverse=True)
        return items, next_visible
