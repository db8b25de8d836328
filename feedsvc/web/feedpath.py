"""What a feed URL asks for: /feeds/<slug>[.<lang>][.daily].<format>?page=N."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feedsvc.config import LANGUAGE_PATTERN, Topic
from feedsvc.errors import BadRequest, PageNotFound, TopicNotFound

if TYPE_CHECKING:  # feedsvc.web.filters reads its errors' texts from here
    from feedsvc.web.filters import FeedFilter

FORMATS = ("atom", "rss", "json")
PAGE_DIGITS = 9  # pages 1 to 999999999
# ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and "２" (which it takes).
_ASCII_DIGITS = re.compile(r"[0-9]+")
_SHOWN_CHARS = 64


@dataclass(frozen=True)
class FeedRequest:
    topic: Topic
    language: str
    daily: bool
    fmt: str
    page: int
    filter: FeedFilter | None = None  # ?include= and the like (feedsvc.web.filters)
    week: str = ""  # ?week=2026-W47: that week's archive (feedsvc.web.archives)

    @property
    def variant(self) -> str:
        """The cache's name of the rendering; a filtered one ends in `.f<filter key>`."""
        if self.week:
            return f"week.{self.fmt}.{self.week}"
        base = f"{'daily' if self.daily else 'papers'}.{self.fmt}.p{self.page}"
        return f"{base}.f{self.filter.key}" if self.filter and self.filter.active else base


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
    """The page number in `raw`, ASCII digits from 1 to 999999999; else BadRequest."""
    if not _ASCII_DIGITS.fullmatch(raw):
        raise BadRequest(f"page must be a whole number from 1, in ASCII digits, not {shown(raw)}")
    digits = raw.lstrip("0")
    if not digits or len(digits) > PAGE_DIGITS:
        last = "9" * PAGE_DIGITS
        raise BadRequest(
            f"page must be a whole number from 1 to {last}: {shown(raw)} is out of range"
        )
    return int(digits)


def shown(raw: str) -> str:
    """`raw` quoted for an error text, cut short: a client may send kilobytes."""
    if len(raw) <= _SHOWN_CHARS:
        return repr(raw)
    return f"{raw[:_SHOWN_CHARS]!r}… ({len(raw)} characters)"
