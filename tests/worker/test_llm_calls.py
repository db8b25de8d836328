"""Every HTTP call to the LLM: bounded by a total deadline, counted, paced, retried our way."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from feedsvc.config import Settings
from feedsvc.errors import EnrichmentFailed
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.servers import FakeLLM
from worker.enrich import LLMEnricher, build_llm_client
from worker.limits import RateLimiter

NOW = datetime(2026, 11, 20, tzinfo=UTC)
PAPER = Paper("2411.00001", 1, "Testing things", "We test things in 3 ways.", ("A",), NOW, NOW)


def enricher(settings: Settings, store: Store, **changes: object) -> LLMEnricher:
    configured = replace(settings, **changes)  # type: ignore[arg-type]

    def record(model: str, tokens_in: int, tokens_out: int, outcome: str) -> None:
        store.accounting.record_llm_call(model, tokens_in, tokens_out, outcome, NOW)

    pace = RateLimiter(store.coordination, 100, 0, threading.Event()).acquire
    return LLMEnricher(build_llm_client(configured, pace), "test-model", record_call=record)


def test_a_trickling_answer_fails_at_its_deadline(
    settings: Settings, store: Store, llm: FakeLLM
) -> None:
    llm.script = ["trickle"]
    started = time.monotonic()
    with pytest.raises(EnrichmentFailed, match="timed out"):
        enricher(settings, store, llm_timeout_seconds=1.0).enrich(PAPER, "en")
    assert time.monotonic() - started < 2.5


def test_quick_retries_are_ours_counted_and_paced(
    settings: Settings, store: Store, llm: FakeLLM
) -> None:
    llm.script = ["500", "429", "ok"]
    llm.retry_after = "1"
    started, first_window = time.monotonic(), int(time.time() // 60)
    enrichment = enricher(settings, store, llm_max_retries=2).enrich(PAPER, "en")
    assert enrichment.summary and len(llm.calls) == 3
    assert time.monotonic() - started >= 1.0, "the 429's Retry-After was waited for"
    usage = store.accounting.llm_usage()
    assert usage.models["test-model"].calls == 3, "every HTTP call is counted"
    assert usage.outcomes == {"call": 2, "ok": 1}
    windows = range(first_window, int(time.time() // 60) + 1)  # the calls may span a minute
    counted = [
        store.db.one(lambda b, w=w: b.get(store.keys.llm_rate("requests", w))) for w in windows
    ]
    assert sum(int(c or 0) for c in counted) == 3, "every HTTP call is paced by the shared limits"


def test_a_long_retry_after_is_not_waited_for_inside_a_call(
    settings: Settings, store: Store, llm: FakeLLM
) -> None:
    llm.script = ["429"]
    llm.retry_after = "7200"
    with pytest.raises(EnrichmentFailed) as failed:
        enricher(settings, store, llm_max_retries=2).enrich(PAPER, "en")
    assert failed.value.retry_after_seconds == 7200 and len(llm.calls) == 1


def test_no_quick_retry_for_what_cannot_succeed(
    settings: Settings, store: Store, llm: FakeLLM
) -> None:
    llm.script = ["400"]
    with pytest.raises(EnrichmentFailed, match="HTTP 400"):
        enricher(settings, store, llm_max_retries=2).enrich(PAPER, "en")
    assert len(llm.calls) == 1
