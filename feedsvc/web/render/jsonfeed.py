"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

import json
from typing import Any

from feedsvc.models import FeedItem
from feedsvc.web.render.chrome import digest_title, feed_subtitle
from feedsvc.web.render.document import (
    DigestDay,
    FeedDocument,
    digest_link,
    digest_url,
    entry_id,
    entry_title,
    safe_url,
    xml_text,
)
from feedsvc.web.render.figures import lead_figure
from feedsvc.web.render.html import entry_html
from feedsvc.web.render.latex import prose_text


def render_json(doc: FeedDocument) -> bytes:
    """A JSON Feed 1.1 document."""
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": doc.title,
        "home_page_url": doc.links.alternate_url,
        "feed_url": doc.links.self_url,
        "description": xml_text(feed_subtitle(doc.topic, doc.language)),
        "language": doc.language,
        "authors": [{"name": "feedsvc", "url": doc.links.alternate_url}],
        "items": [_json_item(item, doc) for item in doc.items]
        + [_json_digest_item(day, doc) for day in doc.days],
    }
    if doc.links.icon_url:
        feed["icon"] = feed["favicon"] = doc.links.icon_url
    if doc.links.next_url:
        feed["next_url"] = doc.links.next_url
    if archive := _archive_extension(doc):
        feed["_archive"] = archive
    return json.dumps(feed, ensure_ascii=False, indent=1).encode()


def _archive_extension(doc: FeedDocument) -> dict[str, Any]:
    """RFC 5005's archive links, which JSON Feed lacks, as an extension (an "_" key)."""
    links = {
        "current": doc.links.current_url,
        "prev_archive": doc.links.prev_archive_url,
        "next_archive": doc.links.next_archive_url,
    }
    found: dict[str, Any] = {name: url for name, url in links.items() if url}
    if found or doc.archived:
        found = {"about": "https://www.rfc-editor.org/rfc/rfc5005", "archive": doc.archived,
                 **found}  # fmt: skip
    return found


def _json_item(item: FeedItem, doc: FeedDocument) -> dict[str, Any]:
    paper, enrichment, language = item.paper, item.enrichment, doc.language
    data: dict[str, Any] = {
        "id": entry_id(paper, language),
        "url": paper.abs_url,
        "title": entry_title(item),
        "content_html": xml_text(entry_html(doc, item)),
        "date_published": paper.published.isoformat(),
        "date_modified": item.updated.isoformat(),
        "authors": [{"name": xml_text(name)} for name in paper.authors],
        "tags": [xml_text(c) for c in paper.categories]
        + [slug for slug, _title in doc.topic_categories(item)],
        "language": language,
    }
    if enrichment is not None:
        data["summary"] = xml_text(prose_text(enrichment.summary))
    if safe_url(paper.pdf_url):
        data["attachments"] = [{"url": paper.pdf_url, "mime_type": "application/pdf"}]
    lead = lead_figure(item, doc.base_url)
    if lead is not None and lead.image_url:
        data["image"] = lead.image_url
    return data


def _json_digest_item(day: DigestDay, doc: FeedDocument) -> dict[str, Any]:
    url = digest_url(doc, day)
    return {
        "id": url,
        "url": digest_link(doc, day),
        "title": xml_text(digest_title(doc.topic, doc.language, day.day, day.count)),
        "content_html": xml_text(day.html),
        "date_published": day.updated.isoformat(),
    }
