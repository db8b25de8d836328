"""The stores against a real Redis: what each keeps, and that every multi-key write is one step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import redis

from feedsvc.errors import StoreError, StoreUnavailable
from feedsvc.keys import Keys
from feedsvc.store import Db, Store, WorkItem
from feedsvc.store.replies import Reply
from tests.core.storetools import (
    NOW,
    OTHER,
    TOPIC,
    assert_atomic_steps,
    assert_one_atomic_step,
    commands_of,
    enrichment,
    failed_once,
    paper,
)


@pytest.fixture
def dead_store() -> Iterator[Store]:
    store = Store(Db.from_url("redis://127.0.0.1:9/0"), Keys("dead"))
    yield store
    store.db.close()


def test_a_reply_is_typed_and_readable_only_after_its_batch_ran(store: Store) -> None:
    batch = store.db.batch()
    count: Reply[int] = batch.incrby(store.keys.topic_version("t"), 5)
    missing = batch.hget(store.keys.paper("none"), "version")
    with pytest.raises(RuntimeError, match="not run yet"):
        _ = count.value
    batch.run()
    assert (count.value, missing.value) == (5, None)


def test_outages_and_refusals_are_the_projects_own_errors(store: Store, dead_store: Store) -> None:
    with pytest.raises(StoreUnavailable):
        dead_store.queue.queue_length()
    with pytest.raises(StoreUnavailable):
        dead_store.ping()
    store.db.one(lambda b: b.set_string(store.keys.topic_papers("t"), "not a sorted set"))
    with pytest.raises(StoreError, match="WRONGTYPE") as refused:
        store.topics.paper_count("t")
    assert not isinstance(refused.value, StoreUnavailable)


def test_save_papers_stores_links_queues_and_bumps_in_one_step(
    store: Store, redis_client: redis.Redis
) -> None:
    papers = [paper(1), paper(2)]
    commands = commands_of(
        redis_client, store, lambda: store.papers.save_papers(TOPIC, papers, fetched_at=NOW)
    )
    assert_one_atomic_step(commands)
    assert store.topics.statuses([TOPIC])["testing"].last_fetched == NOW
    assert store.topics.paper_ids("testing") == ["2411.00002", "2411.00001"]  # newest first
    assert store.papers.load_paper("2411.00001") == paper(1)
    assert store.queue.waiting_count() == 4 and store.queue.queue_length() == 4
    assert store.feeds.feed_version("testing", "zh") == "1.0"


def test_an_unchanged_fetch_changes_nothing_and_queues_nothing(store: Store) -> None:
    first = store.papers.save_papers(TOPIC, [paper(1)])
    again = store.papers.save_papers(TOPIC, [paper(1)])
    assert (first.new, first.queued) == (["2411.00001"], 2)
    assert (again.new, again.revised, again.queued) == ([], [], 0)
    assert store.feeds.feed_version("testing", "zh") == "1.0"
    assert store.queue.queue_length() == 2


def test_a_new_version_keeps_first_seen_and_bumps_every_topic_of_the_paper(store: Store) -> None:
    store.papers.save_papers(TOPIC, [paper(1)])
    store.papers.save_papers(OTHER, [paper(1)])
    later = replace(
        paper(1, version=2, abstract="We test more things."), first_seen=NOW + timedelta(days=1)
    )
    result = store.papers.save_papers(OTHER, [later])
    assert result.revised == ["2411.00001"]
    stored = store.papers.load_paper("2411.00001")
    assert stored is not None and stored.version == 2 and stored.first_seen == NOW
    assert store.feeds.feed_version("testing", "zh") == "2.0"  # linked to both topics
    assert store.feeds.feed_version("other", "zh") == "2.0"
    new_score = later.updated.timestamp()
    assert store.db.client.zscore(store.keys.topic_papers("testing"), later.id) == new_score, (
        "the topic that did not fetch it lists it by its new update too (and its digest day)"
    )


def test_current_or_given_up_enrichments_are_not_queued_again(store: Store) -> None:
    p = paper(1)
    store.enrichments.save_enrichment(p.id, enrichment(p, "zh"))
    item = WorkItem("", p.id, "en")
    store.failures.mark_failed(item, p.source_hash, "HTTP 400 from the LLM", NOW)
    assert store.papers.save_papers(TOPIC, [p]).queued == 0
    revised = paper(1, version=2, abstract="A new text.")
    assert store.papers.save_papers(TOPIC, [revised]).queued == 2


def test_save_enrichment_stores_it_then_clears_retries_bumps_feeds_and_acks_in_one_step(
    store: Store, redis_client: redis.Redis
) -> None:
    p, item = failed_once(store)
    store.queue.requeue_due_retries(NOW)
    item = store.queue.take("c1", 1)[0]
    done = enrichment(p, item.language)
    commands = commands_of(
        redis_client, store, lambda: store.enrichments.save_enrichment(p.id, done, item)
    )
    for step in assert_atomic_steps(commands, 2)[:1]:  # the enrichment alone, on its node
        assert {command.split()[1] for command in step} == {
            store.keys.enrichment(p.id, item.language)
        }
    assert store.enrichments.load_enrichment(p.id, item.language) == done
    assert store.queue.attempts(p.id, item.language) == 0
    assert store.queue.retry_count() == 0
    assert store.feeds.feed_version("testing", item.language) == "1.1"
    assert store.queue.waiting_count() == 1  # the other language
    assert [i.member for i in store.queue.claim("c2", 0, 10)] == []


def test_topic_status_and_backfill_days(store: Store) -> None:
    store.topics.record_fetch_error("testing", "HTTP 503", NOW)
    store.topics.record_fetch_success("testing", NOW + timedelta(hours=1))
    status = store.topics.statuses([TOPIC])["testing"]
    assert status.last_fetched == NOW + timedelta(hours=1) and not status.failing
    store.topics.mark_backfilled("testing", NOW.date())
    assert store.topics.backfilled_days("testing") == {NOW.date().isoformat()}


def test_rendered_feeds_are_kept_as_bytes(store: Store) -> None:
    fields = {"body": b"\x1f\x8b binary", "etag": b"abc"}
    store.feeds.save_rendered("testing", "zh", "papers.atom.p1", fields)
    assert store.feeds.load_rendered("testing", "zh", "papers.atom.p1") == fields
    key = store.keys.rendered("testing", "zh", "papers.atom.p1")
    assert 0 < store.db.client.ttl(key) <= 7 * 86400


def test_stored_records_keep_their_format(store: Store, redis_client: redis.Redis) -> None:
    store.queue.enqueue([("2411.00001", "zh")])
    item = store.queue.take("c1", 1)[0]
    store.failures.mark_failed(item, "hash", "gave up", NOW)
    record = json.loads(redis_client.hget(store.keys.enrich_failed(), "2411.00001|zh") or "{}")
    assert record == {"reason": "gave up", "source_hash": "hash", "at": NOW.isoformat()}
    entry = redis_client.xadd(store.keys.enrich_queue(), {"paper": "2411.00002", "lang": "en"})
    assert store.queue.take("c1", 1) == [WorkItem(entry, "2411.00002", "en")]
    store.batches.hand_to_batch([WorkItem(entry, "2411.00002", "en")], "b-1", NOW)
    batch = json.loads(redis_client.hget(store.keys.llm_batches(), "b-1") or "{}")
    assert batch == {"members": ["2411.00002|en"], "created": NOW.isoformat()}
    store.batches.hand_to_batch([WorkItem(entry, "2411.00002", "en")], "b-2", NOW,
                                {"2411.00002|en": "testing:ab12cd34"})  # fmt: skip
    assert store.batches.batch_interests("b-2") == {"2411.00002|en": "testing:ab12cd34"}
    redis_client.hset(store.keys.enrich_dead(), "2411.00003|zh", '{"deliveries": 6, "at": "x"}')
    assert store.queue.dead_letters() == {"2411.00003|zh": 6}
    store.topics.record_fetch_error("testing", "HTTP 503", NOW)
    status = redis_client.hgetall(store.keys.topic_status("testing"))
    assert status == {"last_error": "HTTP 503", "last_error_at": NOW.isoformat()}


def test_the_high_water_mark_only_rises_and_exists_for_data_stored_before_it(
    store: Store,
) -> None:
    assert store.topics.high_water("testing") is None
    store.papers.save_papers(TOPIC, [paper(1), paper(3)])  # as stored before the mark existed
    assert store.topics.high_water("testing") == paper(3).updated
    store.papers.save_papers(TOPIC, [paper(2)], fetched_at=NOW)
    assert store.topics.high_water("testing") == paper(3).updated, "never lowered"
    store.papers.save_papers(TOPIC, [paper(4)], fetched_at=NOW)
    assert store.topics.status("testing").high_water == paper(4).updated
