"""Completeness, measured: a topic's papers of one announcement against arXiv's own count."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Protocol

from feedsvc.calendar import announcement_window
from feedsvc.config import Topic
from feedsvc.errors import SourceError
from feedsvc.logs import ids
from feedsvc.models import Paper
from feedsvc.status import Completeness
from feedsvc.store import Store

log = logging.getLogger(__name__)


class CountingSource(Protocol):
    """What the check needs of arXiv (see worker.arxiv_source.ArxivSource)."""

    def count_updated(self, topic: Topic, start: datetime, end: datetime) -> int: ...

    def fetch_updated(
        self, topic: Topic, start: datetime, end: datetime, limit: int
    ) -> list[Paper]: ...


class CompletenessCheck:
    """Counts, repairs what it can, and records what it found for the index page,
    /readyz and /metrics."""

    def __init__(self, store: Store, source: CountingSource, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.source = source
        self.clock = clock

    def check(self, topic: Topic, day: date) -> Completeness | None:
        """Compare the topic's papers of one announcement with arXiv's own count of them;
        fetch the day's window again when arXiv has more. The result shows on the index
        page, in /readyz and /metrics. None (tried again later) when arXiv fails."""
        start, end = announcement_window(day)
        slug, about = topic.slug, ids(topic=topic.slug)
        try:
            on_arxiv = self.source.count_updated(topic, start, end)
            stored = self.store.topics.stored_between(slug, start, end)
            if on_arxiv == 0 and stored:  # arXiv lists none of what it announced: a hiccup
                raise SourceError(slug, f"arXiv counts none of the {stored} papers stored")
            if on_arxiv > stored:
                papers = self.source.fetch_updated(topic, start, end, on_arxiv)
                self.store.papers.save_papers(topic, papers)
        except SourceError as exc:
            log.warning("topic=%s completeness of %s not checked: %s; tried again later", slug,
                        day, exc.reason, extra=about)  # fmt: skip
            self.store.topics.record_completeness_failure(slug, self.clock())
            return None
        checked = Completeness(day, on_arxiv, self.store.topics.stored_between(slug, start, end),
                               self.clock())  # fmt: skip
        self.store.topics.record_completeness(slug, checked)
        level = logging.WARNING if checked.missing else logging.INFO
        log.log(level, "topic=%s announcement %s: %d of %d papers on arXiv stored", slug, day,
                checked.stored, on_arxiv, extra=about)  # fmt: skip
        return checked
