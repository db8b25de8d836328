"""The stores against a real Redis: what each keeps, and that every multi-key write is one step."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis

from feedsvc.config import Topic
from feedsvc.errors import StoreError, StoreUnavailable
from feedsvc.keys import Keys
from feedsvc.models import Enrichment, Paper
from feedsvc.store import Db, Store, WorkItem
from feedsvc.store.replies import Reply

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TOPIC = Topic("testing", "Testing", "all:testing", ("zh", "en"))
OTHER = Topic("other", "Other", "all:other", ("zh",))
READS = {
    "HELLO",
    "SELECT",
    "CLIENT",
    "PING",
    "HGET",
    "HMGET",
    "HGETALL",
    "SMEMBERS",
    "ZRANGEBYSCORE",
    "MGET",
    "HKEYS",
    "ZCARD",
}


def paper(n: int, version: int = 1, abstract: str = "We test things.") -> Paper:
    return Paper(
        id=f"2411.{n:05d}", version=version, title=f"Paper {n}", abstract=abstract,
        authors=("A. Author",), published=NOW, updated=NOW + timedelta(minutes=n, seconds=version),
        first_seen=NOW,
    )  # fmt: skip


def enrichment(p: Paper, language: str = "zh") -> Enrichment:
    return Enrichment(language, "extractive", "一句总结。", ("要点",), p.version, p.source_hash)


def commands_of(redis_client: redis.Redis, store: Store, action: Callable[[], object]) -> list[str]:
    """The commands `action` sent through the store's connections, as MONITOR saw them."""
    sentinel = f"end-{uuid.uuid4().hex}"
    seen_by_port: list[tuple[str, str]] = []
    with redis_client.monitor() as monitor:
        action()
        store.db.client.echo(sentinel)
        while sentinel not in (command := monitor.next_command())["command"]:
            seen_by_port.append((command["client_port"], command["command"]))
    ours = {port for port, command in seen_by_port if store.keys.prefix in command}
    return [command for port, command in seen_by_port if port in ours]


def assert_one_atomic_step(commands: list[str]) -> None:
    """Every write lies inside the one MULTI ... EXEC; only reads come before it."""
    assert commands.count("MULTI") == 1 and commands.count("EXEC") == 1, commands
    start, end = commands.index("MULTI"), commands.index("EXEC")
    outside = commands[:start] + commands[end + 1 :]
    assert all(c.split()[0].upper() in READS for c in outside), outside


def failed_once(store: Store) -> tuple[Paper, WorkItem]:
    """A stored paper whose first work item failed once and waits to retry."""
    p = paper(1)
    store.papers.save_papers(TOPIC, [p])
    item = store.queue.take("c1", 1)[0]
    store.queue.schedule_retry(item, NOW, "HTTP 500 from the LLM")
    return p, item


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


def test_current_or_given_up_enrichments_are_not_queued_again(store: Store) -> None:
    p = paper(1)
    store.papers.save_enrichment(p.id, enrichment(p, "zh"))
    item = WorkItem("", p.id, "en")
    store.failures.mark_failed(item, p.source_hash, "HTTP 400 from the LLM", NOW)
    assert store.papers.save_papers(TOPIC, [p]).queued == 0
    revised = paper(1, version=2, abstract="A new text.")
    assert store.papers.save_papers(TOPIC, [revised]).queued == 2


def test_save_enrichment_clears_retries_bumps_feeds_and_acks_in_one_step(
    store: Store, redis_client: redis.Redis
) -> None:
    p, item = failed_once(store)
    store.queue.requeue_due_retries(NOW)
    item = store.queue.take("c1", 1)[0]
    done = enrichment(p, item.language)
    commands = commands_of(
        redis_client, store, lambda: store.papers.save_enrichment(p.id, done, item)
    )
    assert_one_atomic_step(commands)
    assert store.papers.load_enrichment(p.id, item.language) == done
    assert store.queue.attempts(p.id, item.language) == 0
    assert store.queue.retry_count() == 0
    assert store.feeds.feed_version("testing", item.language) == "1.1"
    assert store.queue.waiting_count() == 1  # the other language
    assert [i.member for i in store.queue.claim("c2", 0, 10)] == []


def test_enqueue_is_idempotent_while_an_item_waits(store: Store) -> None:
    assert store.queue.enqueue([("2411.00001", "zh"), ("2411.00001", "zh")]) == 1
    assert store.queue.enqueue([("2411.00001", "zh")]) == 0
    item = store.queue.take("c1", 5)[0]
    store.queue.ack(item)
    assert store.queue.enqueue([("2411.00001", "zh")]) == 1


def test_a_retry_waits_until_due_then_returns_to_the_stream(store: Store) -> None:
    store.queue.enqueue([("2411.00001", "zh")])
    item = store.queue.take("c1", 1)[0]
    assert store.queue.schedule_retry(item, NOW + timedelta(minutes=1), "timeout") == 1
    assert store.queue.queue_length() == 0 and store.queue.retry_count() == 1
    assert store.queue.next_retry_at() == (NOW + timedelta(minutes=1)).timestamp()
    assert store.queue.requeue_due_retries(NOW) == 0
    assert store.queue.requeue_due_retries(NOW + timedelta(minutes=2)) == 1
    assert [i.member for i in store.queue.take("c1", 5)] == ["2411.00001|zh"]
    assert store.queue.waiting_count() == 1


