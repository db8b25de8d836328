"""RSS 2.0 (https://www.rssboard.org/rss-specification), written with lxml."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from typing import Any

from lxml import etree

from feedsvc.models import FeedItem
from feedsvc.web.render.chrome import digest_title, feed_subtitle, rights
from feedsvc.web.render.document import (
    GENERATOR,
    HISTORY_NS,
    DigestDay,
    FeedDocument,
    digest_link,
    digest_url,
    entry_id,
    entry_title,
    feed_link_pairs,
    html_text,
    xml_text,
)
from feedsvc.web.render.figures import lead_figure
from feedsvc.web.render.html import entry_html

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"


def render_rss(doc: FeedDocument) -> bytes:
    """RSS 2.0 with RFC 822 dates made without `locale` (process-wide, unsafe in threads)."""
    namespaces = {"atom": ATOM_NS, "dc": DC_NS, **({"fh": HISTORY_NS} if doc.archived else {})}
    rss = etree.Element("rss", version="2.0", nsmap=namespaces)
    channel = etree.SubElement(rss, "channel")
    _text_sub(channel, "title", doc.title)
    _sub(channel, "link", doc.links.alternate_url)
    _text_sub(channel, "description", feed_subtitle(doc.topic, doc.language))
    _sub(channel, "language", doc.language)
    _sub(channel, "copyright", rights(doc.language, doc.licence))
    _sub(channel, "generator", GENERATOR)
    _sub(channel, "lastBuildDate", rfc822(doc.updated))
    for rel, url in feed_link_pairs(doc.links):
        if rel != "alternate":
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=url, rel=rel,
                             type="application/rss+xml")  # fmt: skip
    if doc.archived:
        etree.SubElement(channel, f"{{{HISTORY_NS}}}archive")
    for item in doc.items:
        _rss_item(channel, item, doc)
    for day in doc.days:
        _rss_digest_item(channel, day, doc)
    return bytes(etree.tostring(rss, xml_declaration=True, encoding="UTF-8"))


def _rss_item(channel: Any, item: FeedItem, doc: FeedDocument) -> None:
    paper, language = item.paper, doc.language
    element = etree.SubElement(channel, "item")
    _text_sub(element, "title", entry_title(item))
    _sub(element, "link", paper.abs_url)
    guid = entry_id(paper, language)
    _sub(element, "guid", guid, isPermaLink="true" if guid == paper.abs_url else "false")
    _sub(element, "pubDate", rfc822(paper.published))
    _sub(
        element,
        "description",
        xml_text(entry_html(doc, item)),
    )
    for name in paper.authors:
        _sub(element, f"{{{DC_NS}}}creator", xml_text(name))
    for category in paper.categories:
        _sub(element, "category", xml_text(category))
    for slug, _title in doc.topic_categories(item):
        _sub(element, "category", slug, domain=doc.topic_scheme)
    lead = lead_figure(item, doc.base_url)
    if lead is not None and lead.image_url:
        # RSS asks for a length; the image stays at arXiv, unfetched: 0, as feeds write it
        etree.SubElement(element, "enclosure", url=lead.image_url, length="0",
                         type=lead.image_type)  # fmt: skip


def _rss_digest_item(channel: Any, day: DigestDay, doc: FeedDocument) -> None:
    element = etree.SubElement(channel, "item")
    url = digest_url(doc, day)
    _text_sub(element, "title", digest_title(doc.topic, doc.language, day.day, day.count))
    _sub(element, "link", digest_link(doc, day))
    _sub(element, "guid", url, isPermaLink="false")
    _sub(element, "pubDate", rfc822(day.updated))
    _sub(element, "description", xml_text(day.html))


def _sub(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, **attributes)
    element.text = xml_text(text)
    return element


def _text_sub(parent: Any, tag: str, text: str) -> Any:
    """An element readers render as HTML (title, description) holding `text` as text."""
    return _sub(parent, tag, escape(html_text(text), quote=False))


def rfc822(moment: datetime) -> str:
    """'Sun, 22 Nov 2026 09:00:00 GMT', whatever the process locale."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
