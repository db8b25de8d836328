"""Scores in feeds and pages: shown with their reason, filtered with ?min_score=, the digest
ordered by them; a score made for an earlier interest is neither shown nor counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.config import Settings, Topic, load_topics
from feedsvc.models import Enrichment, Relevance
from feedsvc.store import Store
from tests.conftest import TOPICS_TOML
from tests.web.test_web import offline_app, paper
from worker.enrich import ExtractiveEnricher
from worker.enrich.prompt import Interest

INTEREST = "Contrastive pre-training for medical image segmentation"
RECENT = datetime.now(UTC) - timedelta(hours=30)
# (title, score, reason): None scores the paper for an earlier wording of the interest
PAPERS = [
    ("Graph networks", 2, "Not relevant: graphs, no images."),
    ("Contrastive medical segmentation", 9, "Relevant: contrastive pre-training for organs."),
    ("Medical image survey", 5, "Partly: surveys segmentation, no new method."),
    ("Contrastive audio", None, "An old reason."),
    ("Unrelated weather forecasting", 0, "Not relevant: weather, no images."),
]


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.toml"
    interest = f'interest = "{INTEREST}"\n'
    path.write_text(TOPICS_TOML.replace("max_results = 10\n", f"max_results = 10\n{interest}", 1))
    return path


def topics(settings: Settings) -> dict[str, Topic]:
    return {topic.slug: topic for topic in load_topics(settings.topics_file)}


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    app: Flask = offline_app(settings, store)
    topic = topics(settings)["testing"]
    stored = [paper(n, title=title, updated=RECENT + timedelta(minutes=n))
              for n, (title, *_) in enumerate(PAPERS, 1)]  # fmt: skip
    store.papers.save_papers(topic, stored)
    for p, (_, score, reason) in zip(stored, PAPERS, strict=True):
        key = topic.interest_key if score is not None else "earlier"
        relevance = (Relevance("testing", 8 if score is None else score, reason, key),)
        for language in topic.languages:
            done = Enrichment(language, "llm", f"Summary of {p.title}.", ("One.",), 1,
                              p.source_hash, model="m", relevance=relevance)  # fmt: skip
            store.enrichments.save_enrichment(p.id, done)
    store.topics.record_fetch_success("testing", RECENT)
    return app.test_client()


def titles(client: FlaskClient, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.data
    if ".json" in path:
        return [item["title"] for item in response.get_json()["items"]]
    feed = feedparser.parse(response.data)
    assert not feed.bozo
    return [entry.title for entry in feed.entries]


def test_an_entry_shows_its_score_and_reason(client: FlaskClient) -> None:
    feed = feedparser.parse(client.get("/feeds/testing.en.atom").data)
    content = {entry.title: entry.content[0].value for entry in feed.entries}
    shown = content["Contrastive medical segmentation"]
    assert "Relevance:" in shown and "9/10" in shown
    assert "contrastive pre-training for organs" in shown
    assert "old reason" not in content["Contrastive audio"], "scored for an earlier interest"
    assert "8/10" not in content["Contrastive audio"]
    chinese = client.get("/feeds/testing.atom").get_data(as_text=True)
    assert "相关度：" in chinese


@pytest.mark.parametrize("feed", ["testing.en.atom", "testing.rss", "testing.en.json"])
@pytest.mark.parametrize("least", [0, 5, 9, 10])
def test_min_score_keeps_exactly_the_papers_scored_at_least_that(
    client: FlaskClient, feed: str, least: int
) -> None:
    expected = [t for t, score, _ in reversed(PAPERS) if score is not None and score >= least]
    assert titles(client, f"/feeds/{feed}?min_score={least}") == expected


@pytest.mark.parametrize(
    ("path", "text"),
    [("/feeds/testing.atom?min_score=11", b"from 0 to 10"),
     ("/feeds/testing.atom?min_score=high", b"from 0 to 10"),
     ("/feeds/also.atom?min_score=3", b"states an interest")],
)  # fmt: skip
def test_a_bad_min_score_is_a_400_that_says_why(
    client: FlaskClient, path: str, text: bytes
) -> None:
    response = client.get(path)
    assert response.status_code == 400 and text in response.data


def test_the_digest_lists_the_days_papers_by_score(client: FlaskClient) -> None:
    digest = client.get("/feeds/testing.en.daily.atom").get_data(as_text=True)
    order = [digest.index(title) for title in
             ("Contrastive medical segmentation", "Medical image survey", "Graph networks",
              "Unrelated weather forecasting", "Contrastive audio")]  # fmt: skip
    assert order == sorted(order), "highest score first, the unscored last"
    assert "9/10" in digest


def test_the_topic_page_shows_scores_the_interest_and_a_min_score_field(
    client: FlaskClient,
) -> None:
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert INTEREST in page and 'name="min_score"' in page
    assert '<strong>9/10</strong> — <span dir="auto">Relevant: contrastive' in page
    assert 'name="min_score"' not in client.get("/topics/also").get_data(as_text=True)


def test_the_feed_of_every_topic_names_the_topic_of_each_score(client: FlaskClient) -> None:
    every = client.get("/feeds/all.atom?min_score=9").get_data(as_text=True)
    assert "9/10" in every and "(Software testing)" in every
    assert titles(client, "/feeds/all.atom?min_score=9") == ["Contrastive medical segmentation"]


def test_an_offline_score_says_how_it_was_made(
    settings: Settings, store: Store, client: FlaskClient
) -> None:
    topic = topics(settings)["testing"]
    offline = paper(9, title="Segmenting medical scans", updated=RECENT + timedelta(hours=1))
    store.papers.save_papers(topic, [offline])
    interest = Interest("testing", topic.interest, topic.interest_key)
    for language in topic.languages:
        enrichment = ExtractiveEnricher().enrich(offline, language, [interest])
        store.enrichments.save_enrichment(offline.id, enrichment)
    feed = feedparser.parse(client.get("/feeds/testing.en.atom").data)
    english = feed.entries[0].content[0].value
    assert "scored offline by the words it shares with the topic's interest" in english
    assert "medical, segmentation (2 of 5)" in english
    chinese = client.get("/feeds/testing.atom").get_data(as_text=True)
    assert "离线评分" in chinese
