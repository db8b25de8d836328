"""What a cached URL asks for: the render cache's key (topic, language, variant) of a feed,
a topic page, the index or the OPML, read the same way by the fast path and the handlers.

Bad input raises what the handlers answer (TopicNotFound, PageNotFound, BadRequest).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from feedsvc.config import Topic
from feedsvc.errors import BadRequest
from feedsvc.web.cache import SITE
from feedsvc.web.feedpath import parse_page, resolve_topic, shown
from feedsvc.web.i18n import catalogue_locale

CacheKey = tuple[str, str, str]  # (topic slug or SITE, language, variant)
OPML_KEY: CacheKey = (SITE, "", "opml")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ANY_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}")


@dataclass(frozen=True)
class PageRequest:
    topic: Topic
    language: str
    page: int
    day: date | None = None  # ?day=: one announcement day instead of a page

    @property
    def key(self) -> CacheKey:
        shown = f"d{self.day.isoformat()}" if self.day else f"p{self.page}"
        return (self.topic.slug, self.language, f"page.{shown}")


def parse_page_request(
    name: str, page: str, topics: Mapping[str, Topic], day: str = ""
) -> PageRequest:
    """/topics/<slug>[.<lang>]?page=N, or ?day=YYYY-MM-DD."""
    slug, _, language = name.partition(".")
    topic, language = resolve_topic(slug, language or None, topics)
    return PageRequest(topic, language, parse_page(page), parse_day(day) if day else None)


def parse_day(raw: str) -> date:
    """An ISO date (2024-12-12); BadRequest for anything else."""
    if not _ISO_DAY.fullmatch(raw):
        raise BadRequest(f"day must be a date such as 2024-12-12, not {shown(raw)}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"day must be a date such as 2024-12-12, not {shown(raw)}") from None


def index_key(raw_language: str, topics: Mapping[str, Topic]) -> tuple[CacheKey, str]:
    """The index page's key and language from `?lang=`: a tag in any case, with `-` or
    `_`. A topic's feed language is kept as asked, any other tag becomes its catalogue's
    (`de-AT` reads `de`, `nl` English), so made-up tags cannot fill the cache."""
    language = page_language(raw_language)
    feeds = {lang for topic in topics.values() for lang in topic.languages}
    if language not in feeds:
        language = catalogue_locale(language).replace("_", "-")
    return (SITE, language, "index"), language


def page_language(raw: str) -> str:
    """A language tag as tags are written (`zh_tw` -> `zh-TW`, `ZH` -> `zh`); BadRequest for
    what is not one."""
    if not _ANY_TAG.fullmatch(raw):
        raise BadRequest(f"lang must be a language code such as 'en' or 'zh-TW', not {shown(raw)}")
    primary, *rest = raw.replace("_", "-").split("-")
    shaped = [part.upper() if len(part) == 2 else part.title() for part in rest]
    return "-".join([primary.lower(), *shaped])
