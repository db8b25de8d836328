"""The common request, answered before Flask: a feed or page this process has rendered.

Readers poll every 15 to 60 minutes, mostly for nothing new. When the requested feed,
topic page, index or OPML is in this process's memory at its current version, this WSGI
middleware answers 200 or 304 from the cached bytes and preformatted headers, and 503 when
Redis fails on the version check; anything else (a miss, a bad name or page, another
route) goes to the Flask app unchanged.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from feedsvc.config import Topic
from feedsvc.errors import BadRequest, FeedsvcError, StoreError
from feedsvc.web.archives import week_named
from feedsvc.web.bounded import BoundedLru
from feedsvc.web.cache import FeedCache, Rendered
from feedsvc.web.feedpath import FeedRequest, parse_feed_request
from feedsvc.web.filters import FIELDS, parse_filter
from feedsvc.web.relevance import scored
from feedsvc.web.replies import Reply, protective_headers, storage_unavailable
from feedsvc.web.variants import OPML_KEY, CacheKey, index_key, parse_page_request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FEEDS = "/feeds/"
QUERIED = (*FIELDS, "week")  # feed arguments beyond the page: the query names the rendering
TOPICS = "/topics/"
PARSED_ENTRIES = 4096
PARSED_BYTES = 1 << 20
PARSED_ENTRY_OVERHEAD = 512
FILTERED_QUERIES = 1024
FILTERED_QUERY_BYTES = 1 << 20  # the key tuple, the FeedRequest and the map's own node
log = logging.getLogger(__name__)


class FeedFastPath:
    """WSGI middleware serving current cached feeds without entering Flask."""

    def __init__(
        self, app: WSGIApp, cache: FeedCache, topics: Mapping[str, Topic], max_age: int
    ) -> None:
        self.app = app
        self.cache = cache
        self.topics = topics
        self.cache_control = cache_control_value(max_age)
        self.parsed: BoundedLru[tuple[str, str, str], CacheKey] = BoundedLru(
            PARSED_ENTRIES, PARSED_BYTES, parsed_entry_size
        )
        self.filtered: BoundedLru[tuple[str, str, str], CacheKey] = BoundedLru(
            FILTERED_QUERIES, FILTERED_QUERY_BYTES, parsed_entry_size
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method in ("GET", "HEAD") and _cached_route(path):
            wanted = self._parse(path, environ.get("QUERY_STRING", ""))
            try:
                entry = self.cache.current(*wanted) if wanted else None
            except StoreError as exc:
                # Answered here: Flask would ask Redis again and wait out a second timeout.
                log.warning("redis unavailable: %s", exc)
                return answer_reply(storage_unavailable(), start_response, method == "HEAD")
            if entry is not None:
                return self._respond(entry, environ, start_response, method == "HEAD")
        return self.app(environ, start_response)

    def _parse(self, path: str, query: str) -> CacheKey | None:
        """The cache key of what is asked, remembered by path and argument; None (Flask
        answers) for anything else."""
        if path.startswith(FEEDS) and any(f"{name}=" in query for name in QUERIED):
            return self._filtered_key(path, query)
        pairs = query_pairs(query) if query else []  # no query: nearly every reader's request
        if pairs is None:
            return None
        argument = first_value(pairs, *(("lang", "en") if path == "/" else ("page", "1")))
        day = first_value(pairs, "day", "") if path.startswith(TOPICS) else ""
        remembered = (path, argument, day)
        key = self.parsed.get(remembered)
        if key is None:
            try:
                key = self._key(path, argument, day)
            except FeedsvcError:
                return None
            self.parsed.put(remembered, key)
        return key

    def _filtered_key(self, path: str, query: str) -> CacheKey | None:
        """A filtered feed's key, remembered by its whole query, apart from the others: a
        client sending a new filter each time evicts only other filters."""
        remembered = (path, query, "")
        key = self.filtered.get(remembered)
        if key is None:
            page = query_arg(query, "page", "1")
            if page is None:
                return None
            try:
                key = self._key(path, page, "", query)
            except FeedsvcError:
                return None
            self.filtered.put(remembered, key)
        return key

    def _key(self, path: str, argument: str, day: str, query: str = "") -> CacheKey:
        if path.startswith(FEEDS):
            wanted = feed_request(path[len(FEEDS) :], argument, self.topics, query)
            return (wanted.topic.slug, wanted.language, wanted.variant)
        if path.startswith(TOPICS):
            return parse_page_request(path[len(TOPICS) :], argument, self.topics, day).key
        if path == "/":
            return index_key(argument, self.topics)[0]
        return OPML_KEY

    def _respond(
        self, entry: Rendered, environ: dict[str, Any], start_response: Callable[..., Any],
        head: bool,
    ) -> list[bytes]:  # fmt: skip
        status, headers, body = feed_reply(entry, environ, self.cache_control)
        start_response(status, headers)
        return [] if head else [body]


def answer_reply(reply: Reply, start_response: Callable[..., Any], head: bool) -> list[bytes]:
    """A handler's Reply answered in plain WSGI, with the headers Flask would add."""
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    headers = [*reply.headers, *protective_headers(reply.content_type)]
    if reply.content_type is not None:
        headers += [("Content-Type", reply.content_type), ("Content-Length", str(len(body)))]
    start_response(f"{reply.status} {HTTPStatus(reply.status).phrase.upper()}", headers)
    return [] if head else [body]


