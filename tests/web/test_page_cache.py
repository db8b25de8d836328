"""The topic page, the index and the OPML through the render cache: rendered once per
version, answered by the fast path with ETag, 304 and gzip, and current after any change
they show (a paper, an enrichment, a fetch, a topic turning stale)."""

from __future__ import annotations

import gzip
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.config import Settings
from feedsvc.status import TopicStatus
from feedsvc.store import Store
from feedsvc.web.cache import Built
from feedsvc.web.pages import next_stale
from tests.web.test_cache import commands_run
from tests.web.test_web import offline_app, paper, publish

PAGES = ["/topics/testing", "/topics/testing.en?page=1", "/", "/?lang=de", "/opml"]


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store, feed_size=4)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_is_rendered_once_and_answered_like_a_feed(
    app: Flask, client: FlaskClient, store: Store, settings: Settings, path: str
) -> None:
    publish(store, settings, [paper(n) for n in range(1, 4)])
    cache = app.extensions["feedsvc"].cache
    first = client.get(path)
    assert first.status_code == 200 and cache.hits["render"] == 1
    again = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert cache.hits["render"] == 1 and cache.hits["memory"] >= 1, "from memory"
    assert gzip.decompress(again.data) == first.data and again.headers["Vary"] == "Accept-Encoding"
    assert first.headers["ETag"] and first.headers["Cache-Control"].startswith("public")
    unchanged = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.data == b""
    if first.content_type.startswith("text/html"):
        assert "default-src 'none'" in again.headers["Content-Security-Policy"], "fast path too"
    else:
        assert again.headers["Content-Disposition"] == 'inline; filename="feedsvc.opml"'


def test_an_unchanged_topic_page_costs_one_round_trip(
    app: Flask, client: FlaskClient, store: Store, settings: Settings, redis_client: redis.Redis
) -> None:
    publish(store, settings, [paper(1)])
    client.get("/topics/testing")
    before = commands_run(redis_client)
    client.get("/topics/testing")
    assert commands_run(redis_client) - before == 2, "MGET and HGETALL, in one pipeline"


def test_a_page_shows_every_change_it_shows(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1)])
    assert "Paper 2" not in client.get("/topics/testing.en").get_data(as_text=True)
    publish(store, settings, [paper(1), paper(2)])
    assert "Paper 2" in client.get("/topics/testing.en").get_data(as_text=True)
    assert "2 papers" in client.get("/").get_data(as_text=True)
    store.topics.record_fetch_success("testing", datetime(2026, 11, 30, 8, 15, tzinfo=UTC))
    assert "2026-11-30 08:15" in client.get("/topics/testing.en").get_data(as_text=True)
    assert "2026-11-30 08:15" in client.get("/").get_data(as_text=True)


def test_the_index_expires_when_the_next_topic_turns_stale() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    fresh = TopicStatus(last_fetched=now - timedelta(hours=1))
    fresher = TopicStatus(last_fetched=now - timedelta(minutes=5))
    stale = TopicStatus(last_fetched=now - timedelta(days=3))
    never = TopicStatus()
    moment = next_stale([fresh, fresher, stale, never], 3600 * 30, now)
    assert moment == now + timedelta(hours=29)
    assert next_stale([stale, never], 3600 * 30, now) is None


def test_made_up_index_languages_share_one_rendering(app: Flask, client: FlaskClient) -> None:
    for tag in ("nl", "xx", "de-AT", "DE", "de_ch", "qq-Zzzz-QQ"):
        assert client.get(f"/?lang={tag}").status_code == 200
    cache = app.extensions["feedsvc"].cache
    assert len(cache.memory) == 2 and cache.hits["render"] == 2, "English and German"


def test_requests_that_miss_together_wait_for_one_rendering(app: Flask) -> None:
    """A herd of readers on a new version (or a new filter) costs one rendering, not one
    each: on one core, 32 concurrent renderings of a 0.4 s filtered feed took 13 s."""
    cache = app.extensions["feedsvc"].cache
    builds: list[int] = []

    def slow_build() -> Built:
        builds.append(1)
        time.sleep(0.2)
        return Built(b"body", "text/plain", datetime.now(UTC))

    now = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=8) as pool:
        entries = list(pool.map(
            lambda _: cache.get("testing", "en", "papers.atom.p1.fabc", slow_build, now),
            range(8),
        ))  # fmt: skip
    assert len(builds) == 1 and len({id(entry) for entry in entries}) == 1
    assert not cache._rendering, "no lock is kept once nobody waits"
