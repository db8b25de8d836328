"""A topic's `highlight` and `exclude` in the topics file: its feeds, digests and pages mark
the one and leave out the other; the feed of every topic leaves a paper out only when every
topic holding it does; a request's filter adds to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError
from feedsvc.store import Store
from tests.conftest import TOPICS_TOML
from tests.web.test_web import offline_app, paper, publish

RECENT = datetime.now(UTC) - timedelta(hours=30)
PAPERS = [
    paper(1, title="Contrastive learning for medical images", updated=RECENT),
    paper(2, title="A survey of contrastive methods", updated=RECENT),
    paper(3, title="Graph networks", updated=RECENT),
]


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.toml"
    defaults = 'highlight = ["medical", "graph networks"]\nexclude = ["survey"]\n'
    path.write_text(TOPICS_TOML.replace("max_results = 10\n", f"max_results = 10\n{defaults}", 1))
    return path


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    app: Flask = offline_app(settings, store)
    publish(store, settings, PAPERS)
    return app.test_client()


def titles(client: FlaskClient, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    feed = feedparser.parse(response.data)
    assert not feed.bozo
    return [entry.title for entry in feed.entries]


def test_a_topics_exclude_keeps_papers_out_of_its_feeds_and_pages(client: FlaskClient) -> None:
    for path in ("/feeds/testing.en.atom", "/feeds/testing.rss", "/feeds/testing.en.atom?page=1"):
        assert not [t for t in titles(client, path) if "survey" in t], path
    assert len(titles(client, "/feeds/testing.en.atom")) == 2
    digest = client.get("/feeds/testing.en.daily.atom").get_data(as_text=True)
    assert "Graph networks" in digest and "survey" not in digest
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert "Graph networks" in page and "A survey" not in page
    day = RECENT.date().isoformat()
    assert "A survey" not in client.get(f"/topics/testing.en?day={day}").get_data(as_text=True)


def test_a_topics_highlight_is_marked_in_feeds_digests_and_pages(client: FlaskClient) -> None:
    feed = client.get("/feeds/testing.en.atom").get_data(as_text=True)
    assert "&lt;mark&gt;&lt;b&gt;medical&lt;/b&gt;&lt;/mark&gt;" in feed
    assert "&lt;mark&gt;&lt;b&gt;Graph networks&lt;/b&gt;&lt;/mark&gt;" in feed
    digest = client.get("/feeds/testing.en.daily.atom").get_data(as_text=True)
    assert "&lt;mark&gt;&lt;b&gt;medical" in digest
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert "<mark><b>medical</b></mark>" in page
    other = client.get("/feeds/also.atom").get_data(as_text=True)
    assert "&lt;mark&gt;" not in other, "another topic's highlight is its own"


def test_a_request_filter_adds_to_the_topics(client: FlaskClient) -> None:
    assert titles(client, "/feeds/testing.en.atom?include=contrastive") == [PAPERS[0].title]
    marked = client.get("/feeds/testing.en.atom?include=graph").get_data(as_text=True)
    assert "&lt;mark&gt;&lt;b&gt;Graph networks" in marked


def test_every_topic_leaves_a_paper_out_only_when_each_topic_holding_it_does(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    assert not [t for t in titles(client, "/feeds/all.atom") if "survey" in t]
    also = next(t for t in load_topics(settings.topics_file) if t.slug == "also")
    store.papers.save_papers(also, [PAPERS[1]])
    assert [t for t in titles(client, "/feeds/all.atom") if "survey" in t]
    assert [t for t in titles(client, "/feeds/also.atom") if "survey" in t]


@pytest.mark.parametrize(
    ("line", "message"),
    [('highlight = "medical"', "must be a list"), ('exclude = [""]', "not a word or phrase"),
     ('exclude = ["a \\"quoted\\" word"]', "not a word or phrase"),
     ("highlight = [" + ", ".join(['"w"'] * 21) + "]", "at most 20"),
     ("interest = 3", "must be a sentence")],
)  # fmt: skip
def test_a_bad_default_stops_start_up_naming_it(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(TOPICS_TOML.replace("max_results = 10\n", f"max_results = 10\n{line}\n", 1))
    with pytest.raises(ConfigError, match=message) as raised:
        load_topics(path)
    assert "topic 'testing'" in str(raised.value)