def feed_request(name: str, page: str, topics: Mapping[str, Topic], query: str) -> FeedRequest:
    """The feed a name, page and query ask for, with its filter or week (BadRequest if
    malformed)."""
    wanted = parse_feed_request(name, page, topics)
    pairs = query_pairs(query)
    if pairs is None:
        raise BadRequest("the query string is not UTF-8")
    week = first_value(pairs, "week", "")
    if week:
        return week_request(wanted, week, pairs)
    found = parse_filter(pairs)
    if found.min_score is not None and not scored(wanted.topic):
        raise BadRequest(
            f"min_score needs a topic that states an interest; {wanted.topic.slug} states none"
            " (interest in the topics file)"
        )
    return replace(wanted, filter=found) if found.active else wanted


def week_request(wanted: FeedRequest, week: str, pairs: list[tuple[str, str]]) -> FeedRequest:
    """A week's archive: one whole document, not paged, filtered or a digest."""
    if wanted.daily or wanted.page != 1 or parse_filter(pairs).active:
        raise BadRequest("a week's archive is the plain feed's: no page, filter or digest")
    return replace(wanted, week=week_named(wanted.topic, week, datetime.now(UTC)))


def query_pairs(query: str) -> list[tuple[str, str]] | None:
    """Every (name, value) of the query as Flask reads it; None when its bytes are not UTF-8."""
    try:
        text = query.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    return parse_qsl(text, keep_blank_values=True)


def _cached_route(path: str) -> bool:
    return path.startswith((FEEDS, TOPICS)) or path in ("/", "/opml")


def query_arg(query: str, name: str, default: str) -> str | None:
    """The first value of `name`, read as Flask reads it (blank values kept); `default` if
    none. None when Flask would refuse the query: its bytes (a WSGI string holds them as
    latin-1) are not UTF-8.
    """
    pairs = query_pairs(query) if query else []
    return None if pairs is None else first_value(pairs, name, default)


def first_value(pairs: Sequence[tuple[str, str]], name: str, default: str) -> str:
    return next((value for field, value in pairs if field == name), default)


def parsed_entry_size(key: tuple[str, str, str], wanted: CacheKey) -> int:
    return sum(sys.getsizeof(part) for part in key) + PARSED_ENTRY_OVERHEAD


def cached_reply(entry: Rendered, environ: Mapping[str, Any], max_age: int) -> Reply:
    """A handler's Reply of a cached rendering, the same answer the fast path gives."""
    status, headers, body = feed_reply(entry, environ, cache_control_value(max_age))
    content_type = dict(headers).get("Content-Type")  # none on a 304
    own_headers = tuple((k, v) for k, v in headers if k not in _BODY_HEADERS)
    return Reply(body, content_type, int(status.split(" ", 1)[0]), own_headers)


# A Reply carries these as its content_type and its body's length, not as headers.
_BODY_HEADERS = ("Content-Type", "Content-Length")


def feed_reply(
    entry: Rendered, environ: Mapping[str, Any], cache_control: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status, headers and body for a cached feed: gzip when accepted, 304 when current.

    Both the fast path and the Flask view answer with this, so their answers cannot drift.
    The headers are made once per rendering and encoding (Rendered.headers).
    """
    gzip_ok = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
    etag, not_modified_headers, ok_headers = entry.headers(gzip_ok, cache_control)
    if not_modified(environ, etag, entry.last_modified):
        return "304 NOT MODIFIED", list(not_modified_headers), b""
    return "200 OK", list(ok_headers), entry.gzip_body if gzip_ok else entry.body


STALE_IF_ERROR_SECONDS = 86400  # a shared cache may serve a day-old copy while we are down


def cache_control_value(max_age: int) -> str:
    """For readers and for shared caches (a CDN, nginx): fresh for `max_age`, then served
    stale while one request revalidates, and for a day while the service fails."""
    if max_age <= 0:
        return "public, max-age=0"
    return (
        f"public, max-age={max_age}, s-maxage={max_age}, "
        f"stale-while-revalidate={max_age}, stale-if-error={STALE_IF_ERROR_SECONDS}"
    )


def not_modified(environ: Mapping[str, Any], etag: str, last_modified: datetime) -> bool:
    """RFC 9110 13.1: If-None-Match (weak comparison) wins over If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match == etag:  # what nearly every reader sends back
        return True
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and last_modified.replace(microsecond=0) <= since
    return False
