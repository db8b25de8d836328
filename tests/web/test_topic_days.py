"""The topic page by announcement day, as the blog's pages were: a section and anchor per day,
a table of contents, a page per day with links to the days before and after that skip days
without papers, and the digest's links landing on them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.calendar import announcement_day
from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.web.test_web import paper, publish

# Updated times whose announcement days are Mon 2026-11-16, Wed 11-18 and Thu 11-19: the
# Tuesday announced nothing.
MONDAY = datetime(2026, 11, 13, 20, tzinfo=UTC)  # Friday afternoon Eastern: Monday's mailing
WEDNESDAY = datetime(2026, 11, 17, 20, tzinfo=UTC)
THURSDAY = datetime(2026, 11, 18, 20, tzinfo=UTC)


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    publish(store, settings, [
        paper(1, updated=MONDAY), paper(2, updated=WEDNESDAY), paper(3, updated=WEDNESDAY),
        paper(4, updated=THURSDAY, comment="12 pages; camera ready"),
    ])  # fmt: skip
    return app.test_client()


def page(client: FlaskClient, path: str) -> lxml.html.HtmlElement:
    response = client.get(path)
    assert response.status_code == 200, response.data
    return lxml.html.document_fromstring(response.data)


def test_the_days_are_as_arxiv_announced_them() -> None:
    assert [announcement_day(t).isoformat() for t in (MONDAY, WEDNESDAY, THURSDAY)] == [
        "2026-11-16", "2026-11-18", "2026-11-19",
    ]  # fmt: skip


def test_the_topic_page_has_a_section_anchor_and_contents_entry_per_day(
    client: FlaskClient,
) -> None:
    root = page(client, "/topics/testing.en")
    sections = root.xpath("//section[@class='day']")
    assert [s.get("id") for s in sections] == ["2026-11-19", "2026-11-18", "2026-11-16"]
    assert [len(s.xpath(".//article")) for s in sections] == [1, 2, 1]
    assert root.xpath("//nav[@class='toc']//a/@href") == [
        "#2026-11-19", "#2026-11-18", "#2026-11-16",
    ]  # fmt: skip
    assert "Thursday, November 19, 2026" in sections[0].text_content()


def test_a_day_page_links_the_days_around_it_skipping_quiet_days(client: FlaskClient) -> None:
    wednesday = page(client, "/topics/testing.en?day=2026-11-18")
    assert len(wednesday.xpath("//article")) == 2
    links = wednesday.xpath("(//nav[@class='pages'])[1]//a/@href")
    assert links == ["?day=2026-11-19", "/topics/testing.en", "?day=2026-11-16"]
    monday = page(client, "/topics/testing.en?day=2026-11-16")
    assert monday.xpath("(//nav[@class='pages'])[1]//a/@href") == [
        "?day=2026-11-18", "/topics/testing.en",
    ], "no older day"  # fmt: skip


@pytest.mark.parametrize(
    ("day", "status", "text"),
    [("2026-11-17", 404, b"was announced on 2026-11-17"), ("2026-11-21", 404, b"announced on"),
     ("2026-13-01", 400, b"day must be a date"), ("yesterday", 400, b"day must be a date")],
)  # fmt: skip
def test_a_day_without_papers_is_a_404_and_a_bad_one_a_400(
    client: FlaskClient, day: str, status: int, text: bytes
) -> None:
    response = client.get(f"/topics/testing.en?day={day}")
    assert response.status_code == status and text in response.data


def test_every_digest_link_lands_on_its_days_anchor(
    app: Flask, store: Store, settings: Settings
) -> None:
    now = datetime.now(UTC)
    recent = [now - timedelta(days=days) for days in (1, 4, 8)]  # the digest's last 14 days
    publish(store, settings, [paper(10 + n, updated=t) for n, t in enumerate(recent)])
    client = app.test_client()
    digest = feedparser.parse(client.get("/feeds/testing.en.daily.atom").data)
    assert len(digest.entries) == len({announcement_day(t) for t in recent}) >= 2
    for entry in digest.entries:
        path, _, anchor = entry.link.removeprefix("http://feeds.test").partition("#")
        assert page(client, path).get_element_by_id(anchor) is not None, entry.link
        assert entry.id.endswith(f"/topics/testing.en#{anchor}"), "ids never change"


def test_comment_venue_and_a_waiting_papers_abstract_show_without_a_click(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    store.papers.save_papers(topic, [paper(5, updated=THURSDAY, abstract="Waiting for words.")])
    app = create_app(replace(settings, openai_base_url=None, publish_grace_seconds=0), store)
    root = page(app.test_client(), "/topics/testing.en?day=2026-11-19")
    shown = " ".join(
        root.xpath("//article[not(ancestor::details)]//text()[not(ancestor::details)]")
    )
    assert "12 pages; camera ready" in shown and "Accepted by AAAI-2025" in shown
    assert "Waiting for words." in shown, "a pending paper shows its abstract"
