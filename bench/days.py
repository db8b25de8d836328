"""Every day after the first, measured, side by side with an earlier commit on the same data.

    .venv/bin/python -m bench.days [--sizes 1000 10000 100000] [--baseline 95f55e0]

Rows: a fetch cycle with nothing new and the worker's peak memory, with 1k, 10k and 100k
papers stored (50 a day, enriched in two languages), each code in a process of its own
(bench/days_measure.py); the daily digest served after one enrichment; arXiv requests per
topic per day under the default schedule over 28 simulated days; LLM calls per new
paper-language on a replayed second day; enrichment as a share of C/latency against a
0.2 s endpoint (bench/enrich.py's run, the baseline's own bench/enrich.py for it).
Redis: FEEDSVC_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), a prefix per size,
deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from bench.days_replay import llm_calls_per_new_paper_language
from bench.serve_setup import REPO, worktree
from feedsvc.config import Topic
from feedsvc.keys import Keys
from feedsvc.models import Enrichment, Paper
from feedsvc.status import Completeness, TopicStatus
from feedsvc.store import Db, Store, migrations
from worker.enrich import PROMPT_VERSION
from worker.schedule import (
    AnnouncementSchedule,
    FetchSchedule,
    IntervalSchedule,
    completeness_due,
)

REDIS_URL = os.environ.get("FEEDSVC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TOPIC = Topic("bench", "Bench", "all:bench", ("zh", "en"), 50)
PER_DAY = 50
TOPICS_TOML = '[topics.bench]\ntitle = "Bench"\nquery = "all:bench"\nlanguages = ["zh", "en"]\n'


@contextlib.contextmanager
def archive(size: int) -> Iterator[tuple[Store, Path, float]]:
    """`size` papers, 50 a day back from now, enriched in zh and en, written as the previous
    release wrote them and migrated: the store, its topics file, the migration's seconds."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = Store(Db(client), Keys(f"feedsvc-bench-days-{uuid.uuid4().hex[:8]}"))
    topics = Path(tempfile.mkdtemp(prefix="feedsvc-bench-")) / "topics.toml"
    topics.write_text(TOPICS_TOML, encoding="utf-8")
    try:
        fill(store, size)
        started = time.perf_counter()
        store.migrate()
        yield store, topics, time.perf_counter() - started
    finally:
        store.db.delete_matching(*store.keys.all_keys_patterns())
        client.close()


def fill(store: Store, size: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, size, 2000):
        numbers = range(start, min(start + 2000, size))
        papers = [bench_paper(n, now - timedelta(days=n / PER_DAY)) for n in numbers]
        pipe = store.db.client.pipeline(transaction=False)  # enriched first: nothing queued
        for paper in papers:
            for language in TOPIC.languages:
                done = Enrichment(language, "llm", "A summary.", ("One.", "Two.", "Three."),
                                  1, paper.source_hash, model="bench-model",
                                  prompt_version=PROMPT_VERSION)  # fmt: skip
                pipe.hset(store.keys.enrichment(paper.id, language), mapping=done.to_redis())
        pipe.execute()
        store.papers.save_papers(TOPIC, papers)
    as_first_release(store)


def as_first_release(store: Store) -> None:
    """The keys under their plain names and no schema version: as release 0.1 left them
    (it kept no index either; the migration makes them)."""
    untag(store)
    store.db.client.delete(store.keys.schema())


def untag(store: Store) -> None:
    """Every tagged key under its plain name, as releases before schema 4 named them."""
    tagged = store.db.scan(f"{{{store.keys.prefix}}}:*")
    store.db.move_keys([(key, store.keys.plain_name(key)) for key in tagged])


@contextlib.contextmanager
def layout_read_by(code: Path, store: Store) -> Iterator[None]:
    """The keys named as `code` reads them: a baseline from before schema 4 reads the plain
    names, so they are renamed for its measurement and back after it."""
    if code == REPO:
        yield
        return
    untag(store)
    try:
        yield
    finally:
        migrations.tag_keys(store.db, store.keys)


def bench_paper(n: int, updated: datetime) -> Paper:
    return Paper(f"9{n:04d}.{n:05d}", 1, f"Paper {n}", f"We study problem {n}. It works.",
                 ("A. Author",), updated, updated, first_seen=updated)  # fmt: skip


