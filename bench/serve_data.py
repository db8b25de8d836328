"""bench/serve.py's data: a topic of enriched papers in Redis under a prefix of its own."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from feedsvc.config import Settings, Topic
from feedsvc.keys import Keys
from feedsvc.models import Paper
from feedsvc.store import Db, Store
from worker.enrich import ExtractiveEnricher

REDIS_URL = os.environ.get("FEEDSVC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TOPIC = Topic("bench", "Benchmark topic", "all:bench", ("en",), 50)
FEED_PATH = "/feeds/bench.atom"
PAGE_PATH = "/topics/bench"
FILTERED_PATH = "/feeds/bench.atom?include=contrastive&exclude=%22paper+7%22"


def abstract(n: int) -> str:
    return (
        f"We study problem {n} in contrastive learning. Our method learns from unlabeled "
        "images and needs no negative pairs. It reaches strong accuracy on ImageNet with a "
        "linear probe. Training takes half the time of prior methods. We release code."
    )


@contextlib.contextmanager
def dataset(papers: int) -> Iterator[tuple[Settings, Store]]:
    """`papers` enriched papers in one topic under a fresh prefix, deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = f"feedsvc-bench-{uuid.uuid4().hex[:8]}"
    store = Store(Db(client), Keys(prefix))
    topics_file = Path(tempfile.mkdtemp()) / "topics.toml"
    topics_file.write_text(
        f'[topics.bench]\ntitle = "{TOPIC.title}"\nquery = "{TOPIC.query}"\nlanguages = ["en"]\n'
    )
    settings = replace(
        Settings(), redis_url=REDIS_URL, redis_prefix=prefix, topics_file=topics_file
    )
    try:
        fill(store, papers)
        yield settings, store
    finally:
        store.db.delete_matching(*store.keys.all_keys_patterns())
        store.db.close()
        client.close()


def fill(store: Store, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    template = Paper("0000.00000", 1, "t", abstract(0), ("A. Author", "B. Author"), start, start)
    enrichment = ExtractiveEnricher().enrich(template, "en")
    for batch in _batches(list(range(count)), 2000):
        papers = [bench_paper(template, n, start) for n in batch]
        store.papers.save_papers(TOPIC, papers)
        pipe = store.db.client.pipeline(transaction=False)
        for paper in papers:
            fields = replace(enrichment, source_hash=paper.source_hash).to_redis()
            pipe.hset(store.keys.enrichment(paper.id, "en"), mapping=fields)
        pipe.execute()
    store.db.client.incr(store.keys.feed_version(TOPIC.slug, "en"))


def bench_paper(template: Paper, n: int, start: datetime) -> Paper:
    paper_id = f"9{n:04d}.{n:05d}"
    return replace(
        template,
        id=paper_id,
        title=f"Paper {n}: contrastive learning",
        abstract=abstract(n),
        updated=start + timedelta(minutes=n),
        first_seen=start,
        pdf_url=f"https://arxiv.org/pdf/{paper_id}v1",
    )


def _batches(items: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for i in range(0, len(items), size):
        yield items[i : i + size]
