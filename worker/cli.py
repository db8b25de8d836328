"""feedsvc-worker: fetch and enrich arXiv topics (once, run, backfill, rescore, retry-failed,
stats)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import FrameType

from feedsvc.config import Settings, Topic, load_topics
from feedsvc.errors import ConfigError, StoreError
from feedsvc.logs import configure_logging
from feedsvc.store import Store, connect
from worker.assembly import Worker, build_worker, utc_now
from worker.outcome import CycleReport
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
    # A command whose output is for reading or for scripts (stats) logs to stderr instead.
    report = args.command is command_stats
    configure_logging(settings.log_level, settings.log_format, sys.stderr if report else None)
    store = connect(settings)
    try:
        store.ping()
        store.migrate()
        return int(args.command(Context(settings, topics, store), args))
    except StoreError as exc:
        print(
            f"feedsvc-worker: Redis at {settings.redis_url_redacted} failed: {exc}",
            file=sys.stderr,
        )
        return 1


class Context:
    """What every command gets: the settings, the topics and the store; a worker on demand."""

    def __init__(self, settings: Settings, topics: Sequence[Topic], store: Store) -> None:
        self.settings = settings
        self.topics = topics
        self.store = store

    def worker(self) -> Worker:
        return build_worker(self.settings, self.topics, self.store)


Command = Callable[[Context, argparse.Namespace], int]


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
    rescore = commands.add_parser(
        "rescore", help="score a topic's last N days against its interest as it reads now"
    )
    rescore.add_argument("slug", help="the topic's slug, as in the topics file")
    rescore.add_argument("--days", type=_days, required=True, help="how many days back (1-3650)")
    rescore.set_defaults(command=command_rescore)
    stats = commands.add_parser("stats", help="papers, enrichment state, LLM calls, tokens, cost")
    stats.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    stats.set_defaults(command=command_stats)
    return parser


def command_once(context: Context, args: argparse.Namespace) -> int:
    worker = context.worker()
    report = worker.scheduler.run_once()
    worker.intake.retire()
    print(
        f"fetched {len(context.topics)} topics: {report.new} new, {report.revised} revised, "
        f"{report.enriched} enriched"
    )
    if report.retrying:
        print(f"{report.retrying} enrichments failed and are scheduled to be tried again "
              "(nothing is lost: `feedsvc-worker stats` lists them)")  # fmt: skip
    if report.final:
        print(
            f"feedsvc-worker: {len(report.final)} failures that nothing retries on its own "
            f"(listed by stats; retry-failed queues them again); first: {report.final[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def _days(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_BACKFILL_DAYS:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of days from 1 to 3650")
    return int(raw)


def command_backfill(context: Context, args: argparse.Namespace) -> int:
    topic = _topic_named(context, args.slug)
    if topic is None:
        return 2
    worker = context.worker()
    _stop_on_signals(worker, context.settings.shutdown_seconds)
    report = worker.fetcher.backfill(topic, args.days)
    worker.intake.retire()
    print(f"backfill {topic.slug}: {report.new} new, {report.revised} revised, "
          f"{report.enriched} enriched")  # fmt: skip
    if report.failures:
        print(f"feedsvc-worker: backfill stopped: {report.failures[0]}; run it again to resume",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def command_rescore(context: Context, args: argparse.Namespace) -> int:
    """Enrich again the topic's papers of the last N days that were scored against another
    interest (or none): a changed interest is otherwise applied to new papers only."""
    topic = _topic_named(context, args.slug)
    if topic is None:
        return 2
    worker = context.worker()
    _stop_on_signals(worker, context.settings.shutdown_seconds)
    queued = worker.intake.queue_rescoring(topic, utc_now() - timedelta(days=args.days))
    report = CycleReport()
    worker.dispatcher.enrich_due(report)
    worker.intake.retire()
    print(f"rescore {topic.slug}: {queued} queued, {report.enriched} enriched")
    if report.failures:
        print(f"feedsvc-worker: {len(report.failures)} failed and will be retried; first: "
              f"{report.failures[0]}", file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _topic_named(context: Context, slug: str) -> Topic | None:
    """The topic with that slug; None, having said which topics there are, if none."""
    topic = next((t for t in context.topics if t.slug == slug), None)
    if topic is None:
        known = ", ".join(t.slug for t in context.topics)
        print(f"feedsvc-worker: unknown topic {slug!r}; topics: {known}", file=sys.stderr)
    return topic


def _stop_on_signals(worker: Worker, shutdown_seconds: float) -> None:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if worker.stop.is_set():
            return
        log.info("signal %s: finishing the papers in hand (at most %gs), then exiting",
                 signum, shutdown_seconds)  # fmt: skip
        worker.stop.set()
        threading.Thread(target=_exit_after, args=(worker, shutdown_seconds), daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _exit_after(worker: Worker, shutdown_seconds: float) -> None:
    """Shutdown ran out of time: hand the unfinished items back and leave."""
    time.sleep(shutdown_seconds)
    handed = worker.dispatcher.hand_back_in_flight()
    worker.intake.retire()
    log.warning("shutdown took over %gs: %d items handed back to the queue", shutdown_seconds,
                handed)  # fmt: skip
    logging.shutdown()
    os._exit(0)


def command_retry_failed(context: Context, args: argparse.Namespace) -> int:
    queued = context.store.failures.requeue_failed()
    print(f"queued {queued} failed enrichments again")
    return 0


def command_stats(context: Context, args: argparse.Namespace) -> int:
    report = collect_stats(context.store, context.topics, context.settings, utc_now())
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_stats(report))
    return 0


def command_run(context: Context, args: argparse.Namespace) -> int:
    worker, settings = context.worker(), context.settings
    _stop_on_signals(worker, settings.shutdown_seconds)
    log.info(
        "worker %s: %d topics, fetched %s", worker.consumer, len(worker.topics),
        worker.scheduler.schedule.describe(),
    )  # fmt: skip
    worker.scheduler.run_forever()
    worker.intake.retire()
    log.info("worker %s stopped", worker.consumer)
    return 0
