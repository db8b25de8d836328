"""Feeds from models: Atom (the only module that imports `feedgen`), RSS 2.0 and JSON Feed.

Atom: RFC 4287; paging: RFC 5005; RSS 2.0: https://www.rssboard.org/rss-specification;
JSON Feed 1.1: https://www.jsonfeed.org/version/1.1/
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from feedsvc.config import Topic
from feedsvc.models import SOURCE_LANGUAGE, FeedItem

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "feedsvc"
RIGHTS = (
    "Paper metadata from arXiv (CC0 1.0). Summaries, key takeaways and translations are "
    "machine-generated and may contain errors. Each paper is under its own licence: see its "
    "arXiv page."
)
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_templates = Environment(
    loader=PackageLoader("feedsvc.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

LABELS = {
    "en": {
        "summary": "Summary", "takeaways": "Key takeaways", "translation": "Translated abstract",
        "abstract": "Abstract", "authors": "Authors", "links": "Links", "pdf": "PDF",
        "abs": "arXiv page", "code": "Code", "comment": "Comment", "venue": "Venue",
        "pending": "Summary pending: this paper has not been summarised in this language yet.",
        "failed": "No summary: summarising this paper failed. The abstract follows.",
        "no_translation": "Translation not available (offline summary, no model configured).",
        "disclaimer": "Machine-generated; may contain errors. Check the paper.",
        "papers": "papers", "daily": "arXiv daily",
    },
    "zh": {
        "summary": "摘要总结", "takeaways": "要点", "translation": "摘要翻译",
        "abstract": "原文摘要", "authors": "作者", "links": "链接", "pdf": "PDF",
        "abs": "arXiv 页面", "code": "代码", "comment": "备注", "venue": "发表信息",
        "pending": "总结尚未生成：这篇论文还没有该语言的总结。",
        "failed": "总结生成失败，以下为原文摘要。",
        "no_translation": "暂无翻译（离线摘要，未配置模型）。",
        "disclaimer": "机器生成，可能有误，请以原文为准。",
        "papers": "篇论文", "daily": "arXiv 每日",
    },
}  # fmt: skip


@dataclass(frozen=True)
class FeedLinks:
    """Where a feed lives, its topic's page, and its RFC 5005 neighbours."""

    self_url: str
    alternate_url: str
    icon_url: str = ""
    first_url: str = ""
    next_url: str = ""  # older entries
    previous_url: str = ""  # newer entries


@dataclass(frozen=True)
class DigestDay:
    """One arXiv announcement day of a topic: the papers announced that day."""

    day: date
    items: tuple[FeedItem, ...]

    @property
    def updated(self) -> datetime:
        return max(item.updated for item in self.items)


@dataclass(frozen=True)
class FeedDocument:
    """Everything one feed document shows, in any format."""

    topic: Topic
    language: str
    links: FeedLinks
    items: Sequence[FeedItem] = ()
    days: Sequence[DigestDay] = ()
    updated_if_empty: datetime = EPOCH
    title_suffix: str = field(default="")

    @property
    def updated(self) -> datetime:
        stamps = [i.updated for i in self.items] + [d.updated for d in self.days]
        return max(stamps, default=self.updated_if_empty)

    @property
    def title(self) -> str:
        return xml_text(f"{self.topic.title} · arXiv ({self.language}){self.title_suffix}")


