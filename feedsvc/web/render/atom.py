"""Atom 1.0 (RFC 4287, paging RFC 5005): the only module that imports `feedgen`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.models import FeedItem
from feedsvc.web.i18n import words_for
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
    safe_url,
    xml_text,
)
from feedsvc.web.render.figures import lead_figure
from feedsvc.web.render.html import entry_html
from feedsvc.web.render.latex import prose_text


def render_atom(doc: FeedDocument) -> bytes:
    """A valid Atom 1.0 document of the items (or digest days), in the order given."""
    feed = FeedGenerator()
    feed.register_extension("entrylinks", _LinksFeedExtension, _EntryLinks, atom=True, rss=False)
    feed.id(doc.links.self_url)
    feed.title(doc.title)
    feed.subtitle(xml_text(feed_subtitle(doc.topic, doc.language)))
    feed.author({"name": "feedsvc", "uri": doc.links.alternate_url})
    for rel, url in feed_link_pairs(doc.links):
        kind = "text/html" if rel == "alternate" else "application/atom+xml"
        feed.link(href=url, rel=rel, type=kind)
    if doc.links.icon_url:
        feed.icon(doc.links.icon_url)
    feed.language(doc.language)
    feed.generator(GENERATOR)
    feed.rights(xml_text(rights(doc.language, doc.licence)))
    feed.updated(doc.updated)
    for item in doc.items:
        _add_paper_entry(feed, item, doc)
    for day in doc.days:
        _add_digest_entry(feed, day, doc)
    body = bytes(feed.atom_str(pretty=False))
    return marked_as_archive(body) if doc.archived else body


def marked_as_archive(body: bytes) -> bytes:
    """The Atom document with RFC 5005's <fh:archive/>: it is an archive, never to change."""
    root = etree.fromstring(body)
    root.insert(0, etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS}))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _add_paper_entry(feed: FeedGenerator, item: FeedItem, doc: FeedDocument) -> None:
    paper, enrichment, language = item.paper, item.enrichment, doc.language
    entry = feed.add_entry(order="append")
    entry.id(entry_id(paper, language))
    entry.title(entry_title(item))
    entry.updated(item.updated)
    entry.published(paper.published)
    for name in paper.authors:
        entry.author({"name": xml_text(name) or "?"})
    for category in paper.categories:
        entry.category({"term": xml_text(category)})
    for slug, title in doc.topic_categories(item):
        entry.category({"term": slug, "scheme": doc.topic_scheme, "label": xml_text(title)})
    if enrichment is not None:
        entry.summary(xml_text(prose_text(enrichment.summary)))
    entry.content(xml_text(entry_html(doc, item)), type="html")
    entry.entrylinks.links = entry_links(item, language, doc.base_url)


def _add_digest_entry(feed: FeedGenerator, day: DigestDay, doc: FeedDocument) -> None:
    entry = feed.add_entry(order="append")
    url = digest_url(doc, day)
    entry.id(url)
    entry.title(xml_text(digest_title(doc.topic, doc.language, day.day, day.count)))
    entry.updated(day.updated)
    entry.published(datetime.combine(day.day, datetime.min.time(), tzinfo=UTC))
    entry.content(xml_text(day.html), type="html")
    link = digest_link(doc, day)
    entry.entrylinks.links = [{"href": link, "rel": "alternate", "type": "text/html"}]


def entry_links(item: FeedItem, language: str, base_url: str = "") -> list[dict[str, str]]:
    """The alternate abs page, the PDF and code links, each with its rel, type and title, and
    the lead figure as an enclosure where its licence allows."""
    paper, code = item.paper, words_for(language).gettext("Code")
    links = [
        {"href": paper.abs_url, "rel": "alternate", "type": "text/html", "title": "arXiv"},
        {"href": paper.pdf_url, "rel": "related", "type": "application/pdf", "title": "PDF"},
    ]
    links += [
        {"href": url, "rel": "related", "type": "text/html", "title": code}
        for url in paper.code_links
    ]
    lead = lead_figure(item, base_url)
    if lead is not None and lead.image_url:
        links.append({"href": lead.image_url, "rel": "enclosure", "type": lead.image_type})
    safe = [{**link, "href": safe_url(link["href"])} for link in links]
    return [link for link in safe if link["href"]]


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
