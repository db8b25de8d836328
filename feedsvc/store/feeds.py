"""Feeds: the versions that say when a feed changed, its pages, and rendered bytes to share."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from feedsvc.calendar import announcement_day, announcement_window, is_announcement_day
from feedsvc.config import Topic
from feedsvc.errors import DayNotFound, PageNotFound
from feedsvc.keys import Keys, work_member
from feedsvc.models import Enrichment, FeedItem, Paper, PaperPages
from feedsvc.store.db import Batch, Db
from feedsvc.store.records import DayPage, DigestListing, FeedPage

RENDERED_TTL_SECONDS = 7 * 86400
UNION_TTL_SECONDS = 60
MAX_DIGEST_PAPERS = 5000


def bump_topics(batch: Batch, keys: Keys, slugs: Iterable[str]) -> None:
    """Queue: the topics' papers or their metadata changed."""
    for slug in sorted(slugs):
        batch.incrby(keys.topic_version(slug))


def bump_topic_days(batch: Batch, keys: Keys, slugs: Iterable[str], days: Iterable[date]) -> None:
    """Queue: papers of these announcement days changed in place in these topics."""
    for slug in sorted(slugs):
        for day in sorted(set(days)):
            batch.hincrby(keys.topic_days(slug), day.isoformat())


def bump_feeds(
    batch: Batch, keys: Keys, slugs: Iterable[str], language: str, day: date | None = None
) -> None:
    """Queue: an enrichment shown in these topics' feeds in `language` changed; given the
    paper's announcement `day`, that day's digest piece changed too."""
    for slug in sorted(slugs):
        batch.incrby(keys.feed_version(slug, language))
        if day is not None:
            batch.hincrby(keys.feed_days(slug, language), day.isoformat())


