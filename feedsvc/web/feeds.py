"""/feeds/<slug>[.<lang>][.daily].<format>?page=N when the fast path could not answer.

The render cache hands back the current rendering, building it here on a miss; the answer
is made by feed_reply, as the fast path's is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from feedsvc.calendar import WEEK, iso_week, parse_iso_week
from feedsvc.times import earliest
from feedsvc.web.archives import ARCHIVE_DELAY, is_archived, next_archiving
from feedsvc.web.cache import Built
from feedsvc.web.fastpath import cached_reply, feed_request
from feedsvc.web.feedpath import FeedRequest
from feedsvc.web.filters import marks_for
from feedsvc.web.render import CONTENT_TYPES, RENDERERS
from feedsvc.web.render.document import EPOCH, FeedDocument, FeedLinks
from feedsvc.web.replies import Reply
from feedsvc.web.services import Services
from feedsvc.web.urls import feed_url, icon_url, page_url, week_feed_url

DIGEST_DAYS = 14


def feed(svc: Services, name: str, args: Mapping[str, str], environ: Mapping[str, Any]) -> Reply:
    """The feed `name` asks for: 200 or 304, gzipped when the client accepts it."""
    wanted = feed_request(name, args.get("page", "1"), svc.routes, environ.get("QUERY_STRING", ""))
    now = datetime.now(UTC)
    rendered = svc.cache.get(
        wanted.topic.slug, wanted.language, wanted.variant,
        lambda: build_feed(svc, wanted, now), now,
    )  # fmt: skip
    return cached_reply(rendered, environ, svc.settings.cache_max_age_seconds)


def build_feed(svc: Services, wanted: FeedRequest, now: datetime) -> Built:
    """Read the feed's content from Redis and render it in the requested format."""
    if wanted.week:
        doc, expires = _week_document(svc, wanted, now)
    elif wanted.daily:
        doc, expires = _digest_document(svc, wanted, now)
    else:
        doc, expires = _papers_document(svc, wanted, now)
    body = RENDERERS[wanted.fmt](doc)
    return Built(body, CONTENT_TYPES[wanted.fmt], doc.updated, expires)


def _digest_document(
    svc: Services, wanted: FeedRequest, now: datetime
) -> tuple[FeedDocument, datetime | None]:
    since = now - timedelta(days=DIGEST_DAYS)
    days, expires = svc.digest_days(wanted.topic, wanted.language, since, now, wanted.filter)
    return _document(svc, wanted, pages=1, days=days, daily=True), expires


def _papers_document(
    svc: Services, wanted: FeedRequest, now: datetime
) -> tuple[FeedDocument, datetime | None]:
    topic, language = wanted.topic, wanted.language
    if wanted.filter:
        result = svc.filtered_page(topic, language, wanted.filter, wanted.page, now)
    else:
        result = svc.feed_page(topic, language, wanted.page, now)
    if wanted.filter or wanted.page > 1:
        doc = _document(svc, wanted, pages=result.pages, items=result.items)
        return doc, result.next_visible_at
    # The current feed: its prev-archive moves when the next week is archived.
    newest = svc.newest_archive(topic, language, now)
    links = replace(
        feed_links(svc, wanted, result.pages), prev_archive_url=week_url(svc, wanted, newest)
    )
    doc = _document(svc, wanted, pages=result.pages, items=result.items, links=links)
    return doc, earliest(result.next_visible_at, next_archiving(now))


def _week_document(
    svc: Services, wanted: FeedRequest, now: datetime
) -> tuple[FeedDocument, datetime | None]:
    """A week's papers: an RFC 5005 archive once archived, the week so far until then."""
    start = parse_iso_week(wanted.week) or now
    archived = is_archived(wanted.week, now)
    items, next_visible = svc.week_items(wanted.topic, wanted.language, wanted.week, now)
    before = svc.week_before(wanted.topic, wanted.language, start)
    links = replace(
        feed_links(svc, replace(wanted, week=""), pages=1),
        self_url=week_url(svc, wanted, wanted.week),
        current_url=feed_url(wanted.topic, wanted.language, wanted.fmt,
                             base=svc.settings.public_url),
        prev_archive_url=week_url(svc, wanted, before),
        next_archive_url=week_url(svc, wanted, iso_week(start + WEEK)) if archived else "",
    )  # fmt: skip
    doc = _document(svc, wanted, pages=1, items=items, links=links, week=wanted.week,
                    archived=archived)  # fmt: skip
    return doc, next_visible if archived else earliest(next_visible, start + WEEK + ARCHIVE_DELAY)


def week_url(svc: Services, wanted: FeedRequest, week: str) -> str:
    """The URL of the feed's document of that week; "" for no week."""
    return week_feed_url(wanted.topic, wanted.language, week, wanted.fmt,
                         base=svc.settings.public_url)  # fmt: skip


def _document(
    svc: Services, wanted: FeedRequest, pages: int, links: FeedLinks | None = None,
    **content: Any,
) -> FeedDocument:  # fmt: skip
    """The feed's document: its `content` (items or days) and what every feed carries."""
    return FeedDocument(
        wanted.topic, wanted.language, links or feed_links(svc, wanted, pages),
        updated_if_empty=svc.last_fetched(wanted.topic) or EPOCH,
        licence=svc.licence,
        base_url=svc.settings.public_url,
        topic_titles=topic_titles(svc, wanted.language),
        marks=marks_of(wanted),
        **content,
    )  # fmt: skip


def marks_of(wanted: FeedRequest) -> tuple[str, ...]:
    """What the entries highlight: the topic's `highlight` and the filter's `include`."""
    return marks_for(wanted.topic, wanted.filter)


def feed_links(svc: Services, wanted: FeedRequest, pages: int) -> FeedLinks:
    """The feed's absolute URL, its topic page's, and its RFC 5005 neighbours."""
    topic, language, page = wanted.topic, wanted.language, wanted.page
    base = svc.settings.public_url

    query = wanted.filter.query() if wanted.filter else []

    def url(n: int) -> str:
        return feed_url(topic, language, wanted.fmt, wanted.daily, n, base=base, query=query)

    return FeedLinks(
        self_url=url(page),
        alternate_url=page_url(topic, language, base=base),
        icon_url=icon_url(base),
        first_url=url(1) if pages > 1 else "",
        next_url=url(page + 1) if page < pages else "",
        previous_url=url(page - 1) if page > 1 else "",
    )


def topic_titles(svc: Services, language: str) -> tuple[tuple[str, str], ...]:
    """(slug, title in `language`) of every topic: entries name the topics that hold them."""
    return tuple((topic.slug, topic.title_in(language)) for topic in svc.topics.values())
