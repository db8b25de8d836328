"""The daily digest from per-day pieces: a change re-renders its own day, and the result is
what a digest rendered from nothing shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.models import Enrichment
from feedsvc.store import Store
from feedsvc.web.services import Services
from tests.web.test_serving import parsed
from tests.web.test_web import paper, publish

NOW = datetime.now(UTC)
MONDAY = (NOW - timedelta(days=NOW.weekday() + 7)).replace(hour=15, minute=0)  # 10:00 Eastern
PAPERS = [paper(n, updated=MONDAY + timedelta(days=n // 2, minutes=n)) for n in range(6)]


def offline_app(settings: Settings, store: Store) -> Flask:
    return create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)


def services(app: Flask) -> Services:
    value: Services = app.extensions["feedsvc"]
    return value


def digest_entries(app: Flask) -> list[tuple[str, str, str]]:
    feed = parsed(app.test_client(), "/feeds/testing.en.daily.atom")
    return [(e.id, e.title, e.content[0].value) for e in feed.entries]


def from_nothing(settings: Settings, store: Store) -> list[tuple[str, str, str]]:
    """The digest as a process that never rendered it, with nothing rendered in Redis."""
    rendered = store.db.scan(f"{store.keys.prefix}:feed:*:rendered:*")
    if rendered:
        store.db.client.delete(*rendered)
    return digest_entries(offline_app(settings, store))


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    publish(store, settings, PAPERS)
    return offline_app(settings, store)


def test_an_enrichment_re_renders_its_day_alone(
    app: Flask, settings: Settings, store: Store
) -> None:
    before = digest_entries(app)
    assert len(before) == 3 and services(app).digest.rendered == 3  # Mon, Tue, Wed
    tuesday = PAPERS[2]
    better = Enrichment("en", "llm", "A summary by a model.", ("One.", "Two.", "Three."),
                        1, tuesday.source_hash, model="m", prompt_version="p")  # fmt: skip
    store.enrichments.save_enrichment(tuesday.id, better)
    after = digest_entries(app)
    assert services(app).digest.rendered == 4, "only Tuesday was read and rendered again"
    assert "A summary by a model." in after[1][2] and after[0] == before[0]
    assert after[2] == before[2]
    assert after == from_nothing(settings, store)


def test_metadata_arriving_later_re_renders_its_day(
    app: Flask, settings: Settings, store: Store
) -> None:
    digest_entries(app)
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    monday = replace(PAPERS[0], comment="", journal_ref="J. Test. 3 (2026)",
                     venue="Published in J. Test. 3 (2026)")  # fmt: skip
    saved = store.papers.save_papers(topic, [monday])
    assert saved.amended == [monday.id]
    after = digest_entries(app)
    assert services(app).digest.rendered == 4
    assert "Published in J. Test. 3 (2026)" in after[2][2]
    assert after == from_nothing(settings, store)


def test_a_new_paper_joins_its_day(app: Flask, settings: Settings, store: Store) -> None:
    digest_entries(app)
    late = paper(9, updated=MONDAY + timedelta(days=2, minutes=30))
    publish(store, settings, [late])
    after: list[Any] = digest_entries(app)
    assert services(app).digest.rendered == 4 and after[0][1].endswith("· 3 papers")
    assert after == from_nothing(settings, store)
