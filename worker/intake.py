"""The queue side of enriching: taking work, skipping what is current, parking failures."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from feedsvc.config import Topic
from feedsvc.errors import EnrichmentFailed
from feedsvc.logs import ids
from feedsvc.models import Enrichment, Paper, Section
from feedsvc.store import EnrichmentInputs, Store, WorkItem
from worker.enrich.enricher import read_from
from worker.enrich.prompt import Interest, stamp_of
from worker.outcome import CycleReport, EnrichPolicy, Outcome
from worker.outdated import Identity, is_current, queue_outdated, queue_rescoring
from worker.usage import PendingUsage

log = logging.getLogger(__name__)

RETRY_MAX_SECONDS = 6 * 3600.0
PAGES_WAIT = timedelta(days=1)  # a full-text paper waits this long for its view at most
PAGES_RECHECK = timedelta(minutes=2)


@dataclass(frozen=True)
class FullText:
    """What a full-text topic's enrichment reads: `sections` (None: not full text; (): the
    paper has no view, so its abstract), or `wait` for its view to be fetched."""

    sections: tuple[Section, ...] | None
    wait: bool = False


CLAIM_CHECK_SECONDS = 5.0
CONSUMER_IDLE_SECONDS = 3600.0


class Intake:
    """Hands a dispatcher its work items and takes back what became of each."""

    def __init__(
        self,
        store: Store,
        consumer: str,
        policy: EnrichPolicy,
        identity: Identity,
        clock: Callable[[], datetime],
        stop: threading.Event,
        usage: PendingUsage | None = None,
        topics: Sequence[Topic] = (),
        waits_for_pages: bool = False,
    ) -> None:
        self.store = store
        self.topics = {topic.slug: topic for topic in topics}
        self.waits_for_pages = waits_for_pages  # a fetcher of the papers' pages runs
        self.consumer = consumer
        self.policy = policy
        self.identity = identity
        self.clock = clock
        self.stop = stop
        self.next_claim_check = 0.0  # monotonic time of the next look for a dead worker's items
        self.usage = usage or PendingUsage(clock)  # calls stored with the result they paid for

    def retire(self) -> None:
        """This worker is leaving: its name leaves the consumer group if nothing is pending."""
        self.store.consumers.forget_consumer(self.consumer)

    def forget_idle_consumers(self) -> int:
        """Remove the names of workers long gone from the consumer group."""
        idle_seconds = max(2 * self.policy.claim_idle_seconds, CONSUMER_IDLE_SECONDS)
        return self.store.consumers.forget_idle_consumers(idle_seconds)

    def requeue_due_retries(self) -> int:
        return self.store.queue.requeue_due_retries(self.clock())

    def take(self, room: int) -> list[WorkItem]:
        """Up to `room` items: a dead worker's first, else new ones.

        A dead worker's items are looked for at most every CLAIM_CHECK_SECONDS (or half the
        claim idle time), not before every take: the common take is one round trip.
        """
        if room <= 0:
            return []
        queue, policy = self.store.queue, self.policy
        if time.monotonic() >= self.next_claim_check:
            stale = queue.claim_stale(
                self.consumer, policy.claim_idle_seconds, room, policy.max_deliveries
            )
            interval = min(CLAIM_CHECK_SECONDS, policy.claim_idle_seconds / 2)
            self.next_claim_check = 0.0 if stale else time.monotonic() + interval
            if stale:
                return stale
        return queue.take(self.consumer, room)

    def paper_to_enrich(self, item: WorkItem) -> EnrichmentInputs | None:
        """What enriching the item needs (one round trip), if it still needs this
        enrichment; else the item is acknowledged: its paper is gone, or its enrichment is
        current and is committed (again: a worker killed between storing and committing it
        left the item pending)."""
        inputs = self.store.enrichments.enrichment_inputs(item)
        if inputs is None:
            self.store.queue.ack(item, self.usage.take())
            return None
        if is_current(
            inputs.stamp, inputs.paper, self.identity,
            stamp_of(self.interests(inputs.topics, item.language)),
            read_from(self.sections(inputs, item.language).sections),
        ):  # fmt: skip
            self.store.enrichments.commit(
                item.paper_id, item.language, item, inputs, self.usage.take()
            )
            return None
        return inputs

    def sections(self, inputs: EnrichmentInputs, language: str) -> FullText:
        """What the item's enrichment reads of the paper's full text: nothing (no full-text
        topic of its has the language), its sections, () when it has no HTML view, or a
        wait while its view is still to be fetched (at most PAGES_WAIT after it was seen)."""
        wanted = any(
            topic.full_text and language in topic.languages
            for topic in (self.topics.get(slug) for slug in inputs.topics) if topic is not None
        )  # fmt: skip
        if not wanted:
            return FullText(None)
        paper, pages = inputs.paper, inputs.pages
        if pages is not None and pages.version != paper.version:
            pages = None
        if pages is not None and (pages.sections or not pages.has_view):
            return FullText(pages.sections)
        # Its pages are to come, or were fetched before a full-text topic took it (so
        # without its sections): wait for them, when a fetcher of pages runs at all.
        if self.waits_for_pages and self.clock() - _pending_since(paper) < PAGES_WAIT:
            if not inputs.pages_pending:
                self.store.pages.fetch_again(paper.id)
            return FullText((), wait=True)
        return FullText(())

    def wait_for_pages(self, item: WorkItem) -> Outcome:
        """Put the item off until its paper's HTML view is likely fetched (no attempt)."""
        self.store.queue.postpone(item, self.clock() + PAGES_RECHECK)
        return Outcome.skipped()

    def must_pause(self, report: CycleReport) -> bool:
        """Stop taking work: asked to stop, or the day's token budget is spent."""
        if self.stop.is_set():
            return True
        budget = self.policy.daily_token_budget
        if budget and self.tokens_spent_today() >= budget:
            if not report.budget_reached:
                log.warning("daily LLM token budget of %d reached; enrichment paused", budget)
            report.budget_reached = True
            return True
        return False

    def tokens_spent_today(self) -> int:
        return self.store.accounting.llm_usage(self.clock().date().isoformat()).tokens

    def complete(
        self, item: WorkItem, enrichment: Enrichment, inputs: EnrichmentInputs | None = None
    ) -> Outcome:
        """Store the enrichment, then commit it with what it cost and acknowledge its item:
        two steps, two round trips given the `inputs` read before enriching."""
        self.store.enrichments.save_enrichment(
            item.paper_id, enrichment, done=item, inputs=inputs, usage=self.usage.take()
        )
        log.info(
            "paper=%s lang=%s enriched method=%s tokens=%d+%d",
            item.paper_id, item.language, enrichment.method, enrichment.tokens_in,
            enrichment.tokens_out, extra=ids(paper=item.paper_id, language=item.language),
        )  # fmt: skip
        return Outcome.enriched()

    def retry_later(
        self, item: WorkItem, paper: Paper, exc: EnrichmentFailed, attempts: int | None = None
    ) -> Outcome:
        """Park a failed item for a later attempt, or give up on it after the last one;
        `attempts`: the failed attempts before this one, when already read."""
        if attempts is None:
            attempts = self.store.queue.attempts(item.paper_id, item.language)
        attempt = attempts + 1
        usage = self.usage.take()
        where = f"paper={item.paper_id} lang={item.language} attempt={attempt}"
        about = ids(paper=item.paper_id, language=item.language, attempt=attempt)
        if not exc.transient or attempt >= self.policy.max_attempts:
            self.store.failures.mark_failed(
                item, paper.source_hash, exc.reason, self.clock(), usage
            )
            log.error("%s enrichment failed for good: %s", where, exc.reason, extra=about)
            return Outcome.failed(f"paper {item.paper_id} ({item.language}): {exc.reason}; gave up")
        due = self.clock() + timedelta(seconds=self._retry_delay(exc, attempt))
        self.store.queue.schedule_retry(item, due, exc.reason, usage)
        log.warning(
            "%s enrichment failed: %s; retry at %s",
            where, exc.reason, due.isoformat(timespec="seconds"), extra=about,
        )  # fmt: skip
        return Outcome.retrying(f"paper {item.paper_id} ({item.language}): {exc.reason}")

    def store_usage(self) -> None:
        """Count this thread's calls that no stored result took with it (a stopped call)."""
        self.store.accounting.record_llm_calls(self.usage.take())

    def _retry_delay(self, exc: EnrichmentFailed, attempt: int) -> float:
        """A rejected answer is asked for again at once (the endpoint works, the model
        answered badly); a failed call backs off, at least as long as the server asked."""
        if exc.kind == "validation":
            return 0.0
        backoff = retry_delay_seconds(attempt, self.policy.retry_base_seconds)
        return max(backoff, exc.retry_after_seconds or 0.0)

    def interests(self, topics: Iterable[str], language: str) -> tuple[Interest, ...]:
        """The interests a paper of these topics is scored against in `language`: those of
        its topics that state one and have that language."""
        stated = (self.topics.get(slug) for slug in sorted(topics))
        return tuple(
            Interest(topic.slug, topic.interest, topic.interest_key) for topic in stated
            if topic is not None and topic.interest and language in topic.languages
        )  # fmt: skip

    def queue_rescoring(self, topic: Topic, since: datetime) -> int:
        """Queue the topic's papers since `since` that were scored against other interests
        than their topics state now (or none): `feedsvc-worker rescore`."""

        def wanted(paper_id: str, language: str) -> str:
            topics = self.store.enrichments.feed_place(paper_id)[0]
            return stamp_of(self.interests(topics, language))

        return queue_rescoring(self.store, topic, wanted, since)

    def queue_outdated(self, topics: Sequence[Topic]) -> int:
        """Queue what another model or prompt made, once per change (worker.outdated)."""
        return queue_outdated(self.store, self.identity, topics, self.clock())


def _pending_since(paper: Paper) -> datetime:
    """Since when the paper's latest version waits for its pages: its revision's storing,
    else its first sighting."""
    revision = paper.revision
    return revision.at if revision is not None and not revision.amended else paper.first_seen


def retry_delay_seconds(attempt: int, base_seconds: float = 60.0) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 ... minutes, at most 6 hours."""
    delay = min(base_seconds * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
    return float(delay * random.uniform(0.8, 1.2))
