"""The service's URLs: a feed's and a topic page's; the default language has the short name.

`base` is "" for a path (the pages link that way) or the public URL for an absolute URL
(feeds and OPML do).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from feedsvc.config import Topic


def feed_url(
    topic: Topic, language: str, fmt: str = "atom", daily: bool = False, page: int = 1,
    base: str = "", query: Sequence[tuple[str, str]] = (),
) -> str:  # fmt: skip
    """A feed's URL; `query`: more of its arguments (a filter's), kept on every page."""
    kind = ".daily" if daily else ""
    path = f"/feeds/{topic.slug}{_suffix(topic, language)}{kind}.{fmt}"
    arguments = [*query, *([("page", str(page))] if page > 1 else [])]
    if arguments:
        path += f"?{urlencode(arguments)}"
    return base + path


def week_feed_url(topic: Topic, language: str, week: str, fmt: str = "atom", base: str = "") -> str:
    """The feed's document of an ISO week (its archive once archived); "" for no week."""
    return feed_url(topic, language, fmt, base=base, query=[("week", week)]) if week else ""


def page_url(topic: Topic, language: str, base: str = "") -> str:
    return f"{base}/topics/{topic.slug}{_suffix(topic, language)}"


def paper_url(paper_id: str, fmt: str, base: str = "") -> str:
    """A stored paper's BibTeX (`bib`) or RIS (`ris`) file."""
    return f"{base}/papers/{paper_id}.{fmt}"


def icon_url(base: str) -> str:
    return f"{base}/static/icon.svg"


def _suffix(topic: Topic, language: str) -> str:
    return "" if language == topic.default_language else f".{language}"
