"""What a handler answers, without a web framework: status, body, content type, headers.

The Flask app (feedsvc.web.app) turns a Reply into its response; the handlers and the
texts of the 404 and 400 answers below know nothing of Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from feedsvc.config import Topic
from feedsvc.errors import (
    BadRequest,
    DayNotFound,
    PageNotFound,
    PaperNotFound,
    TopicNotFound,
    WeekNotFound,
)
from feedsvc.web.feedpath import shown

REDIS_RETRY_AFTER_SECONDS = 30
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
NOSNIFF = ("X-Content-Type-Options", "nosniff")
# The pages have inline <style> and no script; their only image is the icon at /static/.
PAGE_POLICY = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
     "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("Referrer-Policy", "no-referrer"),
)  # fmt: skip


@dataclass(frozen=True)
class Reply:
    """One answer; content_type None: it has no representation (a 304)."""

    body: bytes | str
    content_type: str | None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


def protective_headers(content_type: str | None) -> tuple[tuple[str, str], ...]:
    """nosniff on every answer; an HTML page also gets the strict policy and no referrer."""
    if content_type is not None and content_type.startswith("text/html"):
        return (NOSNIFF, *PAGE_POLICY)
    return (NOSNIFF,)


def html_reply(page: str) -> Reply:
    return Reply(page, HTML)


def text_reply(text: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """One or more lines of plain text, ending in a newline."""
    return Reply(text + "\n", TEXT, status, headers)


def topic_not_found(exc: TopicNotFound, topics: Mapping[str, Topic]) -> Reply:
    """A 404 naming what exists: the topic's languages, or every topic."""
    if exc.slug in topics and exc.language is not None:
        languages = ", ".join(topics[exc.slug].languages)
        return text_reply(f"Topic {exc.slug!r} has no {shown(exc.language)} feed. Its languages: "
                          f"{languages}.", 404)  # fmt: skip
    known = ", ".join(sorted(topics)) or "none"
    prefix = (
        f"No feed named {shown(exc.detail)}."
        if exc.detail
        else (f"Unknown topic {shown(exc.slug)}.")
    )
    return text_reply(f"{prefix} Known topics: {known}. Every feed is listed at /.", 404)


def page_not_found(exc: PageNotFound) -> Reply:
    return text_reply(f"There is no page {exc.page}: this feed has {exc.pages}.", 404)


def day_not_found(exc: DayNotFound) -> Reply:
    return text_reply(f"No paper of topic {exc.slug!r} was announced on {exc.day}: the topic "
                      f"page /topics/{exc.slug} links every day that has some.", 404)  # fmt: skip


def week_not_found(exc: WeekNotFound) -> Reply:
    return text_reply(f"Week {exc.week} {exc.why}: topic {exc.slug!r} has no archive of it. "
                      "Its current feed links the newest archive (rel=prev-archive).",
                      404)  # fmt: skip


def paper_not_found(exc: PaperNotFound) -> Reply:
    text = (f"No paper {shown(exc.name)} is stored here: ask for /papers/<arXiv id>.bib or .ris, "
            "such as /papers/2412.08345.bib, of a paper a feed lists.")  # fmt: skip
    return text_reply(text, 404)


def bad_request(exc: BadRequest) -> Reply:
    return text_reply(f"Bad request: {exc}.", 400)


def unauthorized(what: str) -> Reply:
    """401 for a protected operations endpoint, naming the header it needs, never the token."""
    text = f"Unauthorized: {what} needs the header Authorization: Bearer <FEEDSVC_METRICS_TOKEN>."
    return text_reply(text, 401, (("WWW-Authenticate", 'Bearer realm="feedsvc"'),))


def storage_unavailable(migrating: bool = False) -> Reply:
    """503 with Retry-After: Redis is down or does not answer, or a worker is bringing the
    stored data to this release's layout."""
    cause = "the stored data is being migrated" if migrating else "storage is unreachable"
    text = f"Service temporarily unavailable: {cause}. Try again shortly."
    return text_reply(text, 503, (("Retry-After", str(REDIS_RETRY_AFTER_SECONDS)),))
