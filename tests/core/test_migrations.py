"""Stored data of the previous release is brought to today's layout once, on start."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest
import redis

from feedsvc.config import Settings
from feedsvc.keys import Keys, work_member
from feedsvc.models import Paper
from feedsvc.store import Db, Store, migrations
from feedsvc.store.migrations import LATEST, stored_version
from tests.core.storetools import NOW, OTHER, TOPIC, enrichment, paper
from worker.stats import collect_stats


def previous_release(
    client: redis.Redis, keys: Keys, papers: list[Paper], failed: Paper | None = None
) -> None:
    """What release 0.1 (schema 1) wrote: hashes, topic sets and links, no index, no version."""
    for p in papers:
        fields = {k: v for k, v in p.to_redis().items() if k != "revision"}
        client.hset(keys.paper(p.id), mapping=fields)
        client.sadd(keys.paper_topics(p.id), TOPIC.slug)
        client.zadd(keys.topic_papers(TOPIC.slug), {p.id: p.updated.timestamp()})
    for p in papers[:7]:
        client.hset(keys.enrichment(p.id, "zh"), mapping=enrichment(p, "zh").to_redis())
    for p in papers[:3]:
        client.hset(keys.enrichment(p.id, "en"), mapping=enrichment(p, "en").to_redis())
    if failed is not None:
        record = {"reason": "HTTP 400 from the LLM", "source_hash": failed.source_hash, "at": "x"}
        client.hset(keys.enrich_failed(), work_member(failed.id, "zh"), json.dumps(record))


def test_the_previous_releases_data_is_indexed_once_and_counted_right(
    redis_client: redis.Redis, store: Store
) -> None:
    papers = [replace(paper(99), id="hep-th/9901001")] + [paper(n) for n in range(10)]
    previous_release(redis_client, store.keys, papers, failed=papers[10])
    assert stored_version(store.db, store.keys) == 1
    assert store.migrate() == 1
    assert redis_client.get(store.keys.schema()) == str(LATEST)
    assert redis_client.scard(store.keys.enriched("zh")) == 7
    assert redis_client.sismember(store.keys.enriched("zh"), "hep-th/9901001")
    assert redis_client.smembers(store.keys.enriched("en")) == {p.id for p in papers[:3]}
    arrivals = redis_client.zrange(store.keys.topic_arrivals(TOPIC.slug), 0, -1, withscores=True)
    assert dict(arrivals) == {p.id: p.first_seen.timestamp() for p in papers}
    stats = collect_stats(store, [TOPIC], Settings(), NOW)["topics"][0]
    assert stats["papers"] == 11
    assert stats["languages"]["zh"] == {"enriched": 7, "pending": 3, "failed": 1}
    assert stats["languages"]["en"] == {"enriched": 3, "pending": 8, "failed": 0}
    assert store.migrate() == LATEST, "the second start finds nothing to do"


def test_old_papers_read_back_and_keep_their_place(redis_client: redis.Redis, store: Store) -> None:
    papers = [paper(n) for n in range(3)]
    previous_release(redis_client, store.keys, papers)
    store.migrate()
    assert [store.papers.load_paper(p.id) for p in papers] == papers
    assert store.topics.paper_ids(TOPIC.slug) == [p.id for p in reversed(papers)]
    assert store.topics.paper_ids(OTHER.slug) == []


def test_a_new_database_starts_at_the_newest_schema_without_scanning(store: Store) -> None:
    assert stored_version(store.db, store.keys) == 0
    assert store.migrate() == 0
    assert stored_version(store.db, store.keys) == LATEST


def test_two_workers_starting_together_migrate_once(
    redis_client: redis.Redis, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous_release(redis_client, store.keys, [paper(n) for n in range(10)])
    applied: list[int] = []

    def slow_index(db: Db, keys: Keys) -> int:
        applied.append(1)
        time.sleep(0.3)  # the other worker starts meanwhile and must wait, not migrate too
        return migrations.index_enriched_papers(db, keys)

    step = replace(migrations.MIGRATIONS[0], apply=slow_index)
    monkeypatch.setattr(migrations, "MIGRATIONS", (step, *migrations.MIGRATIONS[1:]))
    threads = [threading.Thread(target=store.migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert applied == [1] and redis_client.scard(store.keys.enriched("zh")) == 7
    assert stored_version(store.db, store.keys) == LATEST
    assert not redis_client.exists(store.keys.lock("migrate"))
