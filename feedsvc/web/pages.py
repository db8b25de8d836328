"""The pages people read: the index of topics, a topic's page, and every feed as OPML."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from feedsvc.web.feedpath import parse_page, resolve_topic
from feedsvc.web.render.document import html_text, labels_for, safe_url
from feedsvc.web.render.html import isolated, printable
from feedsvc.web.render.latex import latex_html
from feedsvc.web.render.notes import revision_note
from feedsvc.web.replies import Reply, html_reply
from feedsvc.web.services import Services
from feedsvc.web.urls import feed_url, page_url

OPML = "text/x-opml; charset=utf-8"

# Flask's template settings (no trim_blocks, autoescaping by extension), so the pages come
# out byte for byte as they did when Flask rendered them.
_pages = Environment(
    loader=PackageLoader("feedsvc.web", "templates"),
    autoescape=select_autoescape(("html", "htm", "xml", "xhtml", "svg")),
    finalize=printable,
)
_pages.globals.update(
    feed_url=feed_url, page_url=page_url, safe_url=safe_url, revision_note=revision_note
)
_pages.filters["isolated"] = isolated
_pages.filters["latex"] = latex_html


def render_page(template: str, **context: Any) -> str:
    return _pages.get_template(template).render(**context)


def index(svc: Services) -> Reply:
    topics = list(svc.topics.values())
    return html_reply(render_page(
        "index.html",
        topics=topics,
        statuses=svc.topic_statuses(topics),
        now=datetime.now(UTC),
        stale_after=svc.settings.stale_after_seconds,
    ))  # fmt: skip


def topic_page(svc: Services, name: str, args: Mapping[str, str]) -> Reply:
    """/topics/<slug>[.<lang>]?page=N: the papers of one page, newest first."""
    slug, _, language = name.partition(".")
    topic, language = resolve_topic(slug, language or None, svc.topics)
    page = parse_page(args.get("page", "1"))
    result = svc.feed_page(topic, language, page, datetime.now(UTC))
    return html_reply(render_page(
        "topic.html",
        topic=topic,
        language=language,
        result=result,
        labels=labels_for(language),
        status=svc.topic_status(topic),
    ))  # fmt: skip


def opml(svc: Services) -> Reply:
    """Every topic and language in one OPML 2.0 file, for a one-step subscription."""
    base = svc.settings.public_url
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "feedsvc: arXiv topic feeds"
    body = etree.SubElement(root, "body")
    for topic in svc.topics.values():
        topic_title = html_text(topic.title)  # readers show it: no controls of any kind
        group = etree.SubElement(body, "outline", text=topic_title, title=topic_title)
        for language in topic.languages:
            title = f"{topic_title} ({language})"
            etree.SubElement(
                group, "outline", type="rss", text=title, title=title, language=language,
                xmlUrl=feed_url(topic, language, base=base),
                htmlUrl=page_url(topic, language, base=base),
            )  # fmt: skip
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Reply(xml, OPML, headers=(("Content-Disposition", 'inline; filename="feedsvc.opml"'),))