def measure(what: str, store: Store, topics: Path, code: Path) -> dict[str, float]:
    """One measurement by `code`'s feedsvc in a process of its own."""
    script = REPO / "bench" / "days_measure.py"
    command = [sys.executable, str(script), what, REDIS_URL, store.keys.prefix, str(topics)]
    env = {**os.environ, "PYTHONPATH": str(code), "FEEDSVC_LOG_LEVEL": "ERROR"}
    done = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} by {code} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def requests_per_topic_day(schedule: FetchSchedule, checks: bool, days: int = 28) -> float:
    """Requests a worker that looks every 5 minutes makes for one topic: its polls, and with
    `checks` one completeness count per announcement."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    status = TopicStatus(last_fetched=now, first_fetched=now)
    end, requests = now + timedelta(days=days), 0
    while now < end:
        if schedule.due(status, now):
            requests += 1
            status = replace(status, last_fetched=now)
        if checks and (day := completeness_due(status, now)):
            requests += 1
            status = replace(status, completeness=Completeness(day, 0, 0, now))
        now += timedelta(minutes=5)
    return requests / days


def enrichment_shares(code: Path) -> dict[int, float]:
    """Throughput as a share of C/latency, C = 8 and 16, 400 papers, 0.2 s per call:
    bench/enrich.py of this checkout driving `code`'s worker, wired as `code` wires it."""
    command = [sys.executable, str(REPO / "bench" / "enrich.py"), "--papers", "400",
               "--concurrency", "8", "16", "--failure-rate", "0"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True, check=True)
    rows = re.findall(r"clean endpoint\s+(\d+)\s+[\d.]+\s+[\d.]+\s+([\d.]+)%", out.stdout)
    return {int(c): float(share) for c, share in rows}


IDENTITY = ("llm", "bench-model", PROMPT_VERSION)


def measured_sizes(sizes: list[int], codes: dict[str, Path]) -> list[Measured]:
    """Per size and code: the cycles and the digest, as a worker runs them from its second
    start on (the results already checked against its model); and, for this code, the
    cycle after a model change, which checks every result once."""
    rows = []
    for size in sizes:
        with archive(size) as (store, topics, migrated):
            for label, code in codes.items():
                store.enrichments.record_checked_identity(IDENTITY, datetime.now(UTC))
                with layout_read_by(code, store):
                    result = measure("cycle", store, topics, code)
                    result |= measure("digest", store, topics, code)
                rows.append(Measured(size, label, result, migrated))
            store.db.client.delete(store.keys.enrich_identity())  # as after a model change
            changed = measure("cycle", store, topics, REPO)
            rows.append(Measured(size, "model new", changed | {"digest_ms": 0.0}, migrated))
    return rows


@dataclass(frozen=True)
class Measured:
    size: int
    code: str
    result: dict[str, float]
    migration_seconds: float


def print_sizes(rows: list[Measured], labels: list[str]) -> None:
    print("\nA cycle with nothing new, the worker's peak memory, the digest after an enrichment")
    print(f"{'papers':>8} {'code':>9} {'first ms':>9} {'cycle ms':>9} {'peak MiB':>9} "
          f"{'digest ms':>10}")  # fmt: skip
    for row in rows:
        r = row.result
        digest = f"{r['digest_ms']:>10.1f}" if r["digest_ms"] else f"{'-':>10}"
        print(f"{row.size:>8,} {row.code:>9} {r['first_ms']:>9.1f} {r['cycle_ms']:>9.1f} "
              f"{r['peak_mib']:>9.0f} {digest}")  # fmt: skip
    print("(model new: this code's first cycle after a new model or prompt, which checks every")
    print(" stored result once, a thousand at a time)")
    for label in labels:
        mine = [row.result for row in rows if row.code == label]
        cycle = mine[-1]["cycle_ms"] / mine[0]["cycle_ms"]
        memory = mine[-1]["peak_mib"] / mine[0]["peak_mib"]
        print(f"{label}: largest over smallest: cycle {cycle:.2f}x, peak memory {memory:.2f}x")
    migrations = [f"{row.size:,} papers {row.migration_seconds:.1f} s" for row in rows
                  if row.code == labels[0]]  # fmt: skip
    print("migration from schema 1 to 4: " + ", ".join(migrations))


def print_rest(shares: dict[str, dict[int, float]], baseline: str) -> None:
    announced = requests_per_topic_day(AnnouncementSchedule(), checks=True)
    hourly = requests_per_topic_day(IntervalSchedule(timedelta(hours=1)), checks=False)
    print(f"\narXiv requests per topic per day, 28 days: {announced:.2f} now (the default "
          f"schedule and the completeness count), {hourly:.2f} before (hourly)")  # fmt: skip
    calls = llm_calls_per_new_paper_language(REDIS_URL)
    print(f"LLM calls per new paper-language on a replayed second day: {calls:.2f}")
    for c in (8, 16):
        now, before = shares["now"].get(c, 0.0), shares[baseline].get(c, 0.0)
        print(f"enrichment at C={c}, 0.2 s a call: {now:.1f}% of C/latency now, "
              f"{before:.1f}% before ({baseline})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--baseline", default="95f55e0", help="the commit to compare with")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with worktree(args.baseline) as base:
        codes = {"now": REPO, args.baseline: base}
        rows = measured_sizes(args.sizes, codes)
        shares = {label: enrichment_shares(code) for label, code in codes.items()}
    print_sizes(rows, list(codes))
    print_rest(shares, args.baseline)


if __name__ == "__main__":
    main()
