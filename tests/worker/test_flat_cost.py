"""A cycle with nothing new, and `stats`, send as many Redis commands at 600 stored papers as
at 60: nothing reads every paper (counted at the client, not timed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from feedsvc.config import Settings, Topic
from feedsvc.keys import Keys
from feedsvc.models import Enrichment, Paper
from feedsvc.store import Db, Store
from tests.conftest import Clock
from tests.core.storetools import CountingRedis, paper
from tests.servers import FakeLLM
from worker.assembly import assemble
from worker.enrich import LLMEnricher, build_llm_client
from worker.enrich.prompt import PROMPT_VERSION
from worker.stats import collect_stats

TOPIC = Topic("testing", "Testing", "all:testing", ("zh", "en"))


class LatestOnly:
    """arXiv showing only the newest stored papers again: a day with nothing new."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = list(papers)

    def fetch_since(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return self.papers

    def fetch_new(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return self.papers

    def fetch_window(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return []


def archive(store: Store, count: int) -> list[Paper]:
    """`count` papers stored and enriched in both languages by the test model."""
    papers = [paper(n) for n in range(count)]
    store.papers.save_papers(TOPIC, papers)
    for p in papers:
        for language in TOPIC.languages:
            done = Enrichment(language, "llm", "Summary.", ("One.",), p.version, p.source_hash,
                              model="test-model", prompt_version=PROMPT_VERSION)  # fmt: skip
            store.enrichments.save_enrichment(p.id, done)
    return papers


def commands_of(client: CountingRedis, action: Callable[[], object]) -> int:
    before = client.commands
    action()
    return client.commands - before


def costs(
    redis_url: str, prefix: str, count: int, settings: Settings, clock: Clock
) -> tuple[int, int]:
    client = CountingRedis.from_url(redis_url, decode_responses=True)
    store = Store(Db(client), Keys(f"{prefix}-{count}"))
    try:
        papers = archive(store, count)
        enricher = LLMEnricher(build_llm_client(settings), "test-model")
        worker = assemble([TOPIC], store, LatestOnly(papers[-5:]), enricher, "c", clock)
        worker.scheduler.run_once()  # the first cycle checks every result against the model
        clock.now += timedelta(hours=12)  # a day later, the daily re-check reads them again
        cycle = commands_of(client, worker.scheduler.run_once)
        stats = commands_of(client, lambda: collect_stats(store, [TOPIC], settings, clock()))
        return cycle, stats
    finally:
        store.db.delete_matching(*store.keys.all_keys_patterns())
        client.close()


def test_a_quiet_cycle_and_stats_cost_the_same_at_ten_times_the_papers(
    redis_url: str, prefix: str, settings: Settings, llm: FakeLLM, clock: Clock
) -> None:
    small = costs(redis_url, prefix, 60, settings, clock)
    large = costs(redis_url, prefix, 600, settings, clock)
    assert large == small, f"commands (cycle, stats): {small} at 60 papers, {large} at 600"
    assert llm.calls == [], "nothing new, nothing to pay for"
