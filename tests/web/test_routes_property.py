"""Any request a client can make (hypothesis): no 5xx, no traceback, small and quick answers,
and the fast path answers as Flask alone does."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client, TestResponse

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from tests.web.test_web import NASTY_TITLE, paper, publish

MAX_BODY_BYTES = 200_000
MAX_ERROR_BYTES = 2_000  # a 4xx text never echoes kilobytes of what was sent
MAX_SECONDS = 2.0

# Header values travel as latin-1 text; a line break cannot be sent in one.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
long_text = st.integers(1_000, 70_000).map(lambda n: "x" * n)
stems = st.one_of(
    st.sampled_from(["testing", "testing.en", "testing.zh", "also.ja", "testing.daily",
                     "testing.en.daily", "testing.fr", "nope", "", ".", "..", "%2e%2e", "%00",
                     "%ff%fe", "%C0%AF", "testing.en.daily.x", "ＴＥＳＴ", "testing\u202e"]),
    any_text, long_text,
)  # fmt: skip
formats = st.sampled_from(["atom", "rss", "json", "xml", "", "ATOM", "atom/", "json.gz"])
feed_paths = st.builds(lambda stem, fmt: f"/feeds/{stem}.{fmt}", stems, formats)
other_paths = st.one_of(
    st.sampled_from(["/", "/opml", "/healthz", "/readyz", "/metrics", "/static/icon.svg",
                     "/static/../app.py", "/feeds/", "/topics/", "//feeds/testing.atom",
                     "/feeds/testing.atom/", "/topics/testing/"]),
    st.builds(lambda stem: f"/topics/{stem}", stems),
    any_text.map(lambda text: "/" + text),
)  # fmt: skip
pages = st.one_of(
    st.sampled_from(["1", "2", "3", "0", "-1", "²", "２", "", "1" * 25, "%32", "2%00", "+2"]),
    any_text,
)  # fmt: skip
queries = st.one_of(
    st.just(""),
    pages.map(lambda page: f"page={page}"),
    st.builds(lambda page, junk: f"utm={junk}&page={page}&page=9", pages, long_text),
    st.sampled_from(["verbose=1", "verbose=true&verbose=0", "page", "%70age=2", "page=1;x"]),
    any_text,
)
everyday_headers = st.sampled_from([
    {}, {"If-None-Match": "*"}, {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"Accept-Encoding": "gzip, deflate"}, {"Accept-Encoding": "gzip", "If-None-Match": "*"},
])  # fmt: skip
odd_headers = st.fixed_dictionaries({}, optional={
    "If-None-Match": st.one_of(header_text, st.sampled_from(["*", 'W/"x"', '"a", W/"b"', ","])),
    "If-Modified-Since": st.one_of(header_text, st.sampled_from([
        "Sun, 06 Nov 1994 08:49:37 GMT", "Mon, 01 Jan 99999 00:00:00 GMT", "0", "-1",
        "Thu, 01 Jan 1970 00:00:00 +9999", "Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 06 Nov 1994",
    ])),
    "Accept-Encoding": st.one_of(header_text, st.sampled_from(["gzip", "gzip;q=0", "*", "br"])),
    "Authorization": header_text,
})  # fmt: skip
headers = st.one_of(everyday_headers, odd_headers)
methods = st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
                           "PATCH", "TRACE", "PROPFIND"])  # fmt: skip
raw_queries = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30)


def as_sent(method: str, path: str, query: str, raw_query: str, headers: Any) -> dict[str, Any]:
    """The request as a server hands it on: PATH_INFO percent-decoded and QUERY_STRING as
    sent, both bytes read as latin-1 (WSGI's rule); a raw query may hold bytes not UTF-8."""
    path_info = unquote_to_bytes(path.encode()).decode("latin-1")
    query_string = raw_query or query.encode().decode("latin-1")
    overrides = {"PATH_INFO": path_info, "QUERY_STRING": query_string}
    return {"method": method, "headers": headers, "environ_overrides": overrides}


real_paths = st.sampled_from([
    "/feeds/testing.atom", "/feeds/testing.en.rss", "/feeds/testing.json",
    "/feeds/testing.daily.atom", "/feeds/also.ja.json", "/topics/testing",
])  # fmt: skip
reads = st.sampled_from(["GET", "HEAD"])
# What readers send, so that 200s, 304s and gzip come up as often as the hostile rest ...
readers_requests = st.builds(
    as_sent, reads, real_paths,
    st.sampled_from(["", "page=1", "page=2", "page=2&utm_source=x", "page=3"]), st.just(""),
    everyday_headers,
)  # fmt: skip
# ... the same feeds asked oddly (where the fast path and Flask could disagree) ...
odd_requests = st.builds(as_sent, reads, real_paths, queries, raw_queries, headers)
# ... and anything at all.
hostile_requests = st.builds(
    as_sent, methods, st.one_of(feed_paths, other_paths), queries,
    st.one_of(st.just(""), st.just(""), raw_queries), headers,
)  # fmt: skip
requests = st.one_of(readers_requests, odd_requests, hostile_requests, hostile_requests)


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    offline = replace(settings, openai_base_url=None, openai_api_key=None, feed_size=4)
    publish(store, offline, [paper(n) for n in range(1, 7)] + [paper(7, title=NASTY_TITLE)])
    return create_app(offline, store)


@settings(
    max_examples=600, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)  # fmt: skip
@given(request=requests)
def test_no_request_breaks_the_service(app: Flask, request: dict[str, Any]) -> None:
    client = app.test_client()
    started = time.monotonic()
    response = client.open(**request)
    assert time.monotonic() - started < MAX_SECONDS
    assert_sound(response)
    path = request["environ_overrides"]["PATH_INFO"]
    if path.startswith("/feeds/") and request["method"] in ("GET", "HEAD"):
        beneath_fast_path = app.wsgi_app.app.app  # type: ignore[attr-defined]
        flask_alone = Client(beneath_fast_path, TestResponse)
        with flask_alone.open(**request) as alone:
            assert (alone.status_code, alone.data) == (response.status_code, response.data)
            assert alone.headers.get("ETag") == response.headers.get("ETag")


def assert_sound(response: TestResponse) -> None:
    body = response.get_data()
    response.close()
    assert response.status_code < 500, body[:500]
    assert b"Traceback" not in body and b"Internal Server Error" not in body
    assert len(body) <= MAX_BODY_BYTES
    if response.status_code >= 400:
        assert len(body) <= MAX_ERROR_BYTES, body[:200]


def test_the_property_reaches_every_kind_of_answer(app: Flask) -> None:
    """The strategies are not vacuous: feeds, 304s, 404s, 400s and 405s all come up."""
    statuses: set[int] = set()

    @settings(max_examples=150, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(request=requests)
    def collect(request: dict[str, Any]) -> None:
        with app.test_client().open(**request) as response:
            statuses.add(response.status_code)

    collect()
    assert {200, 304, 400, 404, 405} <= statuses, statuses
