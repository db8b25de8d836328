"""One measurement of bench/days.py in a process of its own, for whichever feedsvc is first
on the path (this checkout, or another commit's worktree): run by file, not as a module.

    python bench/days_measure.py cycle|digest REDIS_URL PREFIX TOPICS_FILE

Prints one JSON line. Uses only what every release since 0.1 has: Store, assemble, the
LLM enricher, create_app.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.keys import Keys
from feedsvc.models import Enrichment, Paper
from feedsvc.store import Db, Store
from worker.assembly import assemble
from worker.enrich import PROMPT_VERSION, LLMEnricher, build_llm_client

MODEL = "bench-model"
CYCLES = 5


class LatestOnly:
    """arXiv showing only the newest stored papers again: a day with nothing new."""

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers

    def fetch_new(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return self.papers

    def fetch_since(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return self.papers

    def fetch_window(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return []

    def count_updated(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def fetch_updated(self, *args: Any, **kwargs: Any) -> list[Paper]:
        return []


def enrichments_of(store: Store) -> Any:
    """Where this release keeps enrichments (the paper store before they had their own)."""
    return getattr(store, "enrichments", store.papers)


def cycle(settings: Settings, store: Store) -> dict[str, float]:
    """The first fetch cycle with nothing new after a start, then the median of the next
    ones, and the process's peak memory."""
    topics = load_topics(settings.topics_file)
    newest = store.topics.paper_ids(topics[0].slug)[:5]
    papers = [p for p in (store.papers.load_paper(i) for i in newest) if p is not None]
    llm = replace(settings, openai_base_url="http://127.0.0.1:9/v1", openai_api_key="x")
    enricher = LLMEnricher(build_llm_client(llm), MODEL)
    worker = assemble(topics, store, LatestOnly(papers), enricher, "bench-days")
    started = time.perf_counter()
    worker.scheduler.run_once()  # it may check every result against the model, once
    first_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(CYCLES):
        started = time.perf_counter()
        worker.scheduler.run_once()
        times.append(time.perf_counter() - started)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"first_ms": first_ms, "cycle_ms": statistics.median(times) * 1000,
            "peak_mib": peak_mib}  # fmt: skip


def digest(settings: Settings, store: Store) -> dict[str, float]:
    """Serving the daily digest after each of several enrichments of the newest papers."""
    topics = load_topics(settings.topics_file)
    topic, language = topics[0], topics[0].languages[0]
    client = create_app(settings, store).test_client()
    path = f"/feeds/{topic.slug}.{language}.daily.atom"
    assert client.get(path).status_code == 200  # the first rendering, every day read
    times = []
    for paper_id in store.topics.paper_ids(topic.slug)[:CYCLES]:
        paper = store.papers.load_paper(paper_id)
        assert paper is not None
        done = Enrichment(language, "llm", "A new summary.", ("One.", "Two.", "Three."),
                          paper.version, paper.source_hash, model=MODEL,
                          prompt_version=PROMPT_VERSION)  # fmt: skip
        enrichments_of(store).save_enrichment(paper.id, done)
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - started)
    return {"digest_ms": statistics.median(times) * 1000}


def main() -> None:
    what, url, prefix, topics_file = sys.argv[1:5]
    client = redis.Redis.from_url(url, decode_responses=True)
    store = Store(Db(client), Keys(prefix))
    settings = replace(Settings(), redis_url=url, redis_prefix=prefix,
                       topics_file=Path(topics_file), publish_grace_seconds=0,
                       version_check_seconds=0)  # fmt: skip
    result = {"cycle": cycle, "digest": digest}[what](settings, store)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
