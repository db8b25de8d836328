"""What every feed format shows: the document, its links, digest days, safe text.

Atom: RFC 4287; paging: RFC 5005; RSS 2.0: https://www.rssboard.org/rss-specification;
JSON Feed 1.1: https://www.jsonfeed.org/version/1.1/
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from feedsvc.config import Topic
from feedsvc.licences import DEFAULT_GENERATED_LICENCE, GENERATED_LICENCES, Licence
from feedsvc.models import SOURCE_LANGUAGE, FeedItem, Paper
from feedsvc.web.render.chrome import feed_title
from feedsvc.web.render.latex import latex_text, prose_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "feedsvc"
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HTML_ALSO_INVALID = re.compile("[\u007f-\u009f]")  # DEL and C1 controls: HTML parse errors


@dataclass(frozen=True)
class FeedLinks:
    """Where a feed lives, its topic's page, and its RFC 5005 neighbours."""

    self_url: str
    alternate_url: str
    icon_url: str = ""
    first_url: str = ""
    next_url: str = ""  # older entries
    previous_url: str = ""  # newer entries
    current_url: str = ""  # a week's archive: the feed it archives
    prev_archive_url: str = ""  # the archive of the week before (RFC 5005)
    next_archive_url: str = ""  # the archive of the week after


@dataclass(frozen=True)
class DigestDay:
    """One arXiv announcement day of a topic, rendered: how many papers it announced, the
    newest change among them, and the HTML listing them (see render_digest_html)."""

    day: date
    count: int
    updated: datetime
    html: str


@dataclass(frozen=True)
class FeedDocument:
    """Everything one feed document shows, in any format."""

    topic: Topic
    language: str
    links: FeedLinks
    items: Sequence[FeedItem] = ()
    days: Sequence[DigestDay] = ()
    updated_if_empty: datetime = EPOCH
    daily: bool = False
    base_url: str = ""  # the service's public URL, for links to its own files
    topic_titles: tuple[tuple[str, str], ...] = ()  # (slug, title) of every topic
    marks: tuple[str, ...] = ()  # what the entries highlight (a filter's include terms)
    licence: Licence = field(default=GENERATED_LICENCES[DEFAULT_GENERATED_LICENCE])
    week: str = ""  # a week's document: 2026-W47
    archived: bool = False  # an RFC 5005 archive document: it never changes

    @property
    def updated(self) -> datetime:
        stamps = [i.updated for i in self.items] + [d.updated for d in self.days]
        return max(stamps, default=self.updated_if_empty)

    def topics_of(self, item: FeedItem) -> list[tuple[str, str]]:
        """(slug, title) of the topics an entry names: the others that hold its paper, or,
        in the feed of every topic, all of them."""
        titles = dict(self.topic_titles)
        shown = [slug for slug in item.topics if slug != self.topic.slug and slug in titles]
        return [(slug, titles[slug]) for slug in shown]

    def topic_categories(self, item: FeedItem) -> list[tuple[str, str]]:
        """(slug, title) of every topic that holds the entry's paper, as categories."""
        titles = dict(self.topic_titles)
        return [(slug, titles[slug]) for slug in item.topics if slug in titles]

    @property
    def topic_scheme(self) -> str:
        """The categories' scheme for topics: their pages."""
        return f"{self.base_url}/topics/"

    @property
    def title(self) -> str:
        title = xml_text(feed_title(self.topic, self.language, daily=self.daily))
        return f"{title} · {self.week}" if self.week else title


def xml_text(value: str) -> str:
    """The text with every character XML 1.0 cannot hold (and lone surrogates) removed."""
    return _XML_INVALID.sub("", value)


def html_text(value: str) -> str:
    """The text without what XML cannot hold, nor the control characters HTML forbids."""
    return _HTML_ALSO_INVALID.sub("", xml_text(value))


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host, else "": no javascript: or data: links."""
    parts = urlsplit(url)
    return xml_text(url) if parts.scheme in ("http", "https") and parts.netloc else ""


HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005's fh:archive


def feed_link_pairs(links: FeedLinks) -> list[tuple[str, str]]:
    """(rel, url) of every feed-level link that is set, in the order feeds list them."""
    pairs = [("self", links.self_url), ("alternate", links.alternate_url)]
    pairs += [("first", links.first_url), ("next", links.next_url)]
    # RFC 5005 says "previous"; "prev" is its registered synonym that some readers expect.
    pairs += [("previous", links.previous_url), ("prev", links.previous_url)]
    pairs += [("current", links.current_url), ("prev-archive", links.prev_archive_url),
              ("next-archive", links.next_archive_url)]  # fmt: skip
    return [(rel, url) for rel, url in pairs if url]


def digest_url(doc: FeedDocument, day: DigestDay) -> str:
    """A digest entry's id: the day's anchor on the topic page (ids never change)."""
    return f"{doc.links.alternate_url}#{day.day.isoformat()}"


def digest_link(doc: FeedDocument, day: DigestDay) -> str:
    """A digest entry's link: the day's own page, at the day."""
    iso = day.day.isoformat()
    return f"{doc.links.alternate_url}?day={iso}#{iso}"


def entry_id(paper: Paper, language: str) -> str:
    """A paper's entry id in one language's feeds, stable forever and unique per language.

    English keeps the versionless abstract URL; another language adds itself as the fragment
    (`https://arxiv.org/abs/2412.01234#zh`): newsboat keys items by id across every feed, so
    one paper's zh and en entries sharing an id would show only one of them.
    """
    if language == SOURCE_LANGUAGE:
        return paper.abs_url
    return f"{paper.abs_url}#{language}"


def entry_title(item: FeedItem) -> str:
    """The translated title, else the original, else the id: never blank, no controls."""
    enrichment = item.enrichment
    translated = enrichment.title_translated if enrichment else ""
    for candidate in (prose_text(translated), latex_text(item.paper.title)):
        title = " ".join(html_text(candidate).split())
        if title:
            return title
    return item.paper.id
