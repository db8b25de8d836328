"""Results made by another enricher: what counts as current, and queueing the rest, once.

An enricher is (method, model, prompt version). A result stamped otherwise is outdated; the
check reads every stored result (a chunk at a time), so it runs when the enricher differs
from the one last checked against (kept in Redis) and once a day, not every cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from feedsvc.config import Topic
from feedsvc.keys import work_member
from feedsvc.models import Paper
from feedsvc.store import EnrichmentStamp, Store

log = logging.getLogger(__name__)

Identity = tuple[str, str, str]  # (method, model, prompt version) of an enricher
RECHECK = timedelta(days=1)


def queue_outdated(store: Store, identity: Identity, topics: Sequence[Topic], now: datetime) -> int:
    """Queue, newest first, every enrichment made by another model or prompt version, when
    the enricher is not the one stored results were last checked against, or that check is
    a day old (a worker of the previous release may have stored more since). Otherwise a
    cycle reads one key, and nothing per paper.

    The old result stays in the feed until the new one replaces it. The offline enricher
    replaces nothing, so it checks nothing.
    """
    if identity[0] == "extractive":
        return 0
    checked, checked_at = store.enrichments.checked_identity()
    if checked == identity and checked_at is not None and now - checked_at < RECHECK:
        return 0
    queued = _queue_made_otherwise(store, identity, topics)
    store.enrichments.record_checked_identity(identity, now)
    if queued:
        log.info("queued %d enrichments made by another model or prompt", queued)
    return queued


def _queue_made_otherwise(store: Store, identity: Identity, topics: Sequence[Topic]) -> int:
    set_aside = set(store.failures.failed_items()) | set(store.queue.dead_letters())
    queued = 0
    for topic in topics:
        for paper_ids in store.topics.paper_id_chunks(topic.slug):
            for language in topic.languages:
                stamps = store.enrichments.enrichment_stamps(paper_ids, language)
                outdated = [
                    (paper_id, language)
                    for paper_id, stamp in zip(paper_ids, stamps, strict=True)
                    if stamp is not None and not made_by(stamp, identity)
                    and work_member(paper_id, language) not in set_aside
                ]  # fmt: skip
                queued += store.queue.enqueue(outdated)
    return queued


def queue_rescoring(
    store: Store, topic: Topic, interests: Callable[[str, str], str], since: datetime
) -> int:
    """Queue the topic's papers updated since `since` whose enrichment in one of its
    languages was scored against other interests than `interests(paper_id, language)` (a
    stamp) says; returns how many."""
    set_aside = set(store.failures.failed_items()) | set(store.queue.dead_letters())
    queued = 0
    for language in topic.languages:
        paper_ids = store.feeds.ids_since(topic, language, since)
        stamps = store.enrichments.enrichment_stamps(paper_ids, language)
        stale = [
            (paper_id, language)
            for paper_id, stamp in zip(paper_ids, stamps, strict=True)
            if stamp is not None and stamp.interests != interests(paper_id, language)
            and work_member(paper_id, language) not in set_aside
        ]  # fmt: skip
        queued += store.queue.enqueue(stale)
    return queued


def is_current(
    stamp: EnrichmentStamp | None, paper: Paper, identity: Identity, interests: str = "",
    full_text: str = "",
) -> bool:  # fmt: skip
    """The stored enrichment was made from this text by this enricher, and scored against
    the `interests` its topics state now (a stamp: feedsvc.models.interests_stamp), from
    what a full-text topic wants read (`full_text`: "sections", "abstract" or "").

    Only a queued item is checked: a paper is queued again when it joins a topic whose
    interest it was not scored against, or by `feedsvc-worker rescore`; an edited interest
    does not send every stored paper back to the model. An offline result is made again
    offline when its interests differ (that costs nothing); a model's result is never
    replaced by an offline one.
    """
    if stamp is None or stamp.source_hash != paper.source_hash:
        return False
    if identity[0] == "extractive":
        return stamp.method != "extractive" or stamp.interests == interests
    return (
        made_by(stamp, identity) and stamp.interests == interests
        and stamp.full_text == full_text
    )  # fmt: skip


def made_by(stamp: EnrichmentStamp, identity: Identity) -> bool:
    if identity[0] == "extractive":
        return True  # never replace any result with an offline one
    return (stamp.method, stamp.model, stamp.prompt_version) == identity
