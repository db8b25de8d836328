"""Every day after the first: a later fetch takes exactly what is new, never the backlog."""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import feedparser
import pytest
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.calendar import EASTERN, announcement_window
from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.conftest import Clock, settings_env
from tests.servers import (
    ATOM,
    ArxivReplay,
    FakeLLM,
    entry_id,
    fixture_entries,
    revise_entry,
    set_arxiv_field,
)
from worker.arxiv_source import ArxivSource
from worker.assembly import assemble
from worker.cli import main as worker_main
from worker.enrich import ExtractiveEnricher

BACKLOG = "arxivpy-golden__q_testing_s0_m100_cfe7536492ca.xml"  # 100 real entries
LANGUAGES = ("Simplified Chinese", "English", "Japanese")  # both topics together


def newest_first(entries: list[Any]) -> list[Any]:
    return sorted(entries, key=lambda e: e.find(f"{ATOM}updated").text, reverse=True)


def fresh_entry(entry: Any, paper_id: str, updated: str) -> Any:
    """A recorded entry as a paper arXiv announced today, under an id of its own."""
    fresh = copy.deepcopy(entry)
    fresh.find(f"{ATOM}id").text = f"http://arxiv.org/abs/{paper_id}v1"
    fresh.find(f"{ATOM}updated").text = updated
    for link in fresh.iterfind(f"{ATOM}link"):
        link.set("href", re.sub(r"(abs|pdf)/.*", rf"\1/{paper_id}v1", link.get("href")))
    return fresh


