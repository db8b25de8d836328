"""Serving: formats, paging, digest, OPML and topic pages (the render cache: test_cache)."""

from __future__ import annotations

import json
import locale
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.config import Settings
from feedsvc.store import Store
from tests.web.test_web import offline_app, paper, publish

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store, feed_size=4)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def parsed(client: FlaskClient, path: str) -> Any:
    """The feed at `path`, parsed back: feedparser for XML, a JSON Feed 1.1 check for JSON."""
    response = client.get(path)
    assert response.status_code == 200, response.data
    if response.content_type.startswith("application/feed+json"):
        return checked_json_feed(response.data)
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def checked_json_feed(data: bytes) -> Any:
    """JSON Feed 1.1 checked field by field (feedparser 6 reads no JSON Feed), as a
    feedparser-like object: .version, .feed, .entries with .id, .link, .title ..."""
    feed = json.loads(data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert feed["feed_url"].startswith("http") and feed["home_page_url"].startswith("http")
    entries = []
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item["content_html"], str)
        published = datetime.fromisoformat(item["date_published"])
        assert published.tzinfo is not None
        entries.append(feedparser.FeedParserDict(
            id=item["id"], link=item["url"], title=item.get("title", ""),
            published_parsed=published.timetuple(), content=[{"value": item["content_html"]}],
        ))  # fmt: skip
    return feedparser.FeedParserDict(version="json11", feed=feed, entries=entries)


def test_rss_and_json_feed_carry_the_same_entries(
    client: FlaskClient, store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(store, settings, [paper(1), paper(2)])

    def no_setlocale(*args: object) -> str:
        raise AssertionError("locale.setlocale is process-wide: never call it while serving")

    monkeypatch.setattr(locale, "setlocale", no_setlocale)
    atom = parsed(client, "/feeds/testing.atom")
    rss = parsed(client, "/feeds/testing.rss")
    assert rss.version == "rss20"
    assert client.get("/feeds/testing.rss").content_type == "application/rss+xml; charset=utf-8"
    json_feed = parsed(client, "/feeds/testing.json")
    assert json_feed.version == "json11"
    assert client.get("/feeds/testing.json").content_type == "application/feed+json; charset=utf-8"
    for feed in (rss, json_feed):
        assert [e.link for e in feed.entries] == [e.link for e in atom.entries]
        assert [e.title for e in feed.entries] == [e.title for e in atom.entries]
        assert all(e.published_parsed for e in feed.entries)
    assert rss.entries[0].published == "Sun, 01 Nov 2026 02:00:00 GMT"
    assert [a.name for a in rss.entries[0].authors] == ["Ada Lovelace", "Émile Borel"]


def test_atom_metadata(client: FlaskClient, store: Store, settings: Settings) -> None:
    publish(store, settings, [paper(1)])
    root = etree.fromstring(client.get("/feeds/testing.atom").data)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh"
    assert root.findtext(f"{ATOM}subtitle").endswith("all:testing"), "the query, after a word"
    assert root.findtext(f"{ATOM}icon") == "http://feeds.test/static/icon.svg"
    assert root.findtext(f"{ATOM}generator") == "feedsvc"
    rights = root.findtext(f"{ATOM}rights")
    assert "CC0 1.0" in rights and "CC BY 4.0" in rights, "arXiv's licence and the text's"
    alternate = root.find(f"{ATOM}link[@rel='alternate']")
    assert alternate.get("href") == "http://feeds.test/topics/testing"


def links_of(feed: Any) -> dict[str, str]:
    return {link.rel: link.href for link in feed.feed.links}


def test_rfc5005_paging(client: FlaskClient, store: Store, settings: Settings) -> None:
    publish(store, settings, [paper(n) for n in range(1, 11)])  # 10 papers, 4 a page
    first = parsed(client, "/feeds/testing.en.atom")
    assert len(first.entries) == 4
    assert links_of(first)["next"] == "http://feeds.test/feeds/testing.en.atom?page=2"
    assert "previous" not in links_of(first)
    second = parsed(client, "/feeds/testing.en.atom?page=2")
    assert (
        links_of(second)["previous"]
        == links_of(second)["prev"]
        == ("http://feeds.test/feeds/testing.en.atom")
    )
    assert links_of(second)["first"] == "http://feeds.test/feeds/testing.en.atom"
    last = parsed(client, "/feeds/testing.en.atom?page=3")
    assert "next" not in links_of(last)
    ids = [e.id for f in (first, second, last) for e in f.entries]
    assert len(ids) == len(set(ids)) == 10
    json_page = json.loads(client.get("/feeds/testing.en.json?page=2").data)
    assert json_page["next_url"] == "http://feeds.test/feeds/testing.en.json?page=3"
    missing = client.get("/feeds/testing.en.atom?page=4")
    assert missing.status_code == 404 and b"There is no page 4: this feed has 3." in missing.data
    for bad in ("abc", "0", "-1", "1.5", "99999999999"):
        response = client.get(f"/feeds/testing.en.atom?page={bad}")
        assert response.status_code == 400 and b"page must be a whole number" in response.data


def test_daily_digest_has_one_entry_per_announcement_day(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    now = datetime.now(UTC)
    # Mondays to Wednesdays at 10:00 Eastern are announced the same day.
    monday = (now - timedelta(days=now.weekday() + 7)).replace(hour=15, minute=0)
    papers = [
        paper(1, updated=monday), paper(2, updated=monday + timedelta(minutes=5)),
        paper(3, updated=monday + timedelta(days=1)), paper(4, updated=monday + timedelta(days=2)),
        paper(5, updated=now - timedelta(days=40)),  # older than the digest reaches
    ]  # fmt: skip
    publish(store, settings, papers)
    digest = parsed(client, "/feeds/testing.en.daily.atom")
    days = [(monday + timedelta(days=d)).date().isoformat() for d in (2, 1, 0)]
    assert [e.id for e in digest.entries] == [
        f"http://feeds.test/topics/testing.en#{d}" for d in days
    ]
    assert digest.entries[2].title.endswith("· 2 papers")
    content = digest.entries[2].content[0].value
    assert "Paper 1:" in content and "Paper 2:" in content and "Paper 3:" not in content
    assert parsed(client, "/feeds/testing.daily.json").entries[0].id.endswith(days[0])
    assert client.get("/feeds/testing.daily.atom?page=2").status_code == 404


def test_opml_lists_every_feed(client: FlaskClient) -> None:
    response = client.get("/opml")
    assert response.content_type == "text/x-opml; charset=utf-8"
    root = etree.fromstring(response.data)
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    assert urls == [
        "http://feeds.test/feeds/all.atom", "http://feeds.test/feeds/all.zh.atom",
        "http://feeds.test/feeds/all.ja.atom",
        "http://feeds.test/feeds/testing.atom", "http://feeds.test/feeds/testing.en.atom",
        "http://feeds.test/feeds/also.atom", "http://feeds.test/feeds/also.ja.atom",
    ]  # fmt: skip
    assert b'href="/opml"' in client.get("/").data


def test_topic_page_reads_without_javascript(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1), paper(2, title="<script>alert(1)</script> Title")])
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert "Paper 1: α-testing" in page, "LaTeX shown readably; stored as arXiv sent it"
    assert "<details><summary>Abstract</summary>" in page
    assert "<ol><li>We test things.</li>" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert 'lang="en"' in page and 'href="/topics/testing" lang="zh" hreflang="zh">中文</a>' in page
    assert client.get("/topics/testing.fr").status_code == 404
