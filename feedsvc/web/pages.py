"""The pages people read: the index of topics, a topic's page, and every feed as OPML."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from feedsvc.calendar import announcement_day
from feedsvc.config import Topic
from feedsvc.licences import Licence
from feedsvc.models import FeedItem
from feedsvc.status import TopicStatus
from feedsvc.store import DayPage, FeedPage
from feedsvc.times import earliest
from feedsvc.web.archives import next_archiving
from feedsvc.web.cache import Built
from feedsvc.web.fastpath import cached_reply
from feedsvc.web.filters import topic_marks
from feedsvc.web.i18n import (
    catalogue_locales,
    format_day,
    has_catalogue,
    language_name,
    localized,
)
from feedsvc.web.relevance import scored
from feedsvc.web.render.chrome import (
    disclaimer,
    feed_title,
    licence_line,
    provenance,
    venue_shown,
)
from feedsvc.web.render.citation import coins
from feedsvc.web.render.document import EPOCH, html_text, safe_url
from feedsvc.web.render.figures import lead_figure
from feedsvc.web.render.html import isolated, marked, printable, titled_scores
from feedsvc.web.render.latex import latex_html, prose_html
from feedsvc.web.render.notes import revision_note
from feedsvc.web.replies import HTML, Reply
from feedsvc.web.services import Services
from feedsvc.web.urls import feed_url, page_url, paper_url, week_feed_url
from feedsvc.web.variants import OPML_KEY, PageRequest, index_key, parse_page_request

OPML = "text/x-opml; charset=utf-8"
OPML_NAME = "feedsvc.opml"
INDEX_URL = "/"


def _environment() -> Environment:
    """Flask's template settings (no trim_blocks, autoescaping by extension), so the pages
    come out as they did when Flask rendered them."""
    environment = Environment(
        loader=PackageLoader("feedsvc.web", "templates"),
        autoescape=select_autoescape(("html", "htm", "xml", "xhtml", "svg")),
        finalize=printable,
    )
    environment.globals.update(
        feed_url=feed_url, page_url=page_url, safe_url=safe_url, revision_note=revision_note,
        language_name=language_name, index_url=INDEX_URL, paper_url=paper_url, coins=coins,
    )  # fmt: skip
    environment.filters["isolated"] = isolated
    environment.filters["latex"] = latex_html
    environment.filters["prose"] = prose_html
    environment.filters["mark"] = marked
    return environment


_pages = localized(_environment)


def render_page(template: str, language: str, **context: Any) -> str:
    return _pages(language).get_template(template).render(language=language, **context)


def index(svc: Services, args: Mapping[str, str], environ: Mapping[str, Any]) -> Reply:
    """/?lang=xx: every topic, in the language asked for (English by default)."""
    key, language = index_key(args.get("lang", "en"), svc.topics)
    now = datetime.now(UTC)
    rendered = svc.cache.get(*key, lambda: _index_built(svc, language, now), now)
    return cached_reply(rendered, environ, svc.settings.cache_max_age_seconds)


def _index_built(svc: Services, language: str, now: datetime) -> Built:
    topics = list(svc.topics.values())
    statuses = svc.topic_statuses(topics)
    stale_after = svc.settings.stale_after_seconds
    html = render_page(
        "index.html", language,
        page_lang=language if has_catalogue(language) else "en",
        topics=topics,
        every=svc.every,
        statuses=statuses,
        now=now,
        stale_after=stale_after,
        page_languages=[locale.replace("_", "-") for locale in catalogue_locales()],
        topic_language=lambda topic: _shown_language(topic, language),
        disclaimer=disclaimer(language),
        licence_line=licence_line(language, svc.licence),
    )  # fmt: skip
    fetched = [status.last_fetched for status in statuses.values() if status.last_fetched]
    return Built(html.encode(), HTML, max(fetched, default=EPOCH),
                 next_stale(statuses.values(), stale_after, now))  # fmt: skip


def next_stale(
    statuses: Iterable[TopicStatus], stale_after: float, now: datetime
) -> datetime | None:
    """When the next topic turns stale, which the index shows without any change stored."""
    moments = [
        status.last_fetched + timedelta(seconds=stale_after)
        for status in statuses
        if status.last_fetched is not None and not status.is_stale(now, stale_after)
    ]
    return min(moments, default=None)


def _shown_language(topic: Topic, language: str) -> str:
    """The topic's feed language closest to the page's: its own, its base, else the default."""
    for candidate in (language, language.split("-")[0]):
        if candidate in topic.languages:
            return candidate
    return topic.default_language


def topic_page(
    svc: Services, name: str, args: Mapping[str, str], environ: Mapping[str, Any]
) -> Reply:
    """/topics/<slug>[.<lang>]?page=N: the papers of one page, newest first."""
    wanted = parse_page_request(name, args.get("page", "1"), svc.routes, args.get("day", ""))
    now = datetime.now(UTC)
    rendered = svc.cache.get(*wanted.key, lambda: _topic_built(svc, wanted, now), now)
    return cached_reply(rendered, environ, svc.settings.cache_max_age_seconds)


def _topic_built(svc: Services, wanted: PageRequest, now: datetime) -> Built:
    topic, language = wanted.topic, wanted.language
    shown: FeedPage | DayPage
    if wanted.day is None:
        shown = svc.feed_page(topic, language, wanted.page, now)
    else:
        shown = svc.day_page(topic, language, wanted.day, now)
    status = svc.topic_status(topic, language)
    newest = svc.newest_archive(topic, language, now)
    archive = week_feed_url(topic, language, newest)
    html = topic_html(topic, language, shown, status, svc.licence, archive)
    stamps = [item.updated for item in shown.items]
    last_modified = max([*stamps, status.last_fetched or EPOCH])
    expires = earliest(shown.next_visible_at, next_archiving(now))  # the archive link moves
    return Built(html.encode(), HTML, last_modified, expires)


def by_day(items: Sequence[FeedItem]) -> list[tuple[date, list[FeedItem]]]:
    """The items under the day arXiv announced their latest version, newest day first."""
    days: dict[date, list[FeedItem]] = {}
    for item in items:
        days.setdefault(announcement_day(item.paper.updated), []).append(item)
    return sorted(days.items(), key=lambda pair: pair[0], reverse=True)


def topic_html(
    topic: Topic, language: str, shown: FeedPage | DayPage, status: TopicStatus,
    licence: Licence, archive_url: str = "",
) -> str:  # fmt: skip
    """A page of the topic's papers (or one announcement day's), grouped by the day arXiv
    announced them; `archive_url`: its feed's newest weekly archive."""
    return render_page(
        "topic.html", language,
        topic=topic,
        result=shown if isinstance(shown, FeedPage) else None,
        day_page=shown if isinstance(shown, DayPage) else None,
        days=by_day(shown.items),
        format_day=lambda day: format_day(day, language),
        status=status,
        feed_title=feed_title(topic, language),
        provenance=lambda enrichment: provenance(enrichment, language),
        venue=lambda venue: venue_shown(venue, language),
        disclaimer=disclaimer(language),
        licence_line=licence_line(language, licence),
        marks=topic_marks(topic),
        scores=lambda item: titled_scores(topic, item, language),
        scored=scored(topic),
        lead_of=lead_figure,
        archive_url=archive_url,
        left_out=topic.exclude,
    )  # fmt: skip


def opml(svc: Services, environ: Mapping[str, Any]) -> Reply:
    """Every topic and language in one OPML 2.0 file, for a one-step subscription."""
    now = datetime.now(UTC)
    rendered = svc.cache.get(
        *OPML_KEY, lambda: Built(_opml(svc), OPML, now, filename=OPML_NAME), now
    )
    return cached_reply(rendered, environ, svc.settings.cache_max_age_seconds)


def _opml(svc: Services) -> bytes:
    base = svc.settings.public_url
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "feedsvc: arXiv topic feeds"
    body = etree.SubElement(root, "body")
    for topic in svc.routes.values():  # the feed of every topic first
        topic_title = html_text(topic.title)  # readers show it: no controls of any kind
        group = etree.SubElement(body, "outline", text=topic_title, title=topic_title)
        for language in topic.languages:
            title = html_text(feed_title(topic, language))
            etree.SubElement(
                group, "outline", type="rss", text=title, title=title, language=language,
                xmlUrl=feed_url(topic, language, base=base),
                htmlUrl=page_url(topic, language, base=base),
            )  # fmt: skip
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
