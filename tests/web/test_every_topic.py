"""One paper, once: /feeds/all.atom holds every topic's papers, each once, its topics as
categories; a topic's entry names the other topics that hold its paper."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.web.test_web import offline_app, paper
from worker.enrich import ExtractiveEnricher


def store_in(store: Store, settings: Settings, slug: str, papers: list[Paper]) -> None:
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == slug)
    store.papers.save_papers(topic, papers)
    for p in papers:
        for language in topic.languages:
            store.enrichments.save_enrichment(p.id, ExtractiveEnricher().enrich(p, language))
    store.topics.record_fetch_success(slug, datetime(2026, 11, 20, 9, 30, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store, feed_size=2)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    store_in(store, settings, "testing", [paper(1), paper(3)])  # testing: zh, en
    store_in(store, settings, "also", [paper(2), paper(3)])  # also: en, ja
    return app.test_client()


def entries(client: FlaskClient, path: str) -> list[feedparser.FeedParserDict]:
    found: list[feedparser.FeedParserDict] = []
    while path:
        feed = feedparser.parse(client.get(path).data)
        assert not feed.bozo, feed.get("bozo_exception")
        found += feed.entries
        following = [link.href for link in feed.feed.links if link.rel == "next"]
        path = following[0].removeprefix("http://feeds.test") if following else ""
    return found


@pytest.mark.parametrize(
    ("name", "papers"),
    [("all.atom", {1, 2, 3}), ("all.zh.atom", {1, 3}), ("all.ja.rss", {2, 3}),
     ("all.en.json", {1, 2, 3})],
)  # fmt: skip
def test_every_topics_papers_each_once_in_the_languages_they_have(
    client: FlaskClient, name: str, papers: set[int]
) -> None:
    if name.endswith(".json"):
        ids, path = [], f"/feeds/{name}"
        while path:
            page = client.get(path).get_json()
            ids += [item["url"] for item in page["items"]]
            path = page.get("next_url", "").removeprefix("http://feeds.test")
    else:
        ids = [entry.link for entry in entries(client, f"/feeds/{name}")]
    assert sorted(ids) == sorted(paper(n).abs_url for n in papers), "each once, paged"


def test_an_entry_carries_its_topics_as_categories(client: FlaskClient) -> None:
    (both,) = [e for e in entries(client, "/feeds/all.atom") if e.link == paper(3).abs_url]
    topics = {(t.term, t.label) for t in both.tags if t.get("scheme")}
    assert topics == {("testing", "Software testing"), ("also", "Testing, again")}
    assert all(t.scheme == "http://feeds.test/topics/" for t in both.tags if t.get("scheme"))
    assert "Topics:" in unescape(both.content[0].value)


def test_a_topics_entry_names_the_other_topics_that_hold_it(client: FlaskClient) -> None:
    feed = entries(client, "/feeds/testing.en.atom")
    content = {entry.link: unescape(entry.content[0].value) for entry in feed}
    both = content[paper(3).abs_url]
    assert "Also in:</strong>" in both and 'href="http://feeds.test/topics/also"' in both
    assert ">Testing, again</a>" in both
    assert "Also in" not in content[paper(1).abs_url]


def test_the_feed_of_every_topic_follows_each_topics_changes(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    before = client.get("/feeds/all.ja.atom")
    store_in(store, settings, "also", [paper(4)])
    after = client.get("/feeds/all.ja.atom", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and paper(4).abs_url.encode() in after.data
    assert client.get("/topics/all").status_code == 200
    assert client.get("/topics/all.zh").status_code == 200
    assert client.get("/feeds/all.daily.atom").status_code == 200


def test_no_topic_may_take_the_name_all(tmp_path: Path) -> None:
    topics = tmp_path / "topics.toml"
    topics.write_text('[topics.all]\ntitle = "All"\nquery = "all:x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'all' is kept for the feed of every topic"):
        load_topics(topics)
