"""`feedsvc-worker once` against replayed arXiv and LLM servers, then feeds through the app."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from html import unescape
from typing import Any

import feedparser
import pytest

from feedsvc.app import create_app
from feedsvc.config import Settings
from tests.conftest import settings_env
from tests.servers import (
    ArxivReplay,
    FakeLLM,
    entry_id,
    fixture_entries,
    revise_entry,
    topic_word,
)
from worker.cli import main as worker_main

ATOM = "{http://www.w3.org/2005/Atom}"
DAY1_FIXTURE = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
NEW_PAPER_FIXTURE = "arxivpy-golden__id_2104.12255v1_s0_m100_6ae69987ffe1.xml"
DAY2_TIME = "2026-11-20T18:00:00Z"


def updated_of(entry: Any) -> str:
    return str(entry.find(f"{ATOM}updated").text)


def day1_listing() -> list[Any]:
    return sorted(fixture_entries(DAY1_FIXTURE), key=updated_of, reverse=True)


def run_once(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    return worker_main(["once"])


def fetch_feed(settings: Settings, path: str) -> Any:
    client = create_app(settings).test_client()
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_day_one_fetches_stores_enriches_and_serves(
    settings: Settings, arxiv_replay: ArxivReplay, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = day1_listing()
    arxiv_replay.listing = listing

    assert run_once(settings, monkeypatch) == 0

    # Two topics share every paper: stored once, enriched once per language (zh, en, ja).
    calls = Counter((c.arxiv_id, c.language) for c in llm.calls)
    ids = [entry_id(e) for e in listing]
    expected = {(i, lang) for i in ids for lang in ("Simplified Chinese", "English", "Japanese")}
    assert set(calls) == expected
    assert set(calls.values()) == {1}
    english_formats = [c.response_format for c in llm.calls if c.language == "English"]
    assert all("title_translated" not in str(f) for f in english_formats)
    assert [r.params["sortBy"] for r in arxiv_replay.requests] == ["lastUpdatedDate"] * 2

    feed = fetch_feed(settings, "/feeds/testing.atom")
    assert feed.feed.id == "http://feeds.test/feeds/testing.atom"
    assert feed.feed.language == "zh"
    assert {link.rel: link.href for link in feed.feed.links}["self"] == feed.feed.id
    assert [e.id for e in feed.entries] == [f"https://arxiv.org/abs/{i}#zh" for i in ids]
    for entry, recorded in zip(feed.entries, listing, strict=True):
        check_entry(entry, recorded)


def check_entry(entry: Any, recorded: Any) -> None:
    """One feed entry against the recorded arXiv entry it was made from."""
    title = " ".join(recorded.find(f"{ATOM}title").text.split())
    abstract = " ".join(recorded.find(f"{ATOM}summary").text.split())
    paper_id = entry_id(recorded)
    word = topic_word(title)
    authors = [a.find(f"{ATOM}name").text for a in recorded.iterfind(f"{ATOM}author")]
    assert entry.title == f"译：{title}"
    assert parse_time(entry.published) == parse_time(recorded.find(f"{ATOM}published").text)
    assert [a.name for a in entry.authors] == authors
    arxiv_categories = {t.term for t in entry.tags if not t.get("scheme")}
    assert arxiv_categories == {c.get("term") for c in recorded.iterfind(f"{ATOM}category")}
    assert {t.term for t in entry.tags if t.get("scheme")} <= {"testing", "also"}, "topics"
    links = {(link.rel, link.get("type")): link.href for link in entry.links}
    assert links[("alternate", "text/html")] == f"https://arxiv.org/abs/{paper_id}"
    assert links[("related", "application/pdf")].startswith(f"https://arxiv.org/pdf/{paper_id}v")
    html = unescape(entry.content[0].value)
    summary = f"这篇论文研究了「{word}」相关的方法，并报告了实验结果。"
    assert entry.summary == summary and summary in html
    assert (
        html.count("<li>") == 4 and f"<li>要点四：论文围绕「{word}」提出了新的思路。</li>" in html
    )
    assert f"【译文】本文研究了「{word}」问题" in html
    assert abstract in html
    assert "test-model" in html and "机器生成" in html
    assert "possibly unfaithful" not in html


def test_day_two_shows_exactly_the_new_paper_and_the_new_versions(
    settings: Settings, arxiv_replay: ArxivReplay, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = day1_listing()
    arxiv_replay.listing = listing
    assert run_once(settings, monkeypatch) == 0
    day1 = fetch_feed(settings, "/feeds/testing.en.atom")
    day1_published = {e.id: e.published for e in day1.entries}
    llm.calls.clear()
    arxiv_replay.requests.clear()

    new = fixture_entries(NEW_PAPER_FIXTURE)[0]
    new.find(f"{ATOM}updated").text = DAY2_TIME
    changed = revise_entry(listing[4], "2026-11-20T17:00:00Z", abstract="A rewritten abstract.")
    same_text = revise_entry(listing[7], "2026-11-20T16:00:00Z")
    rest = [e for i, e in enumerate(listing) if i not in (4, 7)]
    arxiv_replay.listing = [new, changed, same_text, *rest]

    assert run_once(settings, monkeypatch) == 0

    # The new paper in three languages, the changed one again; the same text costs nothing.
    calls = Counter(c.arxiv_id for c in llm.calls)
    assert calls == {entry_id(new): 3, entry_id(changed): 3}
    # Each topic's page 1 reached papers older than its high-water mark: one request each.
    assert [r.params["start"] for r in arxiv_replay.requests] == ["0", "0"]

    feed = fetch_feed(settings, "/feeds/testing.en.atom")
    ids = [e.id for e in feed.entries]
    assert ids[:3] == [f"https://arxiv.org/abs/{entry_id(x)}" for x in (new, changed, same_text)]
    assert len(ids) == len(set(ids)) == 11
    by_id = {e.id: e for e in feed.entries}
    revised = by_id[f"https://arxiv.org/abs/{entry_id(changed)}"]
    assert revised.published == day1_published[revised.id]
    assert "A rewritten abstract." in unescape(revised.content[0].value)
    assert parse_time(revised.updated) >= datetime(2026, 11, 20, 17, tzinfo=UTC)
    kept = by_id[f"https://arxiv.org/abs/{entry_id(same_text)}"]
    assert parse_time(kept.updated) >= datetime(2026, 11, 20, 16, tzinfo=UTC)
    kept_version = entry_id_with_version(same_text)
    assert {link.rel: link.href for link in kept.links}["related"].endswith(kept_version)


def entry_id_with_version(entry: Any) -> str:
    return str(entry.find(f"{ATOM}id").text).rsplit("/", 1)[1]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
