"""Every format stays valid and safe whatever papers and model output hold (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.config import Topic
from feedsvc.licences import DEFAULT_GENERATED_LICENCE, GENERATED_LICENCES
from feedsvc.models import Enrichment, FeedItem, Paper
from feedsvc.status import TopicStatus
from feedsvc.store import FeedPage
from feedsvc.web.pages import topic_html
from feedsvc.web.render.atom import render_atom
from feedsvc.web.render.document import FeedDocument, FeedLinks, xml_text
from feedsvc.web.render.html import render_entry_html
from feedsvc.web.render.jsonfeed import render_json
from feedsvc.web.render.rss import render_rss

NASTY = [
    "]]>", "<script>alert(1)</script>", "javascript:alert(1)", "<img src=x onerror=alert(1)>",
    "$\\alpha_{i}^{2}$ \\cite{x}", "שלום עולם", "مرحبا بالعالم", "\u202eevil\u202c", "😀🧪",
    "\x00", "\x1b[31m", "\ud800", "\udfff", "&amp;&lt;", "\r\n", "<!-- -->", '"quotes\'',
    "<a href='javascript:alert(1)'>x</a>", "\ufffe", "Ω≈ç√∫",
]  # fmt: skip
URLS = [
    "https://github.com/org/repo", "javascript:alert(1)", "data:text/html,<script>",
    "http://example.org/a?b=<c>&d='e'", "https://x.org/\"onmouseover=alert(1)", "//no-scheme",
]  # fmt: skip
text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=6).map("".join)
LICENCE = GENERATED_LICENCES[DEFAULT_GENERATED_LICENCE]
TOPIC = Topic("t", "Topic <b>&</b>", 'abs:"x" AND <y>', ("zh", "en"), 10)
WHEN = datetime(2026, 11, 20, 12, tzinfo=UTC)
LINKS = FeedLinks(
    "http://feeds.test/feeds/t.atom", "http://feeds.test/topics/t", "http://feeds.test/i.svg"
)


@st.composite
def feed_items(draw: Any) -> FeedItem:
    paper = Paper(
        id=f"2411.{draw(st.integers(0, 99999)):05d}",
        version=draw(st.integers(1, 9)),
        title=draw(text),
        abstract=draw(text),
        authors=tuple(draw(st.lists(text, max_size=4))),
        published=WHEN,
        updated=WHEN,
        categories=tuple(draw(st.lists(text, max_size=3))),
        comment=draw(text),
        venue=draw(text),
        pdf_url=draw(st.sampled_from(URLS)),
        code_links=tuple(draw(st.lists(st.sampled_from(URLS), max_size=3))),
        first_seen=WHEN,
    )
    enrichment = None
    if draw(st.booleans()):
        enrichment = Enrichment(
            language="zh", method="llm", summary=draw(text),
            takeaways=tuple(draw(st.lists(text, max_size=7))), source_version=1,
            source_hash="h", model=draw(text), prompt_version="p",
            title_translated=draw(text), abstract_translated=draw(text),
            unverified_numbers=tuple(draw(st.lists(text, max_size=2))), created_at=WHEN,
        )  # fmt: skip
    return FeedItem(paper, enrichment, failed=draw(st.booleans()))


def assert_safe_html(fragment: str) -> None:
    """No script, no event handler attributes, no link that is not http(s)."""
    if not fragment.strip():
        return
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for element in root.iter():
        assert element.tag not in ("script", "iframe", "object", "embed", "style")
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            if name in ("href", "src"):
                assert urlsplit(value).scheme in ("", "http", "https"), value
                assert "javascript" not in value.lower(), value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(feed_items(), max_size=4, unique_by=lambda item: item.paper.id))
def test_every_format_parses_and_stays_safe(items: list[FeedItem]) -> None:
    doc = FeedDocument(TOPIC, "zh", LINKS, items=items)
    for body in (render_atom(doc), render_rss(doc)):
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.get("bozo_exception")
        assert len(feed.entries) == len(items)
        for entry, item in zip(feed.entries, items, strict=True):
            assert entry.link == item.paper.abs_url
            assert entry.title.strip()
    json_feed = json.loads(render_json(doc))
    assert [i["id"] for i in json_feed["items"]] == [f"{i.paper.abs_url}#zh" for i in items]
    for item in items:
        assert_safe_html(xml_text(render_entry_html(item, "zh", LICENCE)))


@settings(max_examples=40, deadline=None)
@given(st.lists(feed_items(), max_size=3, unique_by=lambda item: item.paper.id))
def test_topic_page_stays_safe(items: list[FeedItem]) -> None:
    html = topic_html(TOPIC, "zh", FeedPage(items, 1, 1, None), TopicStatus(), LICENCE)
    body = html.split("<body>", 1)[1].split("</body>", 1)[0]
    assert_safe_html(xml_text(body))
