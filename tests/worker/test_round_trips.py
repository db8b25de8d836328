"""Round trips to Redis per enrichment, counted at the client: at most four, usage included:
taking it, reading its inputs, writing the enrichment, and committing it (the last two
apart, as on a Redis Cluster they go to two nodes, the enrichment first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feedsvc.config import Settings, Topic
from feedsvc.keys import Keys
from feedsvc.store import Db, Store
from tests.conftest import Clock
from tests.core.storetools import CountingRedis, paper
from tests.servers import FakeLLM
from worker.assembly import assemble
from worker.enrich import LLMEnricher, build_llm_client
from worker.outcome import CycleReport, EnrichPolicy
from worker.usage import PendingUsage

TOPIC = Topic("testing", "Testing", "all:testing", ("en",))


@pytest.fixture
def counted(redis_url: str, prefix: str) -> Iterator[tuple[CountingRedis, Store]]:
    client = CountingRedis.from_url(redis_url, decode_responses=True)
    yield client, Store(Db(client), Keys(prefix))
    client.close()


def round_trips_to_enrich(
    client: CountingRedis, store: Store, settings: Settings, clock: Clock, papers: int
) -> int:
    store.papers.save_papers(TOPIC, [paper(1000 * papers + n) for n in range(papers)])
    usage = PendingUsage(clock)
    enricher = LLMEnricher(build_llm_client(settings), "test-model", record_call=usage.record)
    worker = assemble([TOPIC], store, _Nothing(), enricher, f"c{papers}", clock,
                      EnrichPolicy(concurrency=1), usage=usage)  # fmt: skip
    before = client.round_trips
    worker.dispatcher.enrich_due(report := CycleReport())
    assert report.enriched == papers
    return client.round_trips - before


def test_an_enrichment_takes_four_round_trips_with_its_usage(
    counted: tuple[CountingRedis, Store], settings: Settings, llm: FakeLLM, clock: Clock
) -> None:
    client, store = counted
    five = round_trips_to_enrich(client, store, settings, clock, 5)
    fifteen = round_trips_to_enrich(client, store, settings, clock, 15) - five  # 10 more
    assert fifteen <= 4 * 10, f"{fifteen / 10:.1f} round trips per enrichment"
    usage = store.accounting.llm_usage()
    assert usage.models["test-model"].calls == 20 and usage.outcomes == {"ok": 20}
    assert len(llm.calls) == 20


class _Nothing:
    def fetch_new(self, *args: Any) -> list[Any]:
        return []

    def fetch_since(self, *args: Any) -> list[Any]:
        return []

    def fetch_window(self, *args: Any) -> list[Any]:
        return []
