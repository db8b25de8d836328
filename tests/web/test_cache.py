"""The render cache and the fast path: one round trip for an unchanged feed, gzip made once,
versions, grace periods, and answers equal to Flask's."""

from __future__ import annotations

import gzip
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.web.test_serving import parsed
from tests.web.test_web import offline_app, paper, publish
from worker.enrich import ExtractiveEnricher


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store, feed_size=4)


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
    store.enrichments.save_enrichment(paper(1).id, better)
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
    assert zipped.headers["Cache-Control"] == (
        "public, max-age=300, s-maxage=300, stale-while-revalidate=300, stale-if-error=86400"
    )
    again = client.get(
        "/feeds/testing.atom",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert again.status_code == 304


def test_cache_max_age_is_a_setting(settings: Settings, store: Store) -> None:
    app = create_app(replace(settings, cache_max_age_seconds=60), store)
    response = app.test_client().get("/feeds/also.atom")
    assert response.headers["Cache-Control"].startswith("public, max-age=60, s-maxage=60,")
    never = create_app(replace(settings, cache_max_age_seconds=0), store).test_client()
    assert never.get("/feeds/also.atom").headers["Cache-Control"] == "public, max-age=0"


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


def test_shared_caches_can_purge_by_topic_and_language(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1)])
    for path in ("/feeds/testing.atom", "/topics/testing"):
        assert client.get(path).headers["Surrogate-Key"] == "topic-testing topic-testing-zh"
    every = client.get("/feeds/all.en.atom").headers["Surrogate-Key"].split()
    assert {"topic-testing-en", "topic-also-en"} <= set(every)
    assert client.get("/").headers["Surrogate-Key"] == "site"
    again = client.get("/feeds/testing.atom")  # from memory: the same headers
    assert again.headers["Surrogate-Key"] == "topic-testing topic-testing-zh"
