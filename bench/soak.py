"""Soak: three workers, replayed arXiv pages, a failing LLM, a worker killed every few seconds.

    .venv/bin/python -m bench.soak [--papers 2000] [--kill-seconds 120] [--kill-every 5]
                                   [--arxiv-delay 3]

Three `feedsvc-worker run` processes share one private redis-server. The arXiv replay
serves `--papers` real recorded entries under fresh ids; the local LLM server fails 20%
of calls (500, 429, broken JSON, chatter). Every `--kill-every` seconds for `--kill-seconds`
one worker, chosen at random, is killed with SIGKILL and started again. The table: papers
lost, duplicated feed entries, LLM calls per paper and language, time to drain, and peak
Redis memory per paper, and the smallest gap between two arXiv requests (workers share
arXiv's 3 s spacing through Redis, so no gap may be shorter).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import redis

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.keys import Keys
from feedsvc.process.localredis import free_port, start_private_redis
from feedsvc.store import Db, Store
from tests.servers import ATOM, FIXTURES, ArxivReplay, FakeLLM, fixture_entries

LANGUAGES = ("zh", "en")


def synthetic_listing(count: int) -> list[Any]:
    """`count` recorded entries under fresh ids (2601.00000v1 ...), newest first."""
    recorded = [e for p in sorted(FIXTURES.glob("*.xml")) for e in fixture_entries(p.name)]
    recorded = [e for e in recorded if e.find(f"{ATOM}published") is not None]
    listing = []
    for n in range(count):
        entry = copy.deepcopy(recorded[n % len(recorded)])
        new_id = f"2601.{n:05d}v1"
        entry.find(f"{ATOM}id").text = f"http://arxiv.org/abs/{new_id}"
        entry.find(f"{ATOM}updated").text = "2026-01-01T00:00:00Z"
        entry.find(f"{ATOM}published").text = "2026-01-01T00:00:00Z"
        for link in entry.iterfind(f"{ATOM}link"):
            link.set("href", re.sub(r"abs/.*|pdf/.*", f"abs/{new_id}", link.get("href")))
        listing.append(entry)
    return listing


def worker_env(redis_url: str, prefix: str, topics: Path, replay: ArxivReplay,
               llm: FakeLLM, arxiv_delay: float) -> dict[str, str]:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "OPENAI_"))}
    env.update({
        "REDIS_URL": redis_url, "FEEDSVC_REDIS_PREFIX": prefix, "FEEDSVC_TOPICS_FILE": str(topics),
        "FEEDSVC_ARXIV_API_URL": replay.api_url, "FEEDSVC_ARXIV_DELAY_SECONDS": str(arxiv_delay),
        "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "soak", "FEEDSVC_LLM_MODEL": "soak",
        "FEEDSVC_LLM_MAX_RETRIES": "0", "FEEDSVC_LLM_TIMEOUT_SECONDS": "5",
        "FEEDSVC_LLM_MAX_ATTEMPTS": "50", "FEEDSVC_LLM_RETRY_BASE_SECONDS": "0.5",
        "FEEDSVC_CLAIM_IDLE_SECONDS": "3", "FEEDSVC_MAX_DELIVERIES": "50",
        "FEEDSVC_LLM_CONCURRENCY": "8", "FEEDSVC_LOG_LEVEL": "WARNING",
        "FEEDSVC_FETCH_INTERVAL_SECONDS": "60",
    })  # fmt: skip
    return env


class Workers:
    """Three worker processes, one of which can be killed and restarted at a time."""

    def __init__(self, env: dict[str, str], count: int, log: Path) -> None:
        self.env = env
        self.log = log.open("ab")
        self.processes = [self._start() for _ in range(count)]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "worker", "run"], env=self.env,
                                stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.processes))
        self.processes[index].kill()
        self.processes[index].wait()
        self.processes[index] = self._start()
        self.kills += 1

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)
        self.log.close()


def enriched_count(store: Store, ids: list[str]) -> int:
    pipe = store.db.client.pipeline(transaction=False)
    for paper_id in ids:
        for language in LANGUAGES:
            pipe.exists(store.keys.enrichment(paper_id, language))
    return sum(pipe.execute())


def feed_duplicates(settings: Settings, client: redis.Redis, pages: int) -> tuple[int, int]:
    """(entries seen, duplicated entries) over every page of every language's feed."""
    app = create_app(settings, Store(Db(client), Keys(settings.redis_prefix))).test_client()
    seen, duplicates = 0, 0
    for language in LANGUAGES:
        ids: Counter[str] = Counter()
        for page in range(1, pages + 1):
            body = app.get(f"/feeds/soak.{language}.atom?page={page}").get_data(as_text=True)
            ids.update(re.findall(r"<id>(https://arxiv.org/abs/[^<]+)</id>", body))
        seen += sum(ids.values())
        duplicates += sum(count - 1 for count in ids.values() if count > 1)
    return seen, duplicates


