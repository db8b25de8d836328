"""What the web handlers need, built once per app by create_app.

Every store read of the handlers goes through the methods below, so a change of the store's
API touches the handlers in this one place (the render cache and the metrics collector read
the store themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property

from feedsvc.calendar import WEEK, iso_week, parse_iso_week
from feedsvc.config import Settings, Topic
from feedsvc.errors import PageNotFound, WeekNotFound
from feedsvc.licences import GENERATED_LICENCES, Licence
from feedsvc.models import FeedItem
from feedsvc.status import TopicStatus
from feedsvc.store import DayPage, FeedPage, Store
from feedsvc.web.archives import archived_before
from feedsvc.web.cache import FeedCache
from feedsvc.web.digest import DigestPieces
from feedsvc.web.filters import FeedFilter, kept_by_topic, leaves_out, marks_for
from feedsvc.web.relevance import meets
from feedsvc.web.render.document import DigestDay

# A filter looks at the newest papers of a topic, as many as this: a filtered feed is
# rendered from them.
MAX_FILTERED = 2000


@dataclass(frozen=True)
class Services:
    settings: Settings
    topics: dict[str, Topic]
    store: Store
    cache: FeedCache
    digest: DigestPieces
    every: Topic | None = None  # the feed of every topic (/feeds/all.atom)

    @cached_property
    def routes(self) -> dict[str, Topic]:
        """The topics a feed or page URL may name: the feed of every topic, then each one."""
        return {self.every.slug: self.every, **self.topics} if self.every else self.topics

    @property
    def licence(self) -> Licence:
        """The licence stated for the generated text (FEEDSVC_GENERATED_LICENSE)."""
        return GENERATED_LICENCES[self.settings.generated_license]

    def topic_statuses(self, topics: Sequence[Topic]) -> dict[str, TopicStatus]:
        return self.store.topics.statuses(topics)

    def topic_status(self, topic: Topic, language: str = "") -> TopicStatus:
        """A topic's status; for the feed of every topic, its parts': the oldest fetch and
        the papers it lists in `language`."""
        if not topic.parts:
            return self.store.topics.statuses([topic])[topic.slug]
        count = self.store.feeds.count(topic, language or topic.default_language)
        return TopicStatus(paper_count=count, last_fetched=self.last_fetched(topic))

    def last_fetched(self, topic: Topic) -> datetime | None:
        """When the topic was last fetched; for the feed of every topic, its stalest part's
        (None while one was never fetched). Feeds need no more of the status."""
        statuses = self.store.topics.statuses(topic.members).values()
        fetched = [status.last_fetched for status in statuses]
        return None if None in fetched else min(f for f in fetched if f is not None)

    def feed_page(self, topic: Topic, language: str, page: int, now: datetime) -> FeedPage:
        """One page of the topic's ready papers, `feed_size` a page, without those its
        `exclude` leaves out."""
        if leaves_out(topic):
            return self.filtered_page(topic, language, None, page, now)
        return self.store.feeds.feed_page(
            topic, language, page, self.settings.feed_size, self.settings.publish_grace_seconds,
            now,
        )  # fmt: skip

    def day_page(self, topic: Topic, language: str, day: date, now: datetime) -> DayPage:
        """The topic's papers announced on `day`, ready in `language`, and the days around."""
        grace = self.settings.publish_grace_seconds
        shown = self.store.feeds.day_page(topic, language, day, grace, now)
        if not leaves_out(topic):
            return shown
        return replace(shown, items=[i for i in shown.items if kept_by_topic(topic, i)])

    def digest_days(
        self, topic: Topic, language: str, since: datetime, now: datetime,
        chosen: FeedFilter | None = None,
    ) -> tuple[list[DigestDay], datetime | None]:  # fmt: skip
        """The announcement days of the topic's ready papers updated since `since`, newest
        first, each rendered once per version of that day (and filter); and when a hidden
        paper appears."""
        listings = self.store.feeds.digest_days(topic, language, since)
        marks = marks_for(topic, chosen)
        if chosen is None and not leaves_out(topic):
            return self.digest.days(topic, language, listings, self._day_items, now, marks)

        def kept(
            ids: tuple[str, ...], language: str, now: datetime
        ) -> tuple[list[FeedItem], datetime | None]:
            items, next_visible = self._day_items(ids, language, now)
            return self._kept(topic, items, chosen), next_visible

        if chosen is not None:
            listings = [replace(day, version=f"{day.version}.f{chosen.key}") for day in listings]
        return self.digest.days(topic, language, listings, kept, now, marks)

    def filtered_page(
        self, topic: Topic, language: str, chosen: FeedFilter | None, page: int, now: datetime
    ) -> FeedPage:
        """One page of the topic's ready papers that pass the filter and the topic's
        `exclude`, among its newest MAX_FILTERED ones; PageNotFound past the last."""
        ids = self.store.feeds.newest_ids(topic, language, MAX_FILTERED)
        items, next_visible = self._day_items(tuple(ids), language, now)
        kept = self._kept(topic, items, chosen)
        size = self.settings.feed_size
        pages = max(1, -(-len(kept) // size))
        if page > pages:
            raise PageNotFound(topic.slug, page, pages)
        return FeedPage(kept[(page - 1) * size : page * size], page, pages, next_visible)

    @staticmethod
    def _kept(topic: Topic, items: list[FeedItem], chosen: FeedFilter | None) -> list[FeedItem]:
        """The items the topic's `exclude` and the chosen filter both let through; a
        `min_score` keeps only papers scored at least that against the current interest."""
        least = chosen.min_score if chosen is not None else None
        return [
            item for item in items
            if kept_by_topic(topic, item) and (chosen is None or chosen.keeps(item))
            and (least is None or meets(topic, item, least))
        ]  # fmt: skip

    def week_items(
        self, topic: Topic, language: str, week: str, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        """The ready papers that joined the topic in the week, latest first, without those
        its `exclude` leaves out, and when a hidden one appears; WeekNotFound for a week
        that ended before the topic's first paper (nothing to archive, nothing to keep)."""
        start = parse_iso_week(week) or now
        first = self.store.feeds.first_arrival(topic, language)
        if first is None or start + WEEK <= first:
            raise WeekNotFound(topic.slug, week, "ended before the topic's first paper")
        ids = self.store.feeds.arrivals(topic, language, start, start + WEEK)
        items, next_visible = self._day_items(tuple(ids), language, now)
        return self._kept(topic, items, None), next_visible

    def week_before(self, topic: Topic, language: str, end: datetime) -> str:
        """The latest week before `end` in which a paper joined the topic ("" if none)."""
        joined = self.store.feeds.last_arrival_before(topic, language, end)
        return iso_week(joined) if joined else ""

    def newest_archive(self, topic: Topic, language: str, now: datetime) -> str:
        """The newest archived week that has papers ("" if none): the current feed and the
        topic page link it, until next_archiving(now)."""
        return self.week_before(topic, language, archived_before(now))

    def _day_items(
        self, ids: tuple[str, ...], language: str, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]:
        grace = self.settings.publish_grace_seconds
        return self.store.feeds.day_items(ids, language, grace, now)

    def ping_storage(self) -> None:
        """Raises StoreUnavailable when Redis does not answer."""
        self.store.ping()
