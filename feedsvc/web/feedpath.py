"""What a feed URL asks for: /feeds/<slug>[.<lang>][.daily].<format>?page=N."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from feedsvc.config import LANGUAGE_PATTERN, Topic
from feedsvc.errors import BadRequest, PageNotFound, TopicNotFound

FORMATS = ("atom", "rss", "json")


@dataclass(frozen=True)
class FeedRequest:
    topic: Topic
    language: str
    daily: bool
    fmt: str
    page: int

    @property
    def variant(self) -> str:
        return f"{'daily' if self.daily else 'papers'}.{self.fmt}.p{self.page}"


def parse_feed_request(name: str, page: str, topics: Mapping[str, Topic]) -> FeedRequest:
    """The feed a name and page ask for; TopicNotFound, PageNotFound or BadRequest if none."""
    stem, _, fmt = name.rpartition(".")
    parts = stem.split(".") if stem else []
    if fmt not in FORMATS or not 1 <= len(parts) <= 3:
        raise TopicNotFound(parts[0] if parts else name, detail=name)
    daily = parts[-1] == "daily" and len(parts) > 1
    parts = parts[:-1] if daily else parts
    if len(parts) > 2:
        raise TopicNotFound(parts[0], detail=name)
    topic, language = resolve_topic(parts[0], parts[1] if len(parts) == 2 else None, topics)
    number = parse_page(page)
    if daily and number != 1:
        raise PageNotFound(topic.slug, number, 1)
    return FeedRequest(topic, language, daily, fmt, number)


def resolve_topic(
    slug: str, language: str | None, topics: Mapping[str, Topic]
) -> tuple[Topic, str]:
    topic = topics.get(slug)
    if topic is None:
        raise TopicNotFound(slug)
    if language is None:
        return topic, topic.default_language
    if not LANGUAGE_PATTERN.fullmatch(language) or language not in topic.languages:
        raise TopicNotFound(slug, language)
    return topic, language


def parse_page(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise BadRequest(f"page must be a whole number from 1, not {raw!r}")
    return int(raw)
