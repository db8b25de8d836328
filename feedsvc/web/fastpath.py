"""The common request, answered before Flask: a feed this process has already rendered.

Readers poll every 15 to 60 minutes, mostly for nothing new. When the requested variant
is in this process's memory at the feed's current version, this WSGI middleware answers
200 or 304 from the cached bytes and preformatted headers, and 503 when Redis fails on
the version check; anything else (a miss, a bad name or page, another route) goes to the
Flask app unchanged.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from feedsvc.config import Topic
from feedsvc.errors import FeedsvcError, StoreError
from feedsvc.web.bounded import BoundedLru
from feedsvc.web.cache import FeedCache, Rendered
from feedsvc.web.feedpath import FeedRequest, parse_feed_request
from feedsvc.web.replies import Reply, protective_headers, storage_unavailable

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PREFIX = "/feeds/"
PARSED_ENTRIES = 4096
PARSED_BYTES = 1 << 20
PARSED_ENTRY_OVERHEAD = 512  # the key tuple, the FeedRequest and the map's own node
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
        self.parsed: BoundedLru[tuple[str, str], FeedRequest] = BoundedLru(
            PARSED_ENTRIES, PARSED_BYTES, parsed_entry_size
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method in ("GET", "HEAD") and path.startswith(PREFIX):
            wanted = self._parse(path[len(PREFIX) :], environ.get("QUERY_STRING", ""))
            try:
                entry = self._current(wanted) if wanted else None
            except StoreError as exc:
                # Answered here: Flask would ask Redis again and wait out a second timeout.
                log.warning("redis unavailable: %s", exc)
                return answer_reply(storage_unavailable(), start_response, method == "HEAD")
            if entry is not None:
                return self._respond(entry, environ, start_response, method == "HEAD")
        return self.app(environ, start_response)

    def _current(self, wanted: FeedRequest) -> Rendered | None:
        return self.cache.current(wanted.topic.slug, wanted.language, wanted.variant)

    def _parse(self, name: str, query: str) -> FeedRequest | None:
        """The feed asked for, remembered by name and page; None (Flask answers) if none."""
        page = page_of(query)
        if page is None:
            return None
        key = (name, page)
        wanted = self.parsed.get(key)
        if wanted is None:
            try:
                wanted = parse_feed_request(*key, self.topics)
            except FeedsvcError:
                return None
            self.parsed.put(key, wanted)
        return wanted

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


def page_of(query: str) -> str | None:
    """The first `page` value, read as Flask reads it (blank values kept); "1" if none.

    None when Flask would refuse the query: its bytes (a WSGI string holds them as latin-1)
    are not UTF-8.
    """
    if not query:
        return "1"  # nearly every reader's request
    try:
        text = query.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    for field, value in parse_qsl(text, keep_blank_values=True):
        if field == "page":
            return value
    return "1"


def parsed_entry_size(key: tuple[str, str], wanted: FeedRequest) -> int:
    return sys.getsizeof(key[0]) + sys.getsizeof(key[1]) + PARSED_ENTRY_OVERHEAD


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


def cache_control_value(max_age: int) -> str:
    return f"public, max-age={max_age}"


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
