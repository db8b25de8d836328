"""Text from outside (topics.toml, arXiv, the model) shown as text: control characters,
markup in RSS titles, right-to-left overrides."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.web.test_web import paper
from worker.enrich import ExtractiveEnricher

# TOML escapes: a C0 control, an escape sequence, a C1 control (NEL), a bell, markup.
NASTY_TOPICS = r"""
[topics.nasty]
title = "Control\u0001 \u001b[31mred\u0085 <b>&amp;</b>"
query = "abs:\"x\u0007\" AND <i>y</i> &amp; z"
languages = ["en", "he"]
"""
TOPIC_TITLE = "Control [31mred <b>&amp;</b>"  # what may be shown of it
TOPIC_QUERY = 'abs:"x" AND <i>y</i> &amp; z'
HTML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
FEEDS = ("nasty.atom", "nasty.he.rss", "nasty.json", "nasty.daily.atom", "nasty.he.daily.rss",
         "nasty.daily.json")  # fmt: skip
PAPER_TITLE = "<script>alert(1)</script> &amp; <b>bold</b>"


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(NASTY_TOPICS, encoding="utf-8")
    return path


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def publish_recent(store: Store, settings: Settings, papers: list[Paper]) -> None:
    """Papers of the nasty topic, updated yesterday (so the digests show them), enriched."""
    topic = load_topics(settings.topics_file)[0]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    papers = [replace(p, updated=yesterday) for p in papers]
    store.papers.save_papers(topic, papers)
    for p in papers:
        for language in topic.languages:
            store.enrichments.save_enrichment(p.id, ExtractiveEnricher().enrich(p, language))
    store.topics.record_fetch_success(topic.slug, yesterday)


def test_control_characters_of_a_topic_stay_out_of_the_opml(client: FlaskClient) -> None:
    opml = client.get("/opml")
    assert opml.status_code == 200, opml.data
    outlines = etree.fromstring(opml.data).iter("outline")
    assert [o.get("title") for o in outlines][3:5] == [  # after the feed of every topic
        TOPIC_TITLE,
        f"{TOPIC_TITLE} · arXiv (English)",
    ]


def test_control_characters_of_a_topic_reach_no_page(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish_recent(store, settings, [paper(1)])
    for path in ("/", "/topics/nasty", "/topics/nasty.he"):
        page = client.get(path)
        assert page.status_code == 200, page.data
        assert not HTML_FORBIDDEN.search(page.get_data(as_text=True)), path
        assert "Control [31mred &lt;b&gt;&amp;amp;&lt;/b&gt;" in page.get_data(as_text=True)


@pytest.mark.parametrize("name", FEEDS)
def test_control_characters_of_a_topic_reach_no_feed(
    client: FlaskClient, store: Store, settings: Settings, name: str
) -> None:
    publish_recent(store, settings, [paper(1)])
    response = client.get(f"/feeds/{name}")
    assert response.status_code == 200, response.data
    if name.endswith(".json"):
        texts = strings_in(json.loads(response.data))
    else:
        assert not feedparser.parse(response.data).bozo
        texts = list(etree.fromstring(response.data).itertext())
    assert texts and not any(XML_FORBIDDEN.search(text) for text in texts)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("name", ["nasty.rss", "nasty.he.daily.rss"])
def test_rss_titles_and_descriptions_hold_text_not_markup(
    client: FlaskClient, store: Store, settings: Settings, name: str
) -> None:
    publish_recent(store, settings, [paper(1, title=PAPER_TITLE)])
    channel = etree.fromstring(client.get(f"/feeds/{name}").data).find("channel")
    assert shown_as_html(channel.findtext("title")).startswith(f"{TOPIC_TITLE} · arXiv")
    assert shown_as_html(channel.findtext("description")).endswith(f"arXiv query: {TOPIC_QUERY}")
    item_title = shown_as_html(channel.findtext("item/title"))
    expected = f"{TOPIC_TITLE} · " if "daily" in name else PAPER_TITLE  # digest: title · day
    assert item_title.startswith(expected)
    entry_html = lxml.html.fragment_fromstring(channel.findtext("item/description"), "div")
    assert entry_html.find(".//p") is not None  # the entry's description stays HTML
    assert entry_html.find(".//script") is None and "<script>" in entry_html.text_content()


def shown_as_html(text: str) -> str:
    """What a reader that renders RSS titles as HTML shows: no element, the text as sent."""
    fragment = lxml.html.fragment_fromstring(text, create_parent="div")
    assert len(fragment) == 0, etree.tostring(fragment)
    return fragment.text_content()