def test_an_item_that_keeps_killing_workers_goes_to_the_dead_letters(store: Store) -> None:
    store.queue.enqueue([("2411.00001", "zh")])
    store.queue.take("dies", 1)
    assert len(store.queue.claim_stale("c2", 0, 5, max_deliveries=2)) == 1
    assert store.queue.claim_stale("c3", 0, 5, max_deliveries=2) == []
    assert store.queue.dead_letters() == {"2411.00001|zh": 3}
    assert store.queue.queue_length() == 0 and store.queue.waiting_count() == 0
    assert store.failures.requeue_failed() == 1
    assert store.queue.dead_letters() == {} and store.queue.queue_length() == 1


def test_hand_back_puts_in_flight_items_back_for_another_worker(store: Store) -> None:
    store.queue.enqueue([("2411.00001", "zh"), ("2411.00002", "zh")])
    taken = store.queue.take("stopping", 2)
    store.queue.hand_back(taken)
    assert sorted(i.member for i in store.queue.take("other", 5)) == [
        "2411.00001|zh", "2411.00002|zh",
    ]  # fmt: skip
    assert store.queue.claim("third", 0, 5) != []  # the new entries, not the handed back


def test_mark_failed_is_one_step_and_requeue_failed_gives_fresh_attempts(
    store: Store, redis_client: redis.Redis
) -> None:
    p, item = failed_once(store)
    failing = replace(item, entry_id="")
    commands = commands_of(
        redis_client, store,
        lambda: store.failures.mark_failed(failing, p.source_hash, "HTTP 400", NOW),
    )  # fmt: skip
    assert_one_atomic_step(commands)
    assert store.failures.failed_items() == {item.member: "HTTP 400"}
    assert store.queue.attempts(p.id, item.language) == 2 and store.queue.retry_count() == 0
    assert store.feeds.feed_version("testing", item.language) == "1.1"
    assert store.failures.requeue_failed() == 1
    assert store.failures.failed_items() == {} and store.queue.attempts(p.id, item.language) == 0


def test_a_batch_holds_its_items_off_the_stream_until_closed(store: Store) -> None:
    store.queue.enqueue([("2411.00001", "zh")])
    items = store.queue.take("c1", 5)
    store.batches.hand_to_batch(items, "batch-1", NOW)
    assert store.batches.open_batches() == {"batch-1": ["2411.00001|zh"]}
    assert store.queue.queue_length() == 0 and store.queue.waiting_count() == 1
    store.batches.close_batch("batch-1")
    assert store.batches.open_batches() == {}


def test_a_lock_is_held_renewed_and_released_only_by_its_token(store: Store) -> None:
    coordination = store.coordination
    assert coordination.acquire_lock("fetch:x", "mine", 10)
    assert not coordination.acquire_lock("fetch:x", "theirs", 10)
    assert not coordination.renew_lock("fetch:x", "theirs", 10)
    assert coordination.renew_lock("fetch:x", "mine", 10)
    coordination.release_lock("fetch:x", "theirs")
    assert not coordination.acquire_lock("fetch:x", "theirs", 10)
    coordination.release_lock("fetch:x", "mine")
    assert coordination.acquire_lock("fetch:x", "theirs", 10)


def test_rate_windows_and_the_arxiv_mark_are_shared_counters(store: Store) -> None:
    assert store.coordination.add_to_rate_window("requests", 7, 3) == 3
    assert store.coordination.add_to_rate_window("requests", 7, -1) == 2
    assert store.coordination.arxiv_last_request() == 0.0
    store.coordination.mark_arxiv_request()
    assert abs(store.coordination.arxiv_last_request() - store.coordination.redis_time()) < 5


def test_usage_is_counted_per_model_day_and_outcome(store: Store) -> None:
    accounting = store.accounting
    accounting.record_llm_call("m1", 300, 120, "ok", NOW)
    accounting.record_llm_call("m1@batch", 10, 5, "validation", NOW)
    day = accounting.llm_usage(NOW.date().isoformat())
    assert day == accounting.llm_usage()
    assert day.tokens == 435 and day.outcomes == {"ok": 1, "validation": 1}
    assert day.models["m1"].calls == 1 and day.models["m1@batch"].tokens_out == 5
    assert accounting.llm_usage("2000-01-01").tokens == 0
    accounting.count_arxiv_request(ok=False)
    assert accounting.arxiv_request_counts() == {"error": 1}


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
    redis_client.hset(store.keys.enrich_dead(), "2411.00003|zh", '{"deliveries": 6, "at": "x"}')
    assert store.queue.dead_letters() == {"2411.00003|zh": 6}
    store.topics.record_fetch_error("testing", "HTTP 503", NOW)
    status = redis_client.hgetall(store.keys.topic_status("testing"))
    assert status == {"last_error": "HTTP 503", "last_error_at": NOW.isoformat()}