def xml_text(value: str) -> str:
    """The text with every character XML 1.0 cannot hold (and lone surrogates) removed."""
    return _XML_INVALID.sub("", value)


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host, else "": no javascript: or data: links."""
    parts = urlsplit(url)
    return xml_text(url) if parts.scheme in ("http", "https") and parts.netloc else ""


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language.split("-")[0], LABELS["en"])


# -- Atom ---------------------------------------------------------------------


def render_atom(doc: FeedDocument) -> bytes:
    """A valid Atom 1.0 document of the items (or digest days), in the order given."""
    feed = FeedGenerator()
    feed.register_extension("entrylinks", _LinksFeedExtension, _EntryLinks, atom=True, rss=False)
    feed.id(doc.links.self_url)
    feed.title(doc.title)
    feed.subtitle(xml_text(doc.topic.query))
    feed.author({"name": "feedsvc", "uri": doc.links.alternate_url})
    for rel, url in _feed_links(doc.links):
        kind = "text/html" if rel == "alternate" else "application/atom+xml"
        feed.link(href=url, rel=rel, type=kind)
    if doc.links.icon_url:
        feed.icon(doc.links.icon_url)
    feed.language(doc.language)
    feed.generator(GENERATOR)
    feed.rights(RIGHTS)
    feed.updated(doc.updated)
    for item in doc.items:
        _add_paper_entry(feed, item, doc.language)
    for day in doc.days:
        _add_digest_entry(feed, day, doc)
    return bytes(feed.atom_str(pretty=False))


def _feed_links(links: FeedLinks) -> list[tuple[str, str]]:
    pairs = [("self", links.self_url), ("alternate", links.alternate_url)]
    pairs += [("first", links.first_url), ("next", links.next_url)]
    # RFC 5005 says "previous"; "prev" is its registered synonym that some readers expect.
    pairs += [("previous", links.previous_url), ("prev", links.previous_url)]
    return [(rel, url) for rel, url in pairs if url]


def _add_paper_entry(feed: FeedGenerator, item: FeedItem, language: str) -> None:
    paper, enrichment = item.paper, item.enrichment
    entry = feed.add_entry(order="append")
    entry.id(paper.abs_url)
    entry.title(entry_title(item))
    entry.updated(item.updated)
    entry.published(paper.published)
    for name in paper.authors:
        entry.author({"name": xml_text(name) or "?"})
    for category in paper.categories:
        entry.category({"term": xml_text(category)})
    if enrichment is not None:
        entry.summary(xml_text(enrichment.summary))
    entry.content(xml_text(render_entry_html(item, language)), type="html")
    entry.entrylinks.links = entry_links(item)


def _add_digest_entry(feed: FeedGenerator, day: DigestDay, doc: FeedDocument) -> None:
    labels = labels_for(doc.language)
    entry = feed.add_entry(order="append")
    url = digest_url(doc, day)
    entry.id(url)
    entry.title(xml_text(f"{doc.topic.title} · {day.day.isoformat()} · {len(day.items)} "
                         f"{labels['papers']}"))  # fmt: skip
    entry.updated(day.updated)
    entry.published(datetime.combine(day.day, datetime.min.time(), tzinfo=UTC))
    entry.content(xml_text(render_digest_html(day, doc.language)), type="html")
    entry.entrylinks.links = [{"href": url, "rel": "alternate", "type": "text/html"}]


def digest_url(doc: FeedDocument, day: DigestDay) -> str:
    """A digest entry's id and link: the day's anchor on the topic page."""
    return f"{doc.links.alternate_url}#{day.day.isoformat()}"


def entry_title(item: FeedItem) -> str:
    """The translated title, else the original, else the id: never blank."""
    enrichment = item.enrichment
    translated = enrichment.title_translated if enrichment else ""
    for candidate in (translated, item.paper.title):
        title = " ".join(xml_text(candidate).split())
        if title:
            return title
    return item.paper.id


def entry_links(item: FeedItem) -> list[dict[str, str]]:
    """The alternate abs page, the PDF and code links, each with its rel, type and title."""
    paper = item.paper
    links = [
        {"href": paper.abs_url, "rel": "alternate", "type": "text/html", "title": "arXiv"},
        {"href": paper.pdf_url, "rel": "related", "type": "application/pdf", "title": "PDF"},
    ]
    links += [
        {"href": url, "rel": "related", "type": "text/html", "title": "Code"}
        for url in paper.code_links
    ]
    safe = [{**link, "href": safe_url(link["href"])} for link in links]
    return [link for link in safe if link["href"]]


def render_entry_html(item: FeedItem, language: str) -> str:
    """The entry's HTML content: every field escaped by the template, only http(s) links."""
    return _templates.get_template("entry_content.html").render(
        paper=item.paper,
        enrichment=item.enrichment,
        failed=item.failed,
        labels=labels_for(language),
        show_translation=language != SOURCE_LANGUAGE,
        safe_url=safe_url,
    )


def render_digest_html(day: DigestDay, language: str) -> str:
    return _templates.get_template("digest_content.html").render(
        items=day.items, labels=labels_for(language), title=entry_title, safe_url=safe_url
    )


class _LinksFeedExtension:
    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, feed: Any) -> Any:
        return feed

    def extend_rss(self, feed: Any) -> Any:
        return feed


