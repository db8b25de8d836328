"""Bad input from clients: page numbers in other scripts, huge numbers, floods of queries."""

from __future__ import annotations

import io
import os
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.config import Settings
from feedsvc.store import Store
from feedsvc.web.bounded import BoundedLru
from feedsvc.web.cache import Built, FeedCache
from feedsvc.web.fastpath import PARSED_BYTES, PARSED_ENTRIES
from tests.web.test_web import offline_app, paper, publish

PAGED = ("/feeds/testing.en.atom", "/feeds/testing.rss", "/feeds/testing.en.json",
         "/topics/testing", "/topics/testing.en")  # fmt: skip


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store, feed_size=2)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    publish(store, settings, [paper(n) for n in range(1, 6)])  # three pages
    return app.test_client()


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("page", ["²", "２", "٢", "𝟐", "2\n", " 2", "+2", "0x2"])
def test_a_page_is_ascii_digits_only(client: FlaskClient, path: str, page: str) -> None:
    assert client.get(f"{path}?page=2").status_code == 200  # page 2 is cached, fast path ready
    response = client.get(path, query_string={"page": page})
    assert response.status_code == 400, response.data
    text = response.get_data(as_text=True)
    assert text.startswith("Bad request: page must be a whole number from 1, in ASCII digits")


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("page", ["0", "000", "1000000000", "1" * 25, "9" * 5000])
def test_a_page_out_of_range_says_so(client: FlaskClient, path: str, page: str) -> None:
    response = client.get(path, query_string={"page": page})
    assert response.status_code == 400, response.data
    text = response.get_data(as_text=True)
    assert "page must be a whole number from 1 to 999999999" in text
    assert "is out of range" in text and len(text) < 200


@pytest.mark.parametrize("path", PAGED)
def test_leading_zeros_name_the_same_page(client: FlaskClient, path: str) -> None:
    assert client.get(f"{path}?page=002").data == client.get(f"{path}?page=2").data


def test_a_flood_of_long_query_strings_keeps_memory_flat(app: Flask, client: FlaskClient) -> None:
    assert client.get("/feeds/testing.atom").status_code == 200  # rendered: the fast path serves
    fast_path = app.wsgi_app.app  # type: ignore[attr-defined]  # inside RequestMetrics
    padding = "x" * 60_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1000):
            assert answer_status(fast_path, f"utm={n}&page=1&junk={padding}") == "200 OK"
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000_000, f"1,000 requests of 60 KB kept {grown:,} bytes"
    assert len(fast_path.parsed) == 1  # keyed on the feed and page, not the query string


def answer_status(wsgi: Any, query: str) -> str:
    """The status a WSGI app answers a GET of the default feed with this query string."""
    statuses: list[str] = []
    environ = {**BASE_ENVIRON, "PATH_INFO": "/feeds/testing.atom", "QUERY_STRING": query}
    b"".join(wsgi(environ, lambda status, headers, *_: statuses.append(status)))
    return statuses[0]


BASE_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET", "SERVER_NAME": "feeds.test", "SERVER_PORT": "80",
    "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
}  # fmt: skip


def test_the_fast_path_remembers_a_bounded_number_of_bytes(app: Flask) -> None:
    fast_path = app.wsgi_app.app  # type: ignore[attr-defined]
    long_name = "testing." + "x" * 3000 + ".atom"  # parses as no feed: not kept
    answer_status(fast_path, "")
    for page in range(1, 6000):  # valid names: each kept until the bounds push it out
        fast_path._parse("testing.atom", str(page))
    fast_path._parse(long_name, "1")
    assert len(fast_path.parsed) <= PARSED_ENTRIES and fast_path.parsed.bytes <= PARSED_BYTES


def test_bounded_lru_drops_the_least_recently_used_by_entries_and_by_bytes() -> None:
    lru: BoundedLru[str, bytes] = BoundedLru(3, 100, lambda key, value: len(value))
    for key in "abc":
        lru.put(key, b"x" * 10)
    assert lru.get("a") == b"x" * 10  # a is now the most recent
    lru.put("d", b"x" * 10)
    assert lru.get("b") is None and len(lru) == 3 and lru.bytes == 30
    lru.put("e", b"x" * 81)  # over 100 bytes with c, a and d: c goes, then a
    assert [lru.get(k) is not None for k in "acde"] == [False, False, True, True]
    assert lru.bytes == 91
    lru.put("huge", b"x" * 101)
    assert lru.get("huge") is None and lru.bytes == 91
    lru.put("d", b"x" * 5)
    assert lru.bytes == 86


def test_rendered_feeds_in_memory_are_bounded_by_bytes(store: Store) -> None:
    cache = FeedCache(store, max_entries=100, max_bytes=500_000)
    now = datetime.now(UTC)
    body = os.urandom(60_000)  # gzip cannot shrink it: about 120 KB an entry
    for page in range(1, 11):
        cache.get("testing", "zh", f"papers.atom.p{page}", lambda: Built(body, "x", now), now)
    assert cache.memory.bytes <= 500_000 and len(cache.memory) == 4
    assert cache.current("testing", "zh", "papers.atom.p10") is not None
    assert cache.current("testing", "zh", "papers.atom.p1") is None


@pytest.mark.parametrize("path", [*PAGED, "/readyz"])
@pytest.mark.parametrize("query", ["page=\xff", "page=1&x=\xc3(", "\x80"])
def test_a_query_that_is_not_utf8_is_a_400(client: FlaskClient, path: str, query: str) -> None:
    """Raw bytes a server hands on as they came (latin-1 in WSGI), not percent-escapes."""
    assert client.get(path).status_code == 200  # a feed is now in the fast path's memory
    response = client.get(path, environ_overrides={"QUERY_STRING": query})
    assert response.status_code == 400, response.data
    assert response.get_data(as_text=True) == "Bad request: the query string is not UTF-8.\n"


@pytest.mark.parametrize(
    "path", ["/feeds/" + "x" * 50_000 + ".atom", "/feeds/testing." + "x" * 50_000 + ".rss",
             "/topics/" + "x" * 50_000, "/topics/testing." + "x" * 50_000],
)  # fmt: skip
def test_a_404_does_not_echo_a_long_name(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and len(response.data) < 300, response.data[:300]
    assert "(50" in response.get_data(as_text=True)  # says how long it was
