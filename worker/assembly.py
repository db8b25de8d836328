"""The worker built in one place: every part made here, with every dependency passed in."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feedsvc.config import Settings, Topic
from feedsvc.config.settings import DEFAULT_FULL_TEXT_TOKENS
from feedsvc.store import Store
from worker.arxiv_source import ArxivSource
from worker.batch import BatchDispatcher
from worker.coordination import FETCH_LOCK_SECONDS, ArxivGate
from worker.dispatcher import Dispatcher, SyncDispatcher
from worker.enrich import Enricher, ExtractiveEnricher, LLMEnricher, build_llm_client
from worker.enrich.llm import CallRecorder
from worker.fetcher import Fetcher, PaperSource
from worker.intake import Intake
from worker.limits import RateLimiter
from worker.outcome import EnrichPolicy
from worker.paper_pages import ArxivPages, PagesFetcher
from worker.schedule import FetchSchedule, schedule_of
from worker.scheduler import Scheduler
from worker.usage import PendingUsage

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Worker:
    """A worker's parts: fetching, enriching (one dispatcher) and the loop that runs both."""

    topics: Sequence[Topic]
    store: Store
    consumer: str
    stop: threading.Event
    intake: Intake
    fetcher: Fetcher
    dispatcher: Dispatcher
    scheduler: Scheduler


def assemble(
    topics: Sequence[Topic],
    store: Store,
    source: PaperSource,
    enricher: Enricher,
    consumer: str,
    clock: Callable[[], datetime] = utc_now,
    policy: EnrichPolicy | None = None,
    *,
    batch: bool = False,
    fetch_lock_seconds: float = FETCH_LOCK_SECONDS,
    stop: threading.Event | None = None,
    usage: PendingUsage | None = None,
    schedule: FetchSchedule | None = None,
    pages: ArxivPages | None = None,
    full_text_tokens: int = DEFAULT_FULL_TEXT_TOKENS,
    thumbnail_limit: int = 0,
) -> Worker:
    """A worker from its outside parts; `stop`, when given, is the event its parts watch;
    `usage`, when given, is where the enricher reports its calls."""
    policy = policy or EnrichPolicy()
    stop = stop or threading.Event()
    intake = Intake(store, consumer, policy, enricher.identity, clock, stop, usage, topics,
                    waits_for_pages=pages is not None)  # fmt: skip
    dispatcher: Dispatcher
    if batch and isinstance(enricher, LLMEnricher):
        dispatcher = BatchDispatcher(intake, enricher, store, clock)
    else:
        dispatcher = SyncDispatcher(intake, enricher, store, policy.concurrency)
    fetcher = Fetcher(topics, store, source, clock, stop, dispatcher.enrich_due, fetch_lock_seconds)
    pages_fetcher = (
        PagesFetcher(store, pages, clock, stop, topics, full_text_tokens, thumbnail_limit)
        if pages
        else None
    )
    scheduler = Scheduler(
        topics, store, fetcher, dispatcher, intake, clock, stop, schedule, pages_fetcher
    )
    return Worker(topics, store, consumer, stop, intake, fetcher, dispatcher, scheduler)


def build_worker(settings: Settings, topics: Sequence[Topic], store: Store) -> Worker:
    """The worker the settings describe: arXiv endpoint, enricher, limits, mode."""
    gate = ArxivGate(
        store.coordination, settings.arxiv_delay_seconds, settings.arxiv_timeout_seconds
    ).turn  # one arXiv request at a time across workers: the API's, the views', OAI-PMH's
    source = ArxivSource(
        settings.arxiv_api_url,
        settings.arxiv_delay_seconds,
        settings.arxiv_timeout_seconds,
        record_request=store.accounting.count_arxiv_request,
        gate=gate,
    )
    pages = ArxivPages(
        settings.arxiv_html_url, settings.arxiv_oai_url, settings.arxiv_timeout_seconds,
        store.accounting.count_arxiv_page_request, gate,
    )  # fmt: skip
    policy = EnrichPolicy(
        concurrency=settings.llm_concurrency if settings.llm_enabled else 1,
        max_attempts=settings.llm_max_attempts,
        daily_token_budget=settings.llm_daily_token_budget,
        claim_idle_seconds=settings.claim_idle_seconds,
        max_deliveries=settings.max_deliveries,
        retry_base_seconds=settings.llm_retry_base_seconds,
    )
    stop = threading.Event()
    usage = PendingUsage(utc_now)
    return assemble(
        topics, store, source, build_enricher(settings, store, stop, usage.record),
        consumer_name(), utc_now, policy, batch=settings.llm_mode == "batch", stop=stop,
        usage=usage, schedule=schedule_of(settings),
        pages=pages if settings.paper_pages else None,
        full_text_tokens=settings.full_text_tokens,
        thumbnail_limit=settings.thumbnail_limit if settings.figure_thumbnails else 0,
    )  # fmt: skip


def consumer_name() -> str:
    """This process's name in the consumer group: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


def build_enricher(
    settings: Settings, store: Store, stop: threading.Event, record_call: CallRecorder
) -> Enricher:
    """The LLM enricher, each of its HTTP calls paced by the shared rate limits and told to
    `record_call`; offline when no LLM is configured."""
    if not settings.llm_enabled:
        log.info("no OPENAI_API_KEY or OPENAI_BASE_URL: using the offline extractive enricher")
        return ExtractiveEnricher()

    limits = (settings.llm_rpm, settings.llm_tpm)
    pace = RateLimiter(store.coordination, *limits, stop).acquire if any(limits) else None
    return LLMEnricher(
        build_llm_client(settings, pace),
        settings.llm_model,
        response_format=settings.llm_response_format,
        record_call=record_call,
    )