@dataclass
class Setup:
    work: Path
    redis_server: subprocess.Popen[bytes]
    client: redis.Redis
    replay: ArxivReplay
    llm: FakeLLM
    topics: Path
    store: Store
    ids: list[str]

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.client.connection_pool.connection_kwargs['port']}/0"

    def close(self) -> None:
        self.replay.close()
        self.llm.close()
        self.redis_server.terminate()
        self.redis_server.wait()


def setup(args: argparse.Namespace) -> Setup:
    work = Path(tempfile.mkdtemp(prefix="feedsvc-soak-"))
    port = free_port()
    redis_server = start_private_redis(port, work / "redis", persistent=True)
    client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", decode_responses=True)
    replay = ArxivReplay(listing=synthetic_listing(args.papers)).start()
    llm = FakeLLM(latency_seconds=0.02, timeout_seconds=6, failure_rate=args.failure_rate).start()
    topics = work / "topics.toml"
    topics.write_text(f'[topics.soak]\ntitle = "Soak"\nquery = "all:soak"\n'
                      f'languages = ["zh", "en"]\nmax_results = {args.papers}\n')  # fmt: skip
    ids = [f"2601.{n:05d}" for n in range(args.papers)]
    return Setup(
        work, redis_server, client, replay, llm, topics, Store(Db(client), Keys("soak")), ids
    )


def soak(env: Setup, args: argparse.Namespace) -> tuple[float, int, int, int]:
    """Run, kill, drain: (seconds to drain, kills, baseline memory, peak memory)."""
    baseline = int(env.client.info("memory")["used_memory"])
    peak = [baseline]
    done = threading.Event()

    def sample_memory() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], int(env.client.info("memory")["used_memory"]))

    threading.Thread(target=sample_memory, daemon=True).start()
    rng = random.Random(20261122)
    started = time.monotonic()
    workers = Workers(worker_env(env.redis_url, "soak", env.topics, env.replay, env.llm,
                                 args.arxiv_delay), 3,
                      env.work / "workers.log")  # fmt: skip
    wanted = len(env.ids) * len(LANGUAGES)
    drained_at = None
    try:
        while time.monotonic() - started < args.kill_seconds:
            time.sleep(args.kill_every)
            workers.kill_one(rng)
            if drained_at is None and enriched_count(env.store, env.ids) == wanted:
                drained_at = time.monotonic()  # the kills go on: nothing may come undone
        while enriched_count(env.store, env.ids) < wanted:
            if time.monotonic() - started > args.kill_seconds + 900:
                raise SystemExit(f"not drained 15 minutes after the kills: {env.work}")
            time.sleep(1)
        drained_at = drained_at or time.monotonic()
        return drained_at - started, workers.kills, baseline, peak[0]
    finally:
        workers.stop()
        done.set()


def report(env: Setup, args: argparse.Namespace, result: tuple[float, int, int, int]) -> None:
    drained, kills, baseline, peak = result
    ids = env.ids
    stored = set(env.store.topics.paper_ids("soak"))
    lost = len(set(ids) - stored) + (len(ids) * len(LANGUAGES) - enriched_count(env.store, ids))
    settings = replace(Settings(), redis_url=env.redis_url, redis_prefix="soak",
                       topics_file=env.topics, version_check_seconds=0)  # fmt: skip
    seen, duplicated = feed_duplicates(settings, env.client, pages=-(-len(ids) // 50))
    calls = Counter(c.outcome for c in env.llm.calls)
    print(
        f"\n{len(ids)} papers × {len(LANGUAGES)} languages, 3 workers, {kills} SIGKILLs "
        f"over {args.kill_seconds:.0f}s, {args.failure_rate:.0%} of LLM calls failing\n"
    )
    rows = [
        ("papers lost (not stored or not enriched)", f"{lost}", "goal 0"),
        ("duplicated feed entries", f"{duplicated} of {seen}", "goal 0"),
        ("LLM calls per paper and language", f"{len(env.llm.calls) / (len(ids) * 2):.2f}",
         f"{calls['ok']} ok, {len(env.llm.calls) - calls['ok']} failed"),
        ("time to drain", f"{drained:.0f} s", "from the first worker's start"),
        ("peak Redis memory per paper", f"{(peak - baseline) / len(ids):,.0f} B",
         f"peak {peak / 2**20:.1f} MiB"),
        ("smallest gap between arXiv requests", f"{smallest_gap(env.replay):.2f} s",
         f"goal ≥ {args.arxiv_delay:g} s, {len(env.replay.requests)} requests"),
    ]  # fmt: skip
    for name, value, note in rows:
        print(f"{name:<44} {value:>16}   {note}")


def smallest_gap(replay: ArxivReplay) -> float:
    arrivals = sorted(request.at for request in replay.requests)
    return min((b - a for a, b in itertools.pairwise(arrivals)), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--kill-seconds", type=float, default=120)
    parser.add_argument("--kill-every", type=float, default=5)
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--arxiv-delay", type=float, default=3.0)
    args = parser.parse_args()
    env = setup(args)
    try:
        report(env, args, soak(env, args))
    finally:
        env.close()


if __name__ == "__main__":
    main()
