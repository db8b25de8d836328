"""The pages people read: the index of topics, a topic's page, and every feed as OPML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from feedsvc.config import Topic
from feedsvc.errors import BadRequest
from feedsvc.licences import GENERATED_LICENCES, Licence
from feedsvc.status import TopicStatus
from feedsvc.store import FeedPage
from feedsvc.web.feedpath import parse_page, resolve_topic, shown
from feedsvc.web.i18n import catalogue_locales, has_catalogue, language_name, localized
from feedsvc.web.render.chrome import (
    disclaimer,
    feed_title,
    licence_line,
    provenance,
    venue_shown,
)
from feedsvc.web.render.document import html_text, safe_url
from feedsvc.web.render.html import isolated, printable
from feedsvc.web.render.latex import latex_html, prose_html
from feedsvc.web.render.notes import revision_note
from feedsvc.web.replies import Reply, html_reply
from feedsvc.web.services import Services
from feedsvc.web.urls import feed_url, page_url

OPML = "text/x-opml; charset=utf-8"

INDEX_URL = "/"
_ANY_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}")


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
        language_name=language_name, index_url=INDEX_URL,
    )  # fmt: skip
    environment.filters["isolated"] = isolated
    environment.filters["latex"] = latex_html
    environment.filters["prose"] = prose_html
    return environment


_pages = localized(_environment)


def render_page(template: str, language: str, **context: Any) -> str:
    return _pages(language).get_template(template).render(language=language, **context)


def index(svc: Services, args: Mapping[str, str]) -> Reply:
    """/?lang=xx: every topic, in the language asked for (English by default)."""
    language = page_language(args.get("lang", "en"))
    topics = list(svc.topics.values())
    licence = GENERATED_LICENCES[svc.settings.generated_license]
    return html_reply(render_page(
        "index.html", language,
        page_lang=language if has_catalogue(language) else "en",
        topics=topics,
        statuses=svc.topic_statuses(topics),
        now=datetime.now(UTC),
        stale_after=svc.settings.stale_after_seconds,
        page_languages=[locale.replace("_", "-") for locale in catalogue_locales()],
        topic_language=lambda topic: _shown_language(topic, language),
        disclaimer=disclaimer(language),
        licence_line=licence_line(language, licence),
    ))  # fmt: skip


def page_language(raw: str) -> str:
    """The index page's language from `?lang=`: any language tag, in any case, with `-` or
    `_` (`zh-TW`, `zh_tw`, `zh-Hant-TW`), as a tag; one without a catalogue reads English.
    BadRequest for what is not a tag."""
    if not _ANY_TAG.fullmatch(raw):
        raise BadRequest(f"lang must be a language code such as 'en' or 'zh-TW', not {shown(raw)}")
    primary, *rest = raw.replace("_", "-").split("-")
    shaped = [part.upper() if len(part) == 2 else part.title() for part in rest]
    return "-".join([primary.lower(), *shaped])


def _shown_language(topic: Topic, language: str) -> str:
    """The topic's feed language closest to the page's: its own, its base, else the default."""
    for candidate in (language, language.split("-")[0]):
        if candidate in topic.languages:
            return candidate
    return topic.default_language


def topic_page(svc: Services, name: str, args: Mapping[str, str]) -> Reply:
    """/topics/<slug>[.<lang>]?page=N: the papers of one page, newest first."""
    slug, _, language = name.partition(".")
    topic, language = resolve_topic(slug, language or None, svc.topics)
    page = parse_page(args.get("page", "1"))
    result = svc.feed_page(topic, language, page, datetime.now(UTC))
    licence = GENERATED_LICENCES[svc.settings.generated_license]
    return html_reply(topic_html(topic, language, result, svc.topic_status(topic), licence))


def topic_html(
    topic: Topic, language: str, result: FeedPage, status: TopicStatus, licence: Licence
) -> str:
    return render_page(
        "topic.html", language,
        topic=topic,
        result=result,
        status=status,
        feed_title=feed_title(topic, language),
        provenance=lambda enrichment: provenance(enrichment, language),
        venue=lambda venue: venue_shown(venue, language),
        disclaimer=disclaimer(language),
        licence_line=licence_line(language, licence),
    )  # fmt: skip


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
            title = html_text(feed_title(topic, language))
            etree.SubElement(
                group, "outline", type="rss", text=title, title=title, language=language,
                xmlUrl=feed_url(topic, language, base=base),
                htmlUrl=page_url(topic, language, base=base),
            )  # fmt: skip
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Reply(xml, OPML, headers=(("Content-Disposition", 'inline; filename="feedsvc.opml"'),))
