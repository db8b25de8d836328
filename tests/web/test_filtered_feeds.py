"""Filtered feeds: ?include=, ?exclude=, ?author=, ?category= in every format, exactly what a
plain filter over the whole feed keeps, with <mark> that never breaks the markup, paging that
keeps the filter, a 400 that says what is wrong, and memory that a new filter per request
cannot grow."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import feedparser
import lxml.html
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.config import Settings
from feedsvc.models import Paper
from feedsvc.store import Store
from feedsvc.web.cache import FILTERED_ENTRIES
from feedsvc.web.fastpath import FILTERED_QUERIES
from tests.web.test_web import offline_app, paper, publish

PAPERS = [
    paper(1, title="Contrastive learning for medical image segmentation",
          authors=("Émile Borel", "Ada Lovelace"), categories=("cs.CV",)),
    paper(2, title="A survey of contrastive methods", categories=("cs.LG",)),
    paper(3, title="Retrieval-augmented generation &amp; <b>tags</b>",
          abstract="We mark href and strong words; amp too.", categories=("cs.CL",)),
    paper(4, title="Self-supervised medical imaging", authors=("Grace Hopper",),
          categories=("cs.CV", "eess.IV")),
    paper(5, title="Graph networks", abstract="Nothing contrastive here? Contrast-free.",
          categories=("cs.LG",)),
]  # fmt: skip
MARKED_TAGS = re.compile(r"</?mark>|</?b>")
FILTERS = [
    "include=contrastive",
    'include="medical image"',
    "include=contrast&exclude=survey",
    "author=emile",
    "author=HOPPER&category=eess.IV",
    "category=cs.LG",
    "include=medical&include=graph",
    "include=href",
]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def kept_by_hand(p: Paper, query: str) -> bool:
    """The filter read plainly: words at a word's start in the title or abstract."""
    text = " " + fold(f"{p.title} {p.abstract}").replace("-", " ").replace('"', " ")
    words = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        words.setdefault(name, []).append(value.strip('"').lower())
    include, exclude = words.get("include", []), words.get("exclude", [])
    return (
        (not include or any(f" {w}" in text for w in include))
        and not any(f" {w}" in text for w in exclude)
        and all(any(a in fold(n) for n in p.authors) for a in words.get("author", []))
        and all(c in [x.lower() for x in p.categories] for c in words.get("category", []))
    )


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store, feed_size=2)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    publish(store, settings, PAPERS)
    return app.test_client()


def entry_links(client: FlaskClient, path: str) -> list[str]:
    """Every entry's link over every page, following `next` (which must keep the filter)."""
    links: list[str] = []
    while path:
        response = client.get(path)
        assert response.status_code == 200, response.data
        if path.split("?")[0].endswith(".json"):
            body = response.get_json()
            links += [item["url"] for item in body["items"]]
            following = body.get("next_url", "")
        else:
            feed = feedparser.parse(response.data)
            assert not feed.bozo, feed.get("bozo_exception")
            links += [entry.link for entry in feed.entries]
            links_out = feed.feed.get("links", [])
            following = next((link.href for link in links_out if link.rel == "next"), "")
        path = following.removeprefix("http://feeds.test")
    return links


@pytest.mark.parametrize("query", FILTERS)
@pytest.mark.parametrize("feed", ["testing.en.atom", "testing.rss", "testing.en.json"])
def test_a_filtered_feed_keeps_exactly_what_a_plain_filter_keeps(
    client: FlaskClient, feed: str, query: str
) -> None:
    everything = entry_links(client, f"/feeds/{feed}")
    expected = [link for link in everything if kept_by_hand(by_link(link), query)]
    assert entry_links(client, f"/feeds/{feed}?{encoded(query)}") == expected


def by_link(link: str) -> Paper:
    return next(p for p in PAPERS if p.abs_url == link)


def encoded(query: str) -> str:
    return "&".join(f"{k}={quote(v)}" for k, _, v in (p.partition("=") for p in query.split("&")))


@pytest.mark.parametrize("term", ["contrastive", "href", "amp", "strong", "mark", "p", "dir"])
def test_highlights_never_break_the_markup(client: FlaskClient, term: str) -> None:
    response = client.get(f"/feeds/testing.en.atom?include={term}")
    assert not feedparser.parse(response.data).bozo
    contents = etree.fromstring(response.data).iter("{http://www.w3.org/2005/Atom}content")
    for content in contents:
        html = content.text or ""
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        plain = MARKED_TAGS.sub("", html)
        before = lxml.html.fragment_fromstring(plain, create_parent="div")
        assert root.text_content() == before.text_content(), "only <mark> was added"
        assert [a.get("href") for a in root.iter("a")] == [a.get("href") for a in before.iter("a")]
        if term == "contrastive":
            assert "<mark><b>" in html and "ontrastive</b></mark>" in html


def test_one_filter_however_spelled_is_rendered_once(app: Flask, client: FlaskClient) -> None:
    cache = app.extensions["feedsvc"].cache
    client.get("/feeds/testing.en.atom?include=Contrastive+medical")
    rendered = cache.hits["render"]
    for spelling in ("include=medical%20contrastive", "include=medical&include=CONTRASTIVE",
                     "include=m%C3%A9dical+contrastive+medical"):  # fmt: skip
        assert client.get(f"/feeds/testing.en.atom?{spelling}").status_code == 200
    assert cache.hits["render"] == rendered


def test_new_filters_cannot_grow_memory_or_redis(
    app: Flask, client: FlaskClient, redis_client: redis.Redis, prefix: str
) -> None:
    cache = app.extensions["feedsvc"].cache
    client.get("/feeds/testing.en.atom")
    plain = len(cache.memory)
    for n in range(FILTERED_ENTRIES + 60):
        assert client.get(f"/feeds/testing.en.atom?include=word{n}").status_code == 200
    assert len(cache.filtered) == FILTERED_ENTRIES and len(cache.memory) == plain
    assert not [k for k in redis_client.scan_iter(f"{prefix}:*rendered*") if ".f" in k]
    fast_path = app.wsgi_app.app  # type: ignore[attr-defined]
    assert len(fast_path.parsed) <= 1, "filtered requests are remembered apart"
    assert len(fast_path.filtered) <= FILTERED_QUERIES


@pytest.mark.parametrize(
    ("query", "text"),
    [('include="open', b"unclosed quote"), ('include=""', b"needs a word"),
     ("category=cs%20vision!", b"arXiv category"), ("include=" + "+w" * 21, b"at most 20 terms")],
)  # fmt: skip
def test_a_malformed_filter_is_a_400_that_says_what_is_wrong(
    client: FlaskClient, query: str, text: bytes
) -> None:
    response = client.get(f"/feeds/testing.atom?{query}")
    assert response.status_code == 400 and text in response.data


def test_the_daily_digest_and_the_feed_of_every_topic_take_filters(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    recent = datetime.now(UTC) - timedelta(days=1)
    publish(store, settings, [paper(8, title="Medical today", updated=recent),
                              paper(9, title="Graphs today", updated=recent)])  # fmt: skip
    digest = client.get("/feeds/testing.en.daily.atom?include=medical")
    assert digest.status_code == 200 and b"&lt;mark&gt;&lt;b&gt;Medical" in digest.data
    assert b"Graphs today" not in digest.data
    assert b"&lt;mark&gt;&lt;b&gt;Medical&lt;/b&gt;&lt;/mark&gt; today" in digest.data
    every = entry_links(client, "/feeds/all.atom?author=hopper")
    assert every == [PAPERS[3].abs_url]
