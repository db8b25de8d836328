"""feedsvc-worker: fetch and enrich arXiv topics (once, run, backfill, retry-failed, stats)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

import redis

from feedsvc.config import Settings, Topic, load_topics
from feedsvc.errors import ConfigError
from feedsvc.keys import Keys
from feedsvc.logs import configure_logging
from feedsvc.store import Store, connect
from worker.arxiv_source import ArxivSource
from worker.batch import BatchEnrichment
from worker.coordination import ArxivGate
from worker.enrich import Enricher, ExtractiveEnricher, LLMEnricher, build_llm_client
from worker.limits import RateLimiter
from worker.runner import EnrichPolicy, Runner, utc_now
from worker.stats import collect_stats, format_stats

log = logging.getLogger("worker")
MAX_BACKFILL_DAYS = 3650


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `feedsvc-worker`; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        topics = load_topics(settings.topics_file)
    except ConfigError as exc:
        print(f"feedsvc-worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        runner = build_runner(settings, topics)
        runner.store.redis.ping()
        return int(args.command(runner, settings, args))
    except redis.RedisError as exc:
        print(
            f"feedsvc-worker: Redis at {settings.redis_url_redacted} failed: {exc}",
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedsvc-worker", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    once = commands.add_parser("once", help="fetch every topic once, enrich what is new, exit")
    once.set_defaults(command=command_once)
    run = commands.add_parser("run", help="fetch on a schedule and enrich until SIGTERM")
    run.set_defaults(command=command_run)
    retry = commands.add_parser("retry-failed", help="queue every failed enrichment again")
    retry.set_defaults(command=command_retry_failed)
    backfill = commands.add_parser("backfill", help="fetch and enrich a topic's last N days")
    backfill.add_argument("slug", help="the topic's slug, as in the topics file")
    backfill.add_argument("--days", type=_days, required=True, help="how many days back (1-3650)")
    backfill.set_defaults(command=command_backfill)
    stats = commands.add_parser("stats", help="papers, enrichment state, LLM calls, tokens, cost")
    stats.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    stats.set_defaults(command=command_stats)
    return parser


def build_runner(settings: Settings, topics: Sequence[Topic]) -> Runner:
    """A Runner wired to the configured Redis, arXiv endpoint, enricher and limits."""
    store = Store(connect(settings), Keys(settings.redis_prefix))
    source = ArxivSource(
        settings.arxiv_api_url,
        settings.arxiv_delay_seconds,
        settings.arxiv_timeout_seconds,
        record_request=store.count_arxiv_request,
        gate=ArxivGate(store, settings.arxiv_delay_seconds, settings.arxiv_timeout_seconds).turn,
    )
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    policy = EnrichPolicy(
        concurrency=settings.llm_concurrency if settings.llm_enabled else 1,
        max_attempts=settings.llm_max_attempts,
        daily_token_budget=settings.llm_daily_token_budget,
        claim_idle_seconds=settings.claim_idle_seconds,
        max_deliveries=settings.max_deliveries,
        retry_base_seconds=settings.llm_retry_base_seconds,
    )
    enricher = build_enricher(settings, store)
    runner = Runner(topics, store, source, enricher, consumer, policy=policy)
    if settings.llm_mode == "batch" and isinstance(enricher, LLMEnricher):
        runner.batch = BatchEnrichment(enricher, store, utc_now)
    if settings.llm_enabled and (settings.llm_rpm or settings.llm_tpm):
        runner.limiter = RateLimiter(store, settings.llm_rpm, settings.llm_tpm, runner.stop)
    return runner


def build_enricher(settings: Settings, store: Store) -> Enricher:
    if not settings.llm_enabled:
        log.info("no OPENAI_API_KEY or OPENAI_BASE_URL: using the offline extractive enricher")
        return ExtractiveEnricher()

    def record_call(model: str, tokens_in: int, tokens_out: int, outcome: str) -> None:
        store.record_llm_call(model, tokens_in, tokens_out, outcome, utc_now())

    return LLMEnricher(
        build_llm_client(settings),
        settings.llm_model,
        response_format=settings.llm_response_format,
        record_call=record_call,
    )


def command_once(runner: Runner, settings: Settings, args: argparse.Namespace) -> int:
    report = runner.run_once()
    print(
        f"fetched {len(runner.topics)} topics: {report.new} new, {report.revised} revised, "
        f"{report.enriched} enriched"
    )
    if report.failures:
        print(
            f"feedsvc-worker: {len(report.failures)} failures (nothing lost: retried later, "
            "or listed by stats); first: "
            f"{report.failures[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def _days(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_BACKFILL_DAYS:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of days from 1 to 3650")
    return int(raw)


def command_backfill(runner: Runner, settings: Settings, args: argparse.Namespace) -> int:
    topic = next((t for t in runner.topics if t.slug == args.slug), None)
    if topic is None:
        known = ", ".join(t.slug for t in runner.topics)
        print(f"feedsvc-worker: unknown topic {args.slug!r}; topics: {known}", file=sys.stderr)
        return 2
    _stop_on_signals(runner, settings.shutdown_seconds)
    report = runner.backfill(topic, args.days)
    print(f"backfill {topic.slug}: {report.new} new, {report.revised} revised, "
          f"{report.enriched} enriched")  # fmt: skip
    if report.failures:
        print(f"feedsvc-worker: backfill stopped: {report.failures[0]}; run it again to resume",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _stop_on_signals(runner: Runner, shutdown_seconds: float) -> None:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if runner.stop.is_set():
            return
        log.info("signal %s: finishing the papers in hand (at most %gs), then exiting",
                 signum, shutdown_seconds)  # fmt: skip
        runner.stop.set()
        threading.Thread(target=_exit_after, args=(runner, shutdown_seconds), daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _exit_after(runner: Runner, shutdown_seconds: float) -> None:
    """Shutdown ran out of time: hand the unfinished items back and leave."""
    time.sleep(shutdown_seconds)
    handed = runner.hand_back_in_flight()
    log.warning("shutdown took over %gs: %d items handed back to the queue", shutdown_seconds,
                handed)  # fmt: skip
    logging.shutdown()
    os._exit(0)


def command_retry_failed(runner: Runner, settings: Settings, args: argparse.Namespace) -> int:
    queued = runner.store.requeue_failed()
    print(f"queued {queued} failed enrichments again")
    return 0


def command_stats(runner: Runner, settings: Settings, args: argparse.Namespace) -> int:
    report = collect_stats(runner.store, runner.topics, settings, utc_now())
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_stats(report))
    return 0


def command_run(runner: Runner, settings: Settings, args: argparse.Namespace) -> int:
    _stop_on_signals(runner, settings.shutdown_seconds)
    log.info(
        "worker %s: %d topics, fetch every %gs",
        runner.consumer, len(runner.topics), settings.fetch_interval_seconds,
    )  # fmt: skip
    runner.run_forever(settings.fetch_interval_seconds)
    log.info("worker %s stopped", runner.consumer)
    return 0