class _EntryLinks(_LinksFeedExtension):
    """Writes entry links itself: feedgen 1.0 drops rel, type and title (issue #135)."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        for old in entry.findall("link"):
            entry.remove(old)
        for link in self.links:
            etree.SubElement(entry, "link", attrib=link)
        return entry


# -- RSS 2.0 ------------------------------------------------------------------


def render_rss(doc: FeedDocument) -> bytes:
    """RSS 2.0 with RFC 822 dates made without `locale` (process-wide, unsafe in threads)."""
    rss = etree.Element("rss", version="2.0", nsmap={"atom": ATOM_NS, "dc": DC_NS})
    channel = etree.SubElement(rss, "channel")
    _sub(channel, "title", doc.title)
    _sub(channel, "link", doc.links.alternate_url)
    _sub(channel, "description", xml_text(doc.topic.query))
    _sub(channel, "language", doc.language)
    _sub(channel, "copyright", RIGHTS)
    _sub(channel, "generator", GENERATOR)
    _sub(channel, "lastBuildDate", rfc822(doc.updated))
    for rel, url in _feed_links(doc.links):
        if rel != "alternate":
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=url, rel=rel,
                             type="application/rss+xml")  # fmt: skip
    for item in doc.items:
        _rss_item(channel, item, doc.language)
    for day in doc.days:
        _rss_digest_item(channel, day, doc)
    return bytes(etree.tostring(rss, xml_declaration=True, encoding="UTF-8"))


def _rss_item(channel: Any, item: FeedItem, language: str) -> None:
    paper = item.paper
    element = etree.SubElement(channel, "item")
    _sub(element, "title", entry_title(item))
    _sub(element, "link", paper.abs_url)
    _sub(element, "guid", paper.abs_url, isPermaLink="true")
    _sub(element, "pubDate", rfc822(paper.published))
    _sub(element, "description", xml_text(render_entry_html(item, language)))
    for name in paper.authors:
        _sub(element, f"{{{DC_NS}}}creator", xml_text(name))
    for category in paper.categories:
        _sub(element, "category", xml_text(category))


def _rss_digest_item(channel: Any, day: DigestDay, doc: FeedDocument) -> None:
    element = etree.SubElement(channel, "item")
    url = digest_url(doc, day)
    _sub(element, "title", f"{doc.topic.title} · {day.day.isoformat()}")
    _sub(element, "link", url)
    _sub(element, "guid", url, isPermaLink="true")
    _sub(element, "pubDate", rfc822(day.updated))
    _sub(element, "description", xml_text(render_digest_html(day, doc.language)))


def _sub(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, **attributes)
    element.text = xml_text(text)
    return element


def rfc822(moment: datetime) -> str:
    """'Sun, 22 Nov 2026 09:00:00 GMT', whatever the process locale."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


# -- JSON Feed 1.1 ------------------------------------------------------------


def render_json(doc: FeedDocument) -> bytes:
    """A JSON Feed 1.1 document."""
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": doc.title,
        "home_page_url": doc.links.alternate_url,
        "feed_url": doc.links.self_url,
        "description": xml_text(doc.topic.query),
        "language": doc.language,
        "authors": [{"name": "feedsvc", "url": doc.links.alternate_url}],
        "items": [_json_item(item, doc.language) for item in doc.items]
        + [_json_digest_item(day, doc) for day in doc.days],
    }
    if doc.links.icon_url:
        feed["icon"] = feed["favicon"] = doc.links.icon_url
    if doc.links.next_url:
        feed["next_url"] = doc.links.next_url
    return json.dumps(feed, ensure_ascii=False, indent=1).encode()


def _json_item(item: FeedItem, language: str) -> dict[str, Any]:
    paper, enrichment = item.paper, item.enrichment
    data: dict[str, Any] = {
        "id": paper.abs_url,
        "url": paper.abs_url,
        "title": entry_title(item),
        "content_html": xml_text(render_entry_html(item, language)),
        "date_published": paper.published.isoformat(),
        "date_modified": item.updated.isoformat(),
        "authors": [{"name": xml_text(name)} for name in paper.authors],
        "tags": [xml_text(c) for c in paper.categories],
        "language": language,
    }
    if enrichment is not None:
        data["summary"] = xml_text(enrichment.summary)
    if safe_url(paper.pdf_url):
        data["attachments"] = [{"url": paper.pdf_url, "mime_type": "application/pdf"}]
    return data


def _json_digest_item(day: DigestDay, doc: FeedDocument) -> dict[str, Any]:
    url = digest_url(doc, day)
    return {
        "id": url,
        "url": url,
        "title": f"{doc.topic.title} · {day.day.isoformat()}",
        "content_html": xml_text(render_digest_html(day, doc.language)),
        "date_published": day.updated.isoformat(),
    }


RENDERERS = {"atom": render_atom, "rss": render_rss, "json": render_json}
CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