def run_once(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    return worker_main(["once"])


def etags(client: FlaskClient) -> dict[str, str]:
    paths = [f"/feeds/{feed}.atom" for feed in ("testing", "testing.en", "also", "also.ja")]
    return {path: client.get(path).headers["ETag"] for path in paths}


def test_day_two_takes_the_new_papers_and_a_quiet_day_changes_nothing(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert settings_env(settings) == settings.to_env()
    backlog = newest_first(fixture_entries(BACKLOG))
    arxiv_replay.listing = backlog
    assert run_once(settings, monkeypatch) == 0
    assert store.topics.paper_count("testing") == 10, "day one honours max_results"
    day_one = set(store.topics.paper_ids("testing"))

    llm.calls.clear()
    arxiv_replay.requests.clear()
    today = [fresh_entry(backlog[n], f"2611.{n:05d}", "2026-11-20T18:00:00Z") for n in (1, 2)]
    arxiv_replay.listing = today + backlog
    assert run_once(settings, monkeypatch) == 0
    new_ids = {entry_id(entry) for entry in today}
    assert set(store.topics.paper_ids("testing")) == day_one | new_ids, "no backlog paper"
    calls = Counter((c.arxiv_id, c.language) for c in llm.calls)
    assert set(calls) == {(i, language) for i in new_ids for language in LANGUAGES}
    assert set(calls.values()) == {1}, "one LLM call per new paper and language"
    assert [r.params["start"] for r in arxiv_replay.requests] == ["0", "0"]

    client = create_app(settings, store).test_client()
    before = etags(client)
    llm.calls.clear()
    arxiv_replay.requests.clear()
    assert run_once(settings, monkeypatch) == 0  # a quiet day: arXiv shows the same
    assert llm.calls == [] and len(arxiv_replay.requests) == 2, "one request per topic"
    for path, etag in before.items():
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304, path


def entry_html(client: FlaskClient, path: str, paper_id: str) -> str:
    feed = feedparser.parse(client.get(path).data)
    matching = [e for e in feed.entries if e.link == f"https://arxiv.org/abs/{paper_id}"]
    assert len(matching) == 1, (path, paper_id)
    return unescape(matching[0].content[0].value)


def test_an_update_says_what_changed_in_the_feeds_language(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A new version names what changed; a journal reference arriving later is shown."""
    backlog = newest_first(fixture_entries(BACKLOG))
    arxiv_replay.listing = backlog
    assert run_once(settings, monkeypatch) == 0
    llm.calls.clear()
    revised = revise_entry(backlog[2], "2026-11-20T18:00:00Z", abstract="A rewritten abstract.",
                           comment="Accepted at CVPR 2025. 8 pages")  # fmt: skip
    published = copy.deepcopy(backlog[0])  # the same version, now with a journal reference
    set_arxiv_field(published, "journal_ref", "J. Softw. Test. 12, 34 (2026)")
    set_arxiv_field(published, "doi", "10.1234/jst.2026.34")
    arxiv_replay.listing = [revised, published, backlog[1], *backlog[3:]]
    assert run_once(settings, monkeypatch) == 0

    calls = Counter(call.arxiv_id for call in llm.calls)
    assert calls == {entry_id(revised): 3}, "the new text once per language; metadata: none"
    client = create_app(settings, store).test_client()
    english = entry_html(client, "/feeds/testing.en.atom", entry_id(revised))
    assert "Updated to v2: abstract and comment changed; now accepted at CVPR 2025" in english
    chinese = entry_html(client, "/feeds/testing.atom", entry_id(revised))
    assert "已更新至 v2：摘要和备注有改动；最新：已被 CVPR 2025 接收" in chinese
    amended = entry_html(client, "/feeds/testing.en.atom", entry_id(published))
    assert '<p><em dir="auto">Journal reference and DOI added</em></p>' in amended, "venue kept"
    assert 'Journal reference:</strong> <span dir="auto">J. Softw. Test. 12, 34 (2026)' in amended
    assert 'href="https://doi.org/10.1234/jst.2026.34"' in amended
    assert "J. Softw. Test. 12, 34 (2026)" in entry_html(client, "/feeds/also.ja.atom",
                                                         entry_id(published))  # fmt: skip
    untouched = entry_html(client, "/feeds/testing.en.atom", entry_id(backlog[1]))
    assert "Updated" not in untouched and "added" not in untouched


def feed_ids(client: FlaskClient, path: str) -> list[str]:
    body = client.get(path).data
    if path.endswith(".json"):
        return [item["id"] for item in json.loads(body)["items"]]
    return [entry.id for entry in feedparser.parse(body).entries]


def test_one_papers_entries_in_two_languages_never_share_an_id(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """newsboat keys items by id across feeds: shared ids emptied all but one language."""
    arxiv_replay.listing = newest_first(fixture_entries(BACKLOG))
    assert run_once(settings, monkeypatch) == 0
    client = create_app(settings, store).test_client()
    for fmt in ("atom", "rss", "json"):
        zh, en = (
            feed_ids(client, f"/feeds/testing.{fmt}"),
            feed_ids(client, f"/feeds/testing.en.{fmt}"),
        )
        en_ja, ja = (
            feed_ids(client, f"/feeds/also.{fmt}"),
            feed_ids(client, f"/feeds/also.ja.{fmt}"),
        )
        assert len(zh) == len(en) == len(ja) == 10
        assert not set(zh) & set(en) and not set(ja) & set(en_ja), fmt
        assert set(en) == set(en_ja), "one paper in two topics: one id per language"
        assert all(i.startswith("https://arxiv.org/abs/") and "#" not in i for i in en), fmt
        assert {i.removesuffix("#zh") for i in zh} == set(en), "zh ids: the en id + '#zh'"


def test_a_restart_with_a_new_public_url_and_feed_size_shows_both_at_once(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendered feeds live in Redis for days: their version names what shaped them."""
    arxiv_replay.listing = newest_first(fixture_entries(BACKLOG))
    assert run_once(settings, monkeypatch) == 0
    before = feedparser.parse(
        create_app(settings, store).test_client().get("/feeds/testing.atom").data
    )
    assert before.feed.id == "http://feeds.test/feeds/testing.atom" and len(before.entries) == 10

    moved = replace(settings, public_url="https://arxiv-feeds.example.org", feed_size=4)
    client = create_app(moved, store).test_client()  # the same Redis, nothing new stored
    after = feedparser.parse(client.get("/feeds/testing.atom").data)
    assert after.feed.id == "https://arxiv-feeds.example.org/feeds/testing.atom"
    assert len(after.entries) == 4
    links = {link.rel: link.href for link in after.feed.links}
    assert links["next"] == "https://arxiv-feeds.example.org/feeds/testing.atom?page=2"
    second = feedparser.parse(client.get("/feeds/testing.atom?page=2").data)
    assert not {e.id for e in second.entries} & {e.id for e in after.entries}, "no overlap"
    unchanged = create_app(moved, store).test_client().get("/feeds/testing.atom")
    assert unchanged.headers["ETag"] == client.get("/feeds/testing.atom").headers["ETag"]


def run_workers(
    settings: Settings, store: Store, clock: Clock, gap_seconds: float, interval: float | None
) -> None:
    """Three workers started `gap_seconds` apart, as a deployment starts them, for a moment."""
    topics = [t for t in load_topics(settings.topics_file) if t.slug == "testing"]
    workers = [
        assemble(topics, store, ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0),
                 ExtractiveEnricher(), f"w{n}", clock)
        for n in range(3)
    ]  # fmt: skip
    threads = []
    for worker in workers:
        threads.append(threading.Thread(target=worker.scheduler.run_forever, args=(interval,)))
        threads[-1].start()
        time.sleep(gap_seconds)
    time.sleep(0.5)
    for worker, thread in zip(workers, threads, strict=True):
        worker.stop.set()
        thread.join(timeout=10)


def polls_of(arxiv_replay: ArxivReplay) -> list[str]:
    """The listing requests, without the completeness counts (a dated window query)."""
    queries = [r.params.get("search_query", "") for r in arxiv_replay.requests]
    return [q for q in queries if "lastUpdatedDate:[" not in q]


@pytest.mark.parametrize("gap_seconds", [0.3, 0.0])
def test_three_workers_poll_each_topic_once_per_interval(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock, gap_seconds: float
) -> None:
    arxiv_replay.listing = fixture_entries(BACKLOG)[:5]
    run_workers(settings, store, clock, gap_seconds, interval=3600)
    assert len(polls_of(arxiv_replay)) == 1, "one poll of the topic between three workers"
    assert store.topics.paper_count("testing") == 5


TUESDAY_EVENING = datetime(2026, 11, 24, 20, 31, tzinfo=EASTERN)


def test_three_workers_poll_once_after_an_announcement_and_not_again_that_evening(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock
) -> None:
    arxiv_replay.listing = fixture_entries(BACKLOG)[:5]
    clock.now = TUESDAY_EVENING - timedelta(hours=10)  # the topic's fetch that morning
    run_workers(settings, store, clock, 0.0, interval=None)
    assert len(polls_of(arxiv_replay)) == 1
    clock.now = TUESDAY_EVENING
    run_workers(settings, store, clock, 0.1, interval=None)
    assert len(polls_of(arxiv_replay)) == 2, "the announcement's poll, once"
    clock.now = TUESDAY_EVENING + timedelta(hours=2)
    run_workers(settings, store, clock, 0.1, interval=None)
    assert len(polls_of(arxiv_replay)) == 2, "nothing more until the next day's poll"


def window_entries(day_start: datetime, count: int) -> list[Any]:
    """`count` papers announced in a window, under ids of their own, an hour apart."""
    backlog = newest_first(fixture_entries(BACKLOG))
    return [
        fresh_entry(backlog[n], f"2611.{900 + n:05d}",
                    (day_start + timedelta(hours=n + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for n in range(count)
    ]  # fmt: skip


def test_completeness_is_measured_repaired_and_shown(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock
) -> None:
    """arXiv's API sometimes lists fewer papers than it has: the check counts a day's
    window, fetches it again when arXiv has more, and shows a gap that remains."""
    start, end = announcement_window(TUESDAY_EVENING.date())
    backlog = newest_first(fixture_entries(BACKLOG))[:5]
    arxiv_replay.listing = backlog
    clock.now = TUESDAY_EVENING - timedelta(days=1)
    run_workers(settings, store, clock, 0.0, interval=None)  # the topic's first fetch
    announced = window_entries(start.astimezone(UTC), 5)
    arxiv_replay.listing = announced + backlog
    arxiv_replay.hidden = {entry_id(e) for e in announced[:2]}  # pages that skip two papers
    arxiv_replay.uncounted = 1  # and one paper arXiv counts but never lists
    clock.now = TUESDAY_EVENING
    run_workers(settings, store, clock, 0.0, interval=None)
    assert store.topics.stored_between("testing", start, end) == 3
    clock.now = TUESDAY_EVENING + timedelta(hours=4)
    run_workers(settings, store, clock, 0.1, interval=None)

    assert store.topics.stored_between("testing", start, end) == 5, "the window fetched again"
    checked = store.topics.status("testing").completeness
    assert checked is not None and (checked.announced, checked.on_arxiv, checked.stored) == (
        TUESDAY_EVENING.date(), 6, 5)  # fmt: skip
    counts = [r for r in arxiv_replay.requests if r.params.get("max_results") == "1"]
    assert len(counts) == 1, "one count between three workers"
    client = create_app(settings, store).test_client()
    index = client.get("/").get_data(as_text=True)
    assert "arXiv announcement of 2026-11-24: 5 of the 6 papers" in index and "1 missing" in index
    ready = client.get("/readyz").get_data(as_text=True)
    assert "1 with a gap in the last announcement" in ready
    verbose = client.get("/readyz?verbose=1").get_data(as_text=True)
    assert "announcement 2026-11-24: 5 of 6 on arXiv, 1 MISSING" in verbose
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'feedsvc_topic_announcement_missing{topic="testing"} 1.0' in metrics
    assert 'feedsvc_topic_announcement_papers{source="arxiv",topic="testing"} 6.0' in metrics
