"""RFC 5005 archives, one per ISO week of the papers that joined a topic: following
prev-archive from the current feed visits every archived paper once, and an archive's bytes
and ETag never change once its week is over, whatever later happens to its papers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.calendar import iso_week
from feedsvc.config import Settings, Topic, load_topics
from feedsvc.models import Enrichment
from feedsvc.store import Store
from feedsvc.store.migrations import migrate
from tests.core.storetools import as_schema
from tests.web.test_web import offline_app, paper
from worker.enrich import ExtractiveEnricher

NOW = datetime.now(UTC)
HISTORY = "{http://purl.org/syndication/history/1.0}archive"
ATOM = "{http://www.w3.org/2005/Atom}"
# When each paper joined the topic: five weeks ago, three (two papers), two, and just now.
ARRIVALS = {1: 35, 2: 21, 3: 21, 4: 14, 5: 0}


def the_topic(settings: Settings) -> Topic:
    return next(t for t in load_topics(settings.topics_file) if t.slug == "testing")


def arrive(store: Store, topic: Topic, n: int, days_ago: float) -> None:
    p = paper(n, updated=NOW - timedelta(days=days_ago, hours=2))
    store.papers.save_papers(topic, [p], NOW - timedelta(days=days_ago, hours=1))
    for language in topic.languages:
        store.enrichments.save_enrichment(p.id, ExtractiveEnricher().enrich(p, language))


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    store.migrate()  # as the worker does on start: archives are kept from today's layout only
    topic = the_topic(settings)
    for n, days_ago in ARRIVALS.items():
        arrive(store, topic, n, days_ago)
    return offline_app(settings, store, feed_size=2)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def links(body: bytes) -> dict[str, str]:
    root = etree.fromstring(body)
    return {
        link.get("rel"): link.get("href").removeprefix("http://feeds.test")
        for link in root.iter(f"{ATOM}link")
    }


def entry_ids(body: bytes) -> list[str]:
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    return [entry.link for entry in feed.entries]


def test_following_prev_archive_visits_every_archived_paper_once(client: FlaskClient) -> None:
    current = client.get("/feeds/testing.en.atom")
    assert etree.fromstring(current.data).find(HISTORY) is None
    path = links(current.data)["prev-archive"]
    visited: list[str] = []
    weeks = []
    while path:
        archive = client.get(path)
        assert archive.status_code == 200
        root = etree.fromstring(archive.data)
        assert root.find(HISTORY) is not None, "an archive says it is one"
        found = links(archive.data)
        assert found["current"] == "/feeds/testing.en.atom"
        week = path.rsplit("=", 1)[1]
        assert found["self"] == path and found["next-archive"].endswith(
            iso_week(datetime.fromisocalendar(int(week[:4]), int(week[6:]), 1) + timedelta(7))
        )
        weeks.append(week)
        visited += entry_ids(archive.data)
        path = found.get("prev-archive", "")
    archived = [paper(n).abs_url for n, days_ago in ARRIVALS.items() if days_ago >= 14]
    assert sorted(visited) == sorted(archived), "each archived paper, once"
    assert len(weeks) == 3, "weeks without a paper are skipped"
    assert paper(5).abs_url in entry_ids(current.data), "this week's paper is in the feed"


def test_an_archive_never_changes_after_its_week(
    settings: Settings, store: Store, client: FlaskClient
) -> None:
    week = iso_week(NOW - timedelta(days=21, hours=1))
    path = f"/feeds/testing.en.atom?week={week}"
    first = client.get(path)
    assert first.status_code == 200 and len(entry_ids(first.data)) == 2
    assert first.headers["ETag"]

    topic = the_topic(settings)
    revised = replace(paper(2, updated=NOW), version=2, title="A new title")
    store.papers.save_papers(topic, [revised])
    redone = Enrichment("en", "llm", "A new summary.", ("New.",), 2, revised.source_hash,
                        model="m")  # fmt: skip
    store.enrichments.save_enrichment(revised.id, redone)
    store.papers.save_papers(topic, [paper(9, updated=NOW - timedelta(days=21))])
    assert b"A new title" in client.get("/feeds/testing.en.atom").data, "the feed moved on"

    again = offline_app(settings, store).test_client().get(path)  # another process
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    gzipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]


def test_this_weeks_document_is_not_an_archive_yet(client: FlaskClient) -> None:
    response = client.get(f"/feeds/testing.en.atom?week={iso_week(NOW)}")
    assert response.status_code == 200
    assert etree.fromstring(response.data).find(HISTORY) is None
    assert "next-archive" not in links(response.data)
    assert paper(5).abs_url in entry_ids(response.data)


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [("week=2026-W60", 400, b"ISO week"), ("week=last", 400, b"ISO week"),
     (f"week={iso_week(NOW + timedelta(days=8))}", 404, b"has not begun"),
     (f"week={iso_week(NOW)}&include=x", 400, b"no page, filter or digest"),
     (f"week={iso_week(NOW)}&page=2", 400, b"no page, filter or digest")],
)  # fmt: skip
def test_a_week_that_cannot_be_is_a_clear_error(
    client: FlaskClient, query: str, status: int, text: bytes
) -> None:
    response = client.get(f"/feeds/testing.en.atom?{query}")
    assert response.status_code == status and text in response.data


@pytest.mark.parametrize("week", ["1900-W01", "0001-W01"])
def test_a_week_before_the_first_paper_is_a_404_and_keeps_nothing(
    client: FlaskClient, store: Store, week: str
) -> None:
    response = client.get(f"/feeds/testing.en.atom?week={week}")
    assert response.status_code == 404 and b"before the topic's first paper" in response.data
    assert not store.db.scan(f"{store.keys.prefix}:feed:*:archive:*")


def test_a_paper_of_two_topics_is_in_one_week_of_the_feed_of_every_topic(
    settings: Settings, store: Store, client: FlaskClient
) -> None:
    also = next(t for t in load_topics(settings.topics_file) if t.slug == "also")
    store.papers.save_papers(also, [paper(2)], NOW - timedelta(days=7))  # joined testing at 21
    weeks = {iso_week(NOW - timedelta(days=d, hours=1)) for d in (21, 7)}
    holding = [
        week for week in weeks
        if paper(2).abs_url in entry_ids(client.get(f"/feeds/all.en.atom?week={week}").data)
    ]  # fmt: skip
    assert holding == [iso_week(NOW - timedelta(days=21, hours=1))]


def test_rss_and_json_archives_say_so_too(client: FlaskClient) -> None:
    week = iso_week(NOW - timedelta(days=14, hours=1))
    rss = client.get(f"/feeds/testing.rss?week={week}")
    channel = etree.fromstring(rss.data).find("channel")
    assert channel is not None and channel.find(HISTORY) is not None
    assert not feedparser.parse(rss.data).bozo
    body = json.loads(client.get(f"/feeds/testing.en.json?week={week}").data)
    assert body["_archive"]["archive"] is True and "prev_archive" in body["_archive"]
    assert [item["url"] for item in body["items"]] == [paper(4).abs_url]


def test_the_topic_page_links_the_newest_archive(client: FlaskClient) -> None:
    week = iso_week(NOW - timedelta(days=14, hours=1))
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert f'href="/feeds/testing.en.atom?week={week}">weekly archives</a>' in page


def test_the_feed_of_every_topic_has_archives(client: FlaskClient) -> None:
    current = client.get("/feeds/all.atom")
    week = links(current.data)["prev-archive"].rsplit("=", 1)[1]
    assert week == iso_week(NOW - timedelta(days=14, hours=1))


def test_papers_stored_before_arrivals_were_kept_get_their_first_sighting(
    settings: Settings, store: Store
) -> None:
    topic, keys = the_topic(settings), store.keys
    arrive(store, topic, 1, 21)
    arrivals = keys.topic_arrivals("testing")
    store.db.one(lambda b: b.delete(arrivals))
    as_schema(store, 2)
    migrate(store.db, keys)
    stored = store.papers.load_paper(paper(1).id)
    assert stored is not None
    scored = store.db.one(lambda b: b.zrangebyscore_scored(arrivals, "-inf", "+inf", -1))
    assert scored == [(paper(1).id, stored.first_seen.timestamp())]
