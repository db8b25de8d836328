"""Serving: the render cache, gzip, formats, paging, digest, OPML and topic pages."""

from __future__ import annotations

import gzip
import json
import locale
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.web.test_web import paper, publish
from worker.enrich import ExtractiveEnricher

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    offline = replace(settings, openai_base_url=None, openai_api_key=None, feed_size=4)
    return create_app(offline, store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def commands_run(client: redis.Redis) -> int:
    """Redis commands executed so far (INFO itself left out)."""
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def test_an_unchanged_feed_costs_one_round_trip_and_no_rendering(
    app: Flask, client: FlaskClient, store: Store, settings: Settings, redis_client: redis.Redis
) -> None:
    publish(store, settings, [paper(n) for n in range(1, 4)])
    cache = app.extensions["feedsvc"].cache
    first = client.get("/feeds/testing.atom")
    assert cache.hits == {"memory": 0, "redis": 0, "render": 1}
    before = commands_run(redis_client)
    again = client.get("/feeds/testing.atom")
    assert commands_run(redis_client) - before == 1  # MGET of the two version counters
    assert cache.hits["render"] == 1 and cache.hits["memory"] == 1
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]

    other_process = create_app(app.extensions["feedsvc"].settings, store)
    assert other_process.test_client().get("/feeds/testing.atom").data == first.data
    assert other_process.extensions["feedsvc"].cache.hits == {"memory": 0, "redis": 1, "render": 0}


def test_storing_an_enrichment_or_a_paper_moves_the_version(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1)])
    etag = client.get("/feeds/testing.en.atom").headers["ETag"]
    zh_etag = client.get("/feeds/testing.atom").headers["ETag"]
    better = replace(ExtractiveEnricher().enrich(paper(1), "en"), summary="A new summary.")
    store.papers.save_enrichment(paper(1).id, better)
    changed = client.get("/feeds/testing.en.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"A new summary." in changed.data
    assert client.get("/feeds/testing.atom", headers={"If-None-Match": zh_etag}).status_code == 304

    publish(store, settings, [paper(2)])
    zh = client.get("/feeds/testing.atom", headers={"If-None-Match": zh_etag})
    assert zh.status_code == 200 and b"2411.00002" in zh.data


def test_gzip_is_made_once_and_served_to_clients_that_accept_it(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1), paper(2)])
    plain = client.get("/feeds/testing.atom")
    zipped = client.get("/feeds/testing.atom", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert (
        "Accept-Encoding" in zipped.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    )
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert zipped.headers["Cache-Control"] == "public, max-age=300"
    again = client.get(
        "/feeds/testing.atom",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert again.status_code == 304


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
    assert root.findtext(f"{ATOM}subtitle") == "all:testing"
    assert root.findtext(f"{ATOM}icon") == "http://feeds.test/static/icon.svg"
    assert root.findtext(f"{ATOM}generator") == "feedsvc"
    assert "CC0" in root.findtext(f"{ATOM}rights") and "machine-generated" in root.findtext(
        f"{ATOM}rights"
    )
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
        "http://feeds.test/feeds/testing.atom", "http://feeds.test/feeds/testing.en.atom",
        "http://feeds.test/feeds/also.atom", "http://feeds.test/feeds/also.ja.atom",
    ]  # fmt: skip
    assert b'href="/opml"' in client.get("/").data


def test_topic_page_reads_without_javascript(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1), paper(2, title="<script>alert(1)</script> Title")])
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert "Paper 1: $\\alpha$-testing" in page
    assert "<details><summary>Abstract</summary>" in page
    assert "<ol><li>We test things.</li>" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert 'lang="en"' in page and 'href="/topics/testing">zh</a>' in page
    assert client.get("/topics/testing.fr").status_code == 404


def test_cache_max_age_is_a_setting(settings: Settings, store: Store) -> None:
    app = create_app(replace(settings, cache_max_age_seconds=60), store)
    response = app.test_client().get("/feeds/also.atom")
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_a_paper_leaving_its_grace_period_appears_without_a_version_change(
    settings: Settings, redis_client: redis.Redis, store: Store
) -> None:
    app = create_app(replace(settings, publish_grace_seconds=1), store)
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    fresh: Paper = replace(paper(1), first_seen=datetime.now(UTC))
    store.papers.save_papers(topic, [fresh])
    client = app.test_client()
    assert parsed(client, "/feeds/testing.atom").entries == []
    time.sleep(1.1)
    assert len(parsed(client, "/feeds/testing.atom").entries) == 1


def test_the_fast_path_answers_from_memory_like_flask_would(
    app: Flask, client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1), paper(2)])
    rendered = client.get("/feeds/testing.atom", headers={"Accept-Encoding": "gzip"})
    hits = app.extensions["feedsvc"].cache.hits
    assert hits["render"] == 1
    fast = client.get("/feeds/testing.atom", headers={"Accept-Encoding": "gzip"})
    assert hits["memory"] == 1 and fast.data == rendered.data
    for header in ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Type",
                   "Content-Encoding", "Content-Length"):  # fmt: skip
        assert fast.headers[header] == rendered.headers[header], header
    head = client.head("/feeds/testing.atom")
    assert head.status_code == 200 and head.data == b""
    etag, modified = fast.headers["ETag"], fast.headers["Last-Modified"]
    for conditional in (
        {"If-None-Match": etag}, {"If-None-Match": f"W/{etag}, \"other\""},
        {"If-None-Match": "*"}, {"If-Modified-Since": modified},
    ):  # fmt: skip
        response = client.get(
            "/feeds/testing.atom", headers={"Accept-Encoding": "gzip", **conditional}
        )
        assert response.status_code == 304, conditional
    stale = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert client.get("/feeds/testing.atom", headers=stale).status_code == 200


def test_with_a_version_ttl_a_cached_feed_costs_no_round_trip(
    settings: Settings, redis_client: redis.Redis, store: Store
) -> None:
    app = create_app(replace(settings, version_check_seconds=60), store)
    publish(store, settings, [paper(1)])
    client = app.test_client()
    client.get("/feeds/testing.atom")
    before = commands_run(redis_client)
    for _ in range(5):
        assert client.get("/feeds/testing.atom").status_code == 200
    assert commands_run(redis_client) == before


def test_redis_down_after_caching_is_still_a_503(settings: Settings, redis_client: redis.Redis,
                                                 store: Store) -> None:  # fmt: skip
    publish(store, settings, [paper(1)])
    app = create_app(settings, store)
    app.test_client().get("/feeds/testing.atom")
    app.extensions["feedsvc"].store.db.client = redis.Redis.from_url("redis://127.0.0.1:9/0")
    response = app.test_client().get("/feeds/testing.atom")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
