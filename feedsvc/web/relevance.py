"""Scores against a topic's stated interest, as feeds and pages show and filter them.

A score counts only when it was made against the interest the topics file states now: one
made for an earlier wording is not shown, and its paper counts as not scored.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedsvc.config import Topic
from feedsvc.models import FeedItem, Relevance


def scored(topic: Topic) -> bool:
    """Whether the topic (or, for the feed of every topic, one of its parts) states an
    interest to score papers against."""
    return any(part.interest for part in topic.members)


def holders(topic: Topic, item: FeedItem) -> list[Topic]:
    """The topics an entry of the topic's feed stands for: the topic, or in the feed of every
    topic, those of its parts that hold the paper."""
    return [part for part in topic.parts if part.slug in item.topics] or [topic]


def scores_of(topic: Topic, item: FeedItem) -> list[Relevance]:
    """The entry's current scores in the topic's feed: its own, or in the feed of every
    topic, each of its topics' that states an interest."""
    if item.enrichment is None:
        return []
    found = (
        item.enrichment.relevance_for(part.slug, part.interest_key) for part in holders(topic, item)
    )
    return [relevance for relevance in found if relevance is not None]


def best_score(topic: Topic, item: FeedItem) -> int | None:
    """The entry's highest current score in the topic's feed; None when it has none."""
    return max((relevance.score for relevance in scores_of(topic, item)), default=None)


def meets(topic: Topic, item: FeedItem, least: int) -> bool:
    """Whether the entry has a current score of at least `least`."""
    score = best_score(topic, item)
    return score is not None and score >= least


def by_score(topic: Topic, items: Sequence[FeedItem]) -> list[FeedItem]:
    """The items, highest score first, those without one last, in their order otherwise."""

    def rank(item: FeedItem) -> int:
        score = best_score(topic, item)
        return -score if score is not None else 1

    return sorted(items, key=rank)
