"""A full-text topic's entries: the method, the results and the limitations the model read
in the paper's sections, in every language; a paper without an HTML view says that its
summary comes from the abstract."""

from __future__ import annotations

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.config import Settings
from feedsvc.models import Enrichment
from feedsvc.store import Store
from tests.web.test_web import offline_app, paper, publish


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    app: Flask = offline_app(settings, store)
    read, unread = paper(1), paper(2)
    publish(store, settings, [read, unread])
    for language in ("en", "zh"):
        store.enrichments.save_enrichment(read.id, Enrichment(
            language, "llm", "Summary.", ("One.",), 1, read.source_hash, model="m",
            full_text="sections", approach="It tests things twice.",
            results="Testing works well: it is fast.", limitations="It is not cheap yet.",
        ))  # fmt: skip
        store.enrichments.save_enrichment(unread.id, Enrichment(
            language, "llm", "Summary.", ("One.",), 1, unread.source_hash, model="m",
            full_text="abstract",
        ))  # fmt: skip
    return app.test_client()


def contents(client: FlaskClient, path: str) -> dict[str, str]:
    feed = feedparser.parse(client.get(path).data)
    assert not feed.bozo
    return {entry.link: entry.content[0].value for entry in feed.entries}


def test_entries_show_the_method_results_and_limitations(client: FlaskClient) -> None:
    found = contents(client, "/feeds/testing.en.atom")
    read = found[paper(1).abs_url]
    assert "<h3>Method</h3>" in read and "It tests things twice." in read
    assert "<h3>Results</h3>" in read and "<h3>Limitations</h3>" in read
    assert "arXiv has no HTML view" in found[paper(2).abs_url]
    assert "Method" not in found[paper(2).abs_url]
    chinese = contents(client, "/feeds/testing.atom")[paper(1).abs_url]
    assert "方法" in chinese and "局限" in chinese
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert "It is not cheap yet." in page and "arXiv has no HTML view" in page


def test_filters_search_what_was_read(client: FlaskClient) -> None:
    found = contents(client, "/feeds/testing.en.atom?include=twice")
    assert list(found) == [paper(1).abs_url]
