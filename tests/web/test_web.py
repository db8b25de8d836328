"""The Flask service: index, feeds, conditional GET, errors; every feed parsed back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.keys import Keys
from feedsvc.models import Paper
from feedsvc.store import Db, Store
from feedsvc.web.i18n import words_for
from worker.enrich import ExtractiveEnricher

NASTY_TITLE = "Attacks with <script>alert(1)</script> & \x00\x1b control ]]> chars 😀 שלום"


def paper(n: int, **changes: object) -> Paper:
    base = Paper(
        id=f"2411.{n:05d}",
        version=1,
        title=f"Paper {n}: $\\alpha$-testing",
        abstract="We test things. Testing works well. It is fast. It is cheap. Code soon.",
        authors=("Ada Lovelace", "Émile Borel"),
        published=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
        updated=datetime(2026, 11, 10, tzinfo=UTC) + timedelta(hours=n),
        categories=("cs.SE", "cs.LG"),
        comment="Accepted by AAAI-2025",
        venue="Accepted by AAAI-2025",
        pdf_url=f"https://arxiv.org/pdf/2411.{n:05d}v1",
        code_links=("https://github.com/org/repo",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def offline_app(settings: Settings, store: Store, **changes: object) -> Flask:
    """The app without a model (offline enrichment), with `changes` to its settings."""
    return create_app(
        replace(settings, openai_base_url=None, openai_api_key=None, **changes), store
    )


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return offline_app(settings, store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def publish(store: Store, settings: Settings, papers: list[Paper]) -> None:
    """Store papers in the 'testing' topic, enriched offline in each of its languages."""
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    store.papers.save_papers(topic, papers)
    for p in papers:
        for language in topic.languages:
            store.enrichments.save_enrichment(p.id, ExtractiveEnricher().enrich(p, language))
    store.topics.record_fetch_success("testing", datetime(2026, 11, 20, 9, 30, tzinfo=UTC))


def test_index_lists_topics_counts_and_feed_links(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1), paper(2)])
    page = client.get("/").get_data(as_text=True)
    assert "Software testing" in page and "all:testing" in page
    assert "2026-11-20 09:30" in page and "never" in page
    assert "2 papers" in page
    for href in ("/feeds/testing.atom", "/feeds/testing.en.atom", "/feeds/also.atom",
                 "/feeds/also.ja.atom"):  # fmt: skip
        assert f'href="{href}"' in page


def test_offline_feed_is_valid_labelled_and_escaped(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    publish(store, settings, [paper(1), paper(2, title=NASTY_TITLE), paper(3)])
    response = client.get("/feeds/testing.atom")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.id for e in feed.entries] == [
        "https://arxiv.org/abs/2411.00003#zh", "https://arxiv.org/abs/2411.00002#zh",
        "https://arxiv.org/abs/2411.00001#zh",
    ]  # fmt: skip
    nasty = feed.entries[1]
    assert nasty.title == "Attacks with <script>alert(1)</script> & control ]]> chars 😀 שלום"
    html = content_html(response.data)[1]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    content = unescape(nasty.content[0].value)
    zh = words_for("zh").gettext
    offline = zh("Offline extractive summary: sentences chosen from the abstract, no model used")
    no_translation = zh("Translation not available (offline summary, no model configured).")
    assert offline in content and no_translation in content and "Offline" not in offline
    assert "Accepted by AAAI-2025" in content and "https://github.com/org/repo" in content
    links = {(link.rel, link.get("type"), link.get("title")) for link in nasty.links}
    assert links == {
        ("alternate", "text/html", "arXiv"),
        ("related", "application/pdf", "PDF"),
        ("related", "text/html", zh("Code")),
    }


def content_html(atom: bytes) -> list[str]:
    """The HTML inside each entry's atom:content, as the service wrote it."""
    root = etree.fromstring(atom)
    return [c.text for c in root.iter("{http://www.w3.org/2005/Atom}content")]


def test_conditional_get(client: FlaskClient, store: Store, settings: Settings) -> None:
    publish(store, settings, [paper(1)])
    first = client.get("/feeds/testing.en.atom")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and last_modified.endswith("GMT")
    assert client.get("/feeds/testing.en.atom", headers={"If-None-Match": etag}).status_code == 304
    since = {"If-Modified-Since": last_modified}
    assert client.get("/feeds/testing.en.atom", headers=since).status_code == 304
    assert client.get("/feeds/testing.atom", headers={"If-None-Match": etag}).status_code == 200

    publish(store, settings, [paper(1, version=2, updated=datetime(2026, 11, 21, tzinfo=UTC))])
    changed = client.get("/feeds/testing.en.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_empty_feed_is_still_valid(client: FlaskClient) -> None:
    feed = feedparser.parse(client.get("/feeds/also.ja.atom").data)
    assert not feed.bozo and feed.entries == [] and feed.feed.language == "ja"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/feeds/nope.atom", "Unknown topic 'nope'. Known topics: also, testing."),
        ("/feeds/testing.fr.atom", "Topic 'testing' has no 'fr' feed. Its languages: zh, en."),
        ("/feeds/testing.zh.x.atom", "No feed named 'testing.zh.x.atom'. Known topics"),
        ("/feeds/testing.xml", "No feed named 'testing.xml'"),
        ("/topics/nope", "Unknown topic 'nope'"),
    ],
)
def test_unknown_topic_or_language_is_a_helpful_404(
    client: FlaskClient, path: str, text: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_redis_outage_is_a_503_with_retry_after(settings: Settings) -> None:
    dead = Store(Db.from_url("redis://127.0.0.1:9/0"), Keys(settings.redis_prefix))
    client = create_app(settings, dead).test_client()
    for path in ("/", "/feeds/testing.atom"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "unavailable" in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200
