"""Scaling out, side by side on the same data: one web process against four, each alone and
behind the shipped nginx cache (deploy/nginx.conf), and one worker against three.

    .venv/bin/python -m bench.scale [--seconds 5] [--connections 64] [--papers 1000]
                                    [--items 600] [--llm-latency 0.2]

Web rows: `feedsvc-web` processes (granian, one worker each) serving a cached 50-entry
feed (gzip) from one Redis. "Alone": one wrk per process, all at once, rates summed.
"Behind the nginx cache": one wrk against nginx, whose upstream lists the processes.
Worker rows: `feedsvc-worker run` processes sharing one queue of `--items` enrichments,
each against a local OpenAI-compatible server answering after `--llm-latency` seconds, until
the queue is empty. Nothing is pinned: every process shares this machine's cores (see
`env`), so a row's "per added process" says what one more process buys here.
Needs nginx and wrk (Debian packages, installed when missing; needs root).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.serve_data import FEED_PATH, TOPIC, bench_paper, dataset
from bench.serve_measure import GZIP, fetch, wrk
from bench.serve_setup import app_env, ensure_tools, granian_command, server
from feedsvc.config import Settings
from feedsvc.models import Paper
from feedsvc.process.localredis import free_port
from feedsvc.store import Store
from tests.servers import ArxivReplay, FakeLLM
from tests.servers.nginx import nginx_proxy_conf

WEB_COUNTS = (1, 4)
WORKER_COUNTS = (1, 3)


@dataclass
class Rate:
    name: str
    processes: int
    per_second: float
    unit: str


def web_rates(settings: Settings, args: argparse.Namespace) -> list[Rate]:
    rates = []
    for count in WEB_COUNTS:
        with web_processes(settings, count) as urls, tempfile.TemporaryDirectory() as work:
            rates.append(Rate("web alone", count, alone(urls, args), "req/s"))
            nginx_port = free_port()
            conf = nginx_proxy_conf([int(url.rsplit(":", 1)[1]) for url in urls], nginx_port,
                                    Path(work))  # fmt: skip
            command = ["nginx", "-c", str(conf), "-p", work]
            with server(command, nginx_port, {**os.environ}, pinned=False) as proxy:
                fetch(proxy + FEED_PATH, GZIP)  # fill the cache
                rate, _ = wrk(proxy + FEED_PATH, args.seconds, args.connections, GZIP, False)
                rates.append(Rate("web behind the nginx cache", count, rate, "req/s"))
    return rates


@contextlib.contextmanager
def web_processes(settings: Settings, count: int) -> Iterator[list[str]]:
    ports = [free_port() for _ in range(count)]
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(server(granian_command(), port, app_env(settings, port),
                                           pinned=False)) for port in ports]  # fmt: skip
        for url in urls:
            fetch(url + FEED_PATH, GZIP)  # rendered once, then shared through Redis
        yield urls


def alone(urls: list[str], args: argparse.Namespace) -> float:
    """Every process loaded at once by a wrk of its own; the rates summed."""
    connections = max(1, args.connections // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        results = pool.map(
            lambda url: wrk(url + FEED_PATH, args.seconds, connections, GZIP, False), urls
        )
        return sum(rate for rate, _ in results)


def worker_rates(settings: Settings, store: Store, args: argparse.Namespace) -> list[Rate]:
    rates = []
    replay, llm = ArxivReplay().start(), FakeLLM(latency_seconds=args.llm_latency).start()
    replay.listing = []  # arXiv shows nothing new: the workers only enrich
    try:
        for run, count in enumerate(WORKER_COUNTS, start=1):
            queue_items(store, args.items, offset=run * 100_000)
            env = worker_env(settings, replay, llm, args.llm_concurrency)
            seconds = drain(env, store, count)
            rates.append(Rate("worker", count, args.items / seconds, "enrichments/s"))
    finally:
        replay.close()
        llm.close()
    return rates


def queue_items(store: Store, count: int, offset: int) -> None:
    """`count` new papers in the topic, each queued for its enrichment in English."""
    start = datetime(2026, 2, 1, tzinfo=UTC)
    template = Paper("0000.00000", 1, "t", "We measure workers.", ("A. Author",), start, start)
    papers = [bench_paper(template, offset + n, start) for n in range(count)]
    assert store.papers.save_papers(TOPIC, papers).queued == count


def worker_env(
    settings: Settings, replay: ArxivReplay, llm: FakeLLM, concurrency: int
) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "FEEDSVC_REDIS_PREFIX": settings.redis_prefix,
        "FEEDSVC_TOPICS_FILE": str(settings.topics_file),
        "FEEDSVC_ARXIV_API_URL": replay.api_url,
        "FEEDSVC_ARXIV_DELAY_SECONDS": "0",
        "FEEDSVC_PAPER_PAGES": "0",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "bench",
        "FEEDSVC_LLM_MODEL": "bench",
        "FEEDSVC_LOG_LEVEL": "WARNING",
        "FEEDSVC_FETCH_INTERVAL_SECONDS": "3600",
        "FEEDSVC_LLM_CONCURRENCY": str(concurrency),
    }


def drain(env: dict[str, str], store: Store, count: int) -> float:
    """Seconds `count` worker processes take to empty the queue (from their start)."""
    command = [sys.executable, "-m", "worker", "run"]
    started = time.perf_counter()
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(count)]  # fmt: skip
    try:
        while store.queue.waiting_count():
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)


def print_table(rates: list[Rate]) -> None:
    print(f"{'':34}{'processes':>10}{'per second':>14}{'x one':>8}{'per added process':>20}")
    for rate in rates:
        one = next(r for r in rates if r.name == rate.name and r.processes == 1)
        ratio = rate.per_second / one.per_second
        added = (
            (rate.per_second - one.per_second) / (rate.processes - 1) if rate.processes > 1 else 0
        )
        gain = f"{added / one.per_second:+.0%} of one" if rate.processes > 1 else ""
        print(f"{rate.name:34}{rate.processes:>10}{rate.per_second:>14,.1f}{ratio:>7.2f}x"
              f"{gain:>20}   {rate.unit}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--llm-latency", type=float, default=0.2)
    parser.add_argument("--llm-concurrency", type=int, default=8)
    args = parser.parse_args()
    ensure_tools()
    print(f"{os.cpu_count()} cores; {args.papers} papers stored; wrk {args.seconds} s, "
          f"{args.connections} connections; {args.items} enrichments, LLM answers after "
          f"{args.llm_latency} s\n")  # fmt: skip
    with dataset(args.papers) as (settings, store):
        rates = web_rates(settings, args)
    with dataset(0) as (settings, store):  # no stored enrichment for the workers to redo
        rates += worker_rates(settings, store, args)
    print_table(rates)
    ideal = args.llm_concurrency / args.llm_latency
    print(
        f"\n(one worker's ceiling: {args.llm_concurrency} calls in flight / {args.llm_latency} s "
        f"= {ideal:.0f} enrichments/s; each worker row includes its process's start)"
    )


if __name__ == "__main__":
    main()
