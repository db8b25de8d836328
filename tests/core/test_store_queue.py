"""The work queue's stores against a real Redis: queue, failures, batches, coordination, usage."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import redis

from feedsvc.store import Store
from tests.core.storetools import (
    NOW,
    OTHER,
    assert_one_atomic_step,
    commands_of,
    failed_once,
    paper,
)


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
    assert store.papers.save_papers(OTHER, [paper(1)]).queued == 0, "waits for retry-failed"
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


def test_a_consumer_leaves_the_group_only_with_nothing_pending(store: Store) -> None:
    store.queue.enqueue([("2411.00001", "zh"), ("2411.00002", "zh")])
    done = store.queue.take("finished", 1)[0]
    store.queue.take("busy", 1)
    store.queue.ack(done)
    assert sorted(store.consumers.consumers()) == ["busy", "finished"]
    assert store.consumers.forget_consumer("finished")
    assert not store.consumers.forget_consumer("busy"), "its entry would be lost for claiming"
    assert store.consumers.consumers() == ["busy"]
    assert store.consumers.forget_idle_consumers(idle_seconds=0) == 0


def test_long_idle_consumers_are_forgotten(store: Store) -> None:
    store.queue.enqueue([("2411.00001", "zh")])
    store.queue.ack(store.queue.take("gone", 1)[0])
    assert store.consumers.forget_idle_consumers(idle_seconds=3600) == 0
    time.sleep(0.05)
    assert store.consumers.forget_idle_consumers(idle_seconds=0.01) == 1
    assert store.consumers.consumers() == []


def test_forgetting_a_consumer_before_there_is_a_group_is_fine(store: Store) -> None:
    assert store.consumers.forget_consumer("stopped-early"), "no group yet: nothing to forget"
    assert store.consumers.consumers() == []