class FeedStore:
    """Reads the feeds' content and versions; keeps rendered feeds for every web process."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def feed_version(self, slug: str, language: str, parts: Sequence[str] = ()) -> str:
        """The version of one feed's content (of its parts' for the feed of every topic):
        one round trip."""
        names = []
        for part in parts or (slug,):
            names += [self.keys.topic_version(part), self.keys.feed_version(part, language)]
        return ".".join(value or "0" for value in self.db.one(lambda b: b.mget(names)))

    def page_version(self, slug: str, language: str, parts: Sequence[str] = ()) -> str:
        """The version of a topic's page in one language (of its parts' for the feed of
        every topic): its feed's and the topic's fetch status (the page shows when it was
        last fetched); one round trip."""
        return self.site_version(parts or [slug], language)

    def newest_ids(self, topic: Topic, language: str, limit: int) -> list[str]:
        """The ids of the topic's newest papers, at most `limit` of them."""
        key = self.listing(topic, language)
        return self.db.one(lambda b: b.zrevrange(key, 0, limit - 1))

    def ids_since(self, topic: Topic, language: str, since: datetime) -> list[str]:
        """The ids of the topic's papers updated since `since`, newest first."""
        key = self.listing(topic, language)
        scored = self.db.one(
            lambda b: b.zrevrangebyscore_scored(key, "+inf", since.timestamp(), -1)  # -1: all
        )
        return [paper_id for paper_id, _ in scored]

    def arrivals(self, topic: Topic, language: str, start: datetime, end: datetime) -> list[str]:
        """The ids of the papers that joined the topic in [start, end), the latest first: a
        week's archive. In the feed of every topic a paper joined when it first joined one
        of its parts with `language`, so it is in one week only."""
        key = self._arrivals_key(topic, language)
        joined = self.db.one(
            lambda b: b.zrevrangebyscore_scored(key, f"({end.timestamp()}", start.timestamp(), -1)
        )
        return [paper_id for paper_id, _ in joined]

    def last_arrival_before(self, topic: Topic, language: str, end: datetime) -> datetime | None:
        """When the latest paper that joined the topic before `end` joined it; None if none."""
        key = self._arrivals_key(topic, language)
        joined = self.db.one(lambda b: b.zrevrangebyscore_scored(key, f"({end.timestamp()}",
                                                                 "-inf", 1))  # fmt: skip
        return datetime.fromtimestamp(joined[0][1], UTC) if joined else None

    def first_arrival(self, topic: Topic, language: str) -> datetime | None:
        """When the first paper joined the topic; None while none has."""
        key = self._arrivals_key(topic, language)
        first = self.db.one(lambda b: b.zfirst(key))
        return datetime.fromtimestamp(first[1], UTC) if first else None

    def _arrivals_key(self, topic: Topic, language: str) -> str:
        """The sorted set of when the topic's papers joined it; for the feed of every topic,
        the union of its parts' in that language at the earliest, made now and kept a
        minute."""
        if not topic.parts:
            return self.keys.topic_arrivals(topic.slug)
        key = self.keys.union_arrivals(language)
        parts = [self.keys.topic_arrivals(slug) for slug in topic.parts_in(language)]
        batch = self.db.batch(atomic=True)
        batch.zunionstore(key, parts, aggregate="MIN")
        batch.expire(key, UNION_TTL_SECONDS)
        batch.run()
        return key

    def load_archive(self, slug: str, language: str, variant: str) -> dict[str, bytes]:
        """A week's archive as first rendered after the week, as raw bytes per field."""
        return self.db.hgetall_bytes(self.keys.archive(slug, language, variant))

    def keep_archive(
        self, slug: str, language: str, variant: str, fields: dict[str, bytes]
    ) -> dict[str, bytes]:
        """Keep a week's archive for good, unless a rendering is kept already: the one kept
        first is the one every process serves, and it is returned."""
        key = self.keys.archive(slug, language, variant)
        batch = self.db.batch(atomic=True)
        for name, value in fields.items():
            batch.hsetnx(key, name, value)
        batch.run()
        return self.load_archive(slug, language, variant)

    def count(self, topic: Topic, language: str) -> int:
        """How many papers the topic lists in `language` (each once)."""
        key = self.listing(topic, language)
        return self.db.one(lambda b: b.zcard(key))

    def site_version(self, slugs: Sequence[str], language: str = "") -> str:
        """The version of what the pages show of these topics: their papers, their fetch
        status and, given a language, its enrichments; one round trip."""
        batch = self.db.batch()
        names = [self.keys.topic_version(slug) for slug in slugs]
        if language:
            names += [self.keys.feed_version(slug, language) for slug in slugs]
        counters = batch.mget(names) if names else None
        statuses = [batch.hgetall(self.keys.topic_status(slug)) for slug in slugs]
        batch.run()
        digest = hashlib.sha256()
        for status in statuses:
            digest.update(repr(sorted(status.value.items())).encode())
        numbers = ".".join(value or "0" for value in (counters.value if counters else []))
        return f"{numbers}.{digest.hexdigest()[:12]}"

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
        key = self.listing(topic, language)
        batch = self.db.batch()
        total = batch.zcard(key)
        ids = batch.zrevrange(key, (page - 1) * size, page * size - 1)
        batch.run()
        pages = max(1, -(-total.value // size))
        if page > pages:
            raise PageNotFound(topic.slug, page, pages)
        items, next_visible = self._ready_items(ids.value, language, grace_seconds, now)
        return FeedPage(items, page, pages, next_visible)

    def day_page(
        self, topic: Topic, language: str, day: date, grace_seconds: float, now: datetime
    ) -> DayPage:
        """The topic's papers announced on `day` that are ready in `language`, newest first,
        and the nearest newer and older days with papers; DayNotFound when it has none."""
        if not is_announcement_day(day):
            raise DayNotFound(topic.slug, day.isoformat())
        key = self.listing(topic, language)
        start, end = (moment.timestamp() for moment in announcement_window(day))
        batch = self.db.batch()
        ids = batch.zrevrangebyscore(key, f"({end}", start, MAX_DIGEST_PAPERS)
        newer = batch.zrangebyscore_scored(key, end, "+inf", 1)
        older = batch.zrevrangebyscore_scored(key, f"({start}", "-inf", 1)
        batch.run()
        if not ids.value:
            raise DayNotFound(topic.slug, day.isoformat())
        items, next_visible = self._ready_items(ids.value, language, grace_seconds, now)
        return DayPage(day, items, _day_of(newer.value), _day_of(older.value), next_visible)

    def digest_days(self, topic: Topic, language: str, since: datetime) -> list[DigestListing]:
        """The announcement days of the topic's papers updated since `since`, newest first,
        each with its papers and the version its digest piece must match: two round trips
        however many papers, none of them read."""
        key = self.listing(topic, language)
        scored = self.db.one(
            lambda b: b.zrevrangebyscore_scored(key, "+inf", since.timestamp(), MAX_DIGEST_PAPERS)
        )
        days: dict[date, list[tuple[str, float]]] = {}
        for paper_id, score in scored:
            day = announcement_day(datetime.fromtimestamp(score, UTC))
            days.setdefault(day, []).append((paper_id, score))
        if not days:
            return []
        names = [day.isoformat() for day in days]
        batch = self.db.batch()
        counts = [
            (batch.hmget(self.keys.topic_days(slug), names),
             batch.hmget(self.keys.feed_days(slug, language), names))
            for slug in topic.parts_in(language)
        ]  # fmt: skip
        batch.run()
        per_day = [
            ".".join(f"{t.value[n] or 0}.{f.value[n] or 0}" for t, f in counts)
            for n in range(len(names))
        ]
        return [
            DigestListing(day, tuple(i for i, _ in papers), _day_version(counters, papers))
            for (day, papers), counters in zip(days.items(), per_day, strict=True)
        ]

    def listing(self, topic: Topic, language: str) -> str:
        """The sorted set of the topic's papers; for the feed of every topic, the union of
        its parts' in that language, made now and kept a minute."""
        if not topic.parts:
            return self.keys.topic_papers(topic.slug)
        key = self.keys.union_papers(language)
        batch = self.db.batch(atomic=True)
        batch.zunionstore(key, [self.keys.topic_papers(s) for s in topic.parts_in(language)])
        batch.expire(key, UNION_TTL_SECONDS)
        batch.run()
        return key

    def day_items(
        self, ids: Sequence[str], language: str, grace_seconds: float, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        """The ready ones of these papers, newest first, and when a hidden one appears."""
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
                batch.smembers(self.keys.paper_topics(paper_id)),
                batch.hgetall(self.keys.paper_pages(paper_id)),
            )
            for paper_id in ids
        ]
        batch.run()
        items: list[FeedItem] = []
        next_visible: datetime | None = None
        for paper_data, enrichment_data, failed, topics, pages_data in rows:
            if not paper_data.value:
                continue
            paper = Paper.from_redis(paper_data.value)
            enrichment = (
                Enrichment.from_redis(enrichment_data.value) if enrichment_data.value else None
            )
            visible_at = paper.first_seen + timedelta(seconds=grace_seconds)
            if enrichment is not None or visible_at <= now:
                pages = _pages_of(paper, pages_data.value)
                items.append(FeedItem(paper, enrichment, failed.value, tuple(sorted(topics.value)),
                                      pages))  # fmt: skip
            elif next_visible is None or visible_at < next_visible:
                next_visible = visible_at
        items.sort(key=lambda item: item.paper.updated, reverse=True)
        return items, next_visible


def _pages_of(paper: Paper, data: dict[str, str]) -> PaperPages | None:
    """The paper's pages, when they are of its latest version (a new one's are not yet)."""
    pages = PaperPages.from_redis(data) if data else None
    return pages if pages is not None and pages.version == paper.version else None


def _day_of(scored: list[tuple[str, float]]) -> date | None:
    return announcement_day(datetime.fromtimestamp(scored[0][1], UTC)) if scored else None


def _day_version(counters: str, papers: list[tuple[str, float]]) -> str:
    """The day's counters and its papers with their update times: any change moves it."""
    listed = hashlib.sha256(repr(papers).encode()).hexdigest()[:16]
    return f"{counters}.{listed}"
