"""Stored data of the previous release is brought to today's layout once, on start."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from dataclasses import replace
from types import ModuleType

import pytest
import redis

from feedsvc.config import Settings
from feedsvc.keys import Keys, work_member
from feedsvc.models import Paper
from feedsvc.store import Db, Store, migrations
from feedsvc.store.migrations import LATEST, stored_version
from tests.core.storetools import NOW, OTHER, TOPIC, enrichment, paper
from tests.servers import FIXTURES
from worker.stats import collect_stats


def previous_release(
    client: redis.Redis, keys: Keys, papers: list[Paper], failed: Paper | None = None
) -> None:
    """What release 0.1 (schema 1) wrote: hashes, topic sets and links, no index, no version,
    under the plain key names of schemas 1 to 3."""
    keys = replace(keys, tagged=False)
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


SCHEMA3_DIR = FIXTURES.parent / "schema3"
SCHEMA3 = json.loads((SCHEMA3_DIR / "schema3.json").read_text(encoding="utf-8"))


def _fixture_maker() -> ModuleType:
    """schema3/make.py, whose read_back made the fixture's: asked of today's store here."""
    spec = importlib.util.spec_from_file_location("schema3_make", SCHEMA3_DIR / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


read_back = _fixture_maker().read_back


def restore_schema3(client: redis.Redis | redis.RedisCluster, prefix: str) -> None:
    """Write the keys release 6fbe2ab's store wrote (see schema3/make.py) under `prefix`."""
    for record in SCHEMA3["keys"]:
        key = prefix + record["key"].removeprefix(SCHEMA3["prefix"])
        value = record["value"]
        if record["type"] == "string":
            client.set(key, value)
        elif record["type"] == "hash":
            encode = (lambda v: v.encode("latin-1")) if record.get("latin1") else str
            client.hset(key, mapping={k: encode(v) for k, v in value.items()})
        elif record["type"] == "set":
            client.sadd(key, *value)
        elif record["type"] == "zset":
            client.zadd(key, dict(value))
        else:
            restore_stream(client, key, record)
        if record["pttl"] > 0:
            client.pexpire(key, record["pttl"])


def restore_stream(client: redis.Redis | redis.RedisCluster, key: str, record: dict) -> None:  # type: ignore[type-arg]
    for entry_id, fields in record["value"]:
        client.xadd(key, fields, id=entry_id)
    for group in record["groups"]:
        client.xgroup_create(key, group["name"], id=group["last"], mkstream=True)
        for entry_id, consumer in group["pending"]:
            client.xclaim(key, group["name"], consumer, 0, [entry_id], force=True, justid=True)


def test_the_previous_releases_keys_take_the_hash_tag_and_read_back_the_same(
    redis_client: redis.Redis, store: Store
) -> None:
    restore_schema3(redis_client, store.keys.prefix)
    assert stored_version(store.db, store.keys) == 3
    assert store.migrate() == 3
    assert stored_version(store.db, store.keys) == LATEST
    plain = store.db.scan(f"{store.keys.prefix}:*")
    assert [key for key in plain if store.keys.tagged_name(key)] == []
    tagged = store.db.scan(f"{{{store.keys.prefix}}}:*")
    assert len(plain) + len(tagged) == len(SCHEMA3["keys"])
    assert read_back(store) == SCHEMA3["read_back"]
    assert store.pages.load_thumbnail("2411.00002") == b"\x89PNG fake"
    assert store.feeds.load_rendered("testing", "zh", "atom")["body"] == b"<feed/>"


def entry_order(entry_id: str) -> tuple[int, int]:
    milliseconds, sequence = entry_id.split("-")
    return int(milliseconds), int(sequence)


def test_the_migrated_queue_goes_on_where_it_stopped(
    redis_client: redis.Redis, store: Store
) -> None:
    restore_schema3(redis_client, store.keys.prefix)
    store.migrate()
    stream = next(r for r in SCHEMA3["keys"] if r["type"] == "stream")
    members = {entry_id: work_member(f["paper"], f["lang"]) for entry_id, f in stream["value"]}
    group = stream["groups"][0]
    held = sorted(members[entry_id] for entry_id, _ in group["pending"])
    unread = [
        m for entry_id, m in members.items() if entry_order(entry_id) > entry_order(group["last"])
    ]
    assert len(held) == 4 and unread == ["2411.00006|en"]
    pending = store.queue.claim("host-2", 0, 10)  # what host-1 held when the release stopped
    assert sorted(item.member for item in pending) == held
    assert [item.member for item in store.queue.take("host-2", 10)] == unread
    assert store.queue.requeue_due_retries(NOW) == 1
