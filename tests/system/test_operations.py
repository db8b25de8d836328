"""Operations: readiness, metrics, staleness, JSON logs without secrets, backfill, progress."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.keys import Keys
from feedsvc.store import Db, Store
from tests.conftest import Clock, settings_env
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from tests.web.test_web import paper, publish
from worker.arxiv_source import ArxivSource
from worker.assembly import assemble
from worker.enrich import ExtractiveEnricher
from worker.progress import Progress

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    offline = replace(settings, openai_base_url=None, openai_api_key=None)
    return create_app(offline, store).test_client()


def test_readyz_checks_redis_and_explains_each_topic(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    assert client.get("/readyz").get_data(as_text=True) == "ready: redis ok, 2 topics\n"
    publish(store, settings, [paper(1)])  # 'testing' fetched at 2026-11-20 09:30
    store.topics.record_fetch_error("also", "cannot connect to export.arxiv.org", datetime.now(UTC))
    lines = client.get("/readyz?verbose=1").get_data(as_text=True).splitlines()
    assert lines[1].startswith("topic testing: STALE, 1 papers, last fetch 2026-11-20T09:30:00Z")
    assert lines[2].startswith("topic also: STALE, 0 papers, last fetch never, last error "
                               "cannot connect to export.arxiv.org at ")  # fmt: skip
    store.topics.record_fetch_success("testing", datetime.now(UTC))
    assert "topic testing: fresh" in client.get("/readyz?verbose=1").get_data(as_text=True)


def test_readyz_is_503_without_redis_while_healthz_stays_up(settings: Settings) -> None:
    dead = Store(Db.from_url("redis://127.0.0.1:9/0"), Keys(settings.redis_prefix))
    client = create_app(settings, dead).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def scrape(client: FlaskClient) -> dict[str, list[Any]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return {family.name: family.samples for family in families}


def value(samples: list[Any], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_metrics_cover_requests_cache_papers_queue_llm_and_arxiv(
    client: FlaskClient, store: Store, settings: Settings
) -> None:
    before = scrape(client)
    publish(store, settings, [paper(1), paper(2)])
    store.accounting.record_llm_call("gpt-4o-mini", 300, 120, "ok", datetime.now(UTC))
    store.accounting.count_arxiv_request(True)
    store.accounting.count_arxiv_request(False)
    store.queue.enqueue([("2411.00009", "zh")])
    etag = client.get("/feeds/testing.atom").headers["ETag"]
    client.get("/feeds/testing.atom", headers={"If-None-Match": etag})
    client.get("/feeds/nope.atom")
    after = scrape(client)

    def delta(family: str, sample: str, **labels: str) -> float:
        return value(after[family], sample, **labels) - value(before.get(family, []), sample,
                                                              **labels)  # fmt: skip

    requests = "feedsvc_http_requests_total"
    assert delta("feedsvc_http_requests", requests, route="feed", status="200") == 1
    assert delta("feedsvc_http_requests", requests, route="feed", status="304") == 1
    assert delta("feedsvc_http_requests", requests, route="feed", status="404") == 1
    assert delta("feedsvc_http_not_modified", "feedsvc_http_not_modified_total") == 1
    assert delta("feedsvc_feed_cache", "feedsvc_feed_cache_total", result="render") == 1
    assert delta("feedsvc_feed_cache", "feedsvc_feed_cache_total", result="memory") == 1
    assert delta("feedsvc_feed_render_seconds", "feedsvc_feed_render_seconds_count") == 1
    assert value(after["feedsvc_topic_papers"], "feedsvc_topic_papers", topic="testing") == 2
    last_fetch = value(after["feedsvc_topic_last_fetch_timestamp_seconds"],
                       "feedsvc_topic_last_fetch_timestamp_seconds", topic="testing")  # fmt: skip
    assert last_fetch == datetime(2026, 11, 20, 9, 30, tzinfo=UTC).timestamp()
    assert value(after["feedsvc_topic_stale"], "feedsvc_topic_stale", topic="also") == 1
    queued = store.queue.queue_length()  # publish() queued 4, enqueue() one more
    assert value(after["feedsvc_enrich_queue_depth"], "feedsvc_enrich_queue_depth") == queued == 5
    assert value(after["feedsvc_enrich_pending"], "feedsvc_enrich_pending") == 5
    assert value(after["feedsvc_llm_calls"], "feedsvc_llm_calls_total", model="gpt-4o-mini") == 1
    assert value(after["feedsvc_llm_tokens"], "feedsvc_llm_tokens_total", direction="out") == 120
    assert value(after["feedsvc_arxiv_requests"], "feedsvc_arxiv_requests_total",
                 result="error") == 1  # fmt: skip


def test_index_flags_stale_topics(client: FlaskClient, store: Store, settings: Settings) -> None:
    publish(store, settings, [paper(1)])
    page = client.get("/").get_data(as_text=True)
    assert "Stale: no successful fetch since 2026-11-20 09:30 UTC." in page
    assert "Stale: no successful fetch yet." in page


def run_worker(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "OPENAI"))}
    environment.update(settings_env(settings), **env)
    return subprocess.run([sys.executable, "-m", "worker", *args], env=environment,
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_json_logs_carry_ids_and_no_secrets(
    settings: Settings, arxiv_replay: ArxivReplay, llm: FakeLLM
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)
    llm.script = ["500"]
    secret = "sk-test-do-not-log-0123456789"
    done = run_worker(settings, "once", FEEDSVC_LOG_FORMAT="json", OPENAI_API_KEY=secret)
    assert done.returncode == 0, "the one failure is safely scheduled: nothing to alarm"
    assert "1 enrichments failed and are scheduled to be tried again" in done.stdout
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line.get("topic") == "testing" for line in lines)
    failed = next(line for line in lines if "enrichment failed" in line["message"])
    call = next(c for c in llm.calls if c.outcome == "500")  # calls run 8 at a time
    language = {"Simplified Chinese": "zh", "English": "en", "Japanese": "ja"}[call.language]
    assert (failed["paper"], failed["language"], failed["attempt"]) == (call.arxiv_id, language, 1)
    assert failed["level"] == "WARNING"
    assert secret not in done.stdout + done.stderr


def test_a_redis_password_never_shows(settings: Settings) -> None:
    done = run_worker(settings, "once", REDIS_URL="redis://:hunter2@127.0.0.1:9/0")
    assert done.returncode == 1
    assert "hunter2" not in done.stdout + done.stderr
    assert "redis://:***@127.0.0.1:9/0" in done.stderr


def test_a_first_fetch_reports_progress_when_not_a_terminal(
    settings: Settings, arxiv_replay: ArxivReplay
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)
    done = run_worker(settings, "once", OPENAI_BASE_URL="", OPENAI_API_KEY="")
    assert "first fetch of testing: 10/10 papers" in done.stderr


def day_listing(params: dict[str, str], days_with_papers: dict[str, list[Any]]) -> bytes:
    """A recorded page holding the entries of the day the query's submittedDate asks for."""
    query = params["search_query"]
    day = query.split("submittedDate:[", 1)[1][:8]
    replay = ArxivReplay(listing=days_with_papers.get(day, []))
    return replay.page(int(params["start"]), int(params["max_results"]))


def test_backfill_fetches_day_by_day_and_resumes(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock
) -> None:
    entries = fixture_entries(LISTING)
    today = clock.now.date()
    days = {f"{today - timedelta(days=n):%Y%m%d}": entries[3 * n : 3 * n + 3] for n in range(3)}
    answers: list[int] = []

    def respond(params: dict[str, str]) -> tuple[int, bytes]:
        answers.append(1)
        if len(answers) == 3:
            return 503, b"busy"
        return 200, day_listing(params, days)

    arxiv_replay.respond = respond  # type: ignore[method-assign]
    topic = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    runner = assemble([topic], store, source, ExtractiveEnricher(), "c", clock)

    report = runner.fetcher.backfill(topic, days=4)
    assert report.new == 6 and "HTTP 503" in report.failures[0]
    assert store.topics.backfilled_days("testing") == {str(today), str(today - timedelta(days=1))}

    report = runner.fetcher.backfill(topic, days=4)
    assert not report.failures and report.new == 3
    assert len(answers) == 5, "the two finished days were not fetched again"
    assert store.topics.paper_count("testing") == 9
    assert (
        store.enrichments.load_enrichment(store.topics.paper_ids("testing")[-1], "zh") is not None
    )


def test_a_worker_that_exits_leaves_no_name_in_the_consumer_group(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)[:2]
    assert run_worker(settings, "once").returncode == 0
    assert store.topics.paper_count("testing") == 2
    assert store.consumers.consumers() == [], "one name per process ever started would pile up"


def test_backfill_cli_names_unknown_topics(settings: Settings) -> None:
    done = run_worker(settings, "backfill", "nope", "--days", "3")
    assert done.returncode == 2
    assert done.stderr.strip() == "feedsvc-worker: unknown topic 'nope'; topics: testing, also"
    done = run_worker(settings, "backfill", "testing", "--days", "0")
    assert done.returncode == 2 and "from 1 to 3650" in done.stderr


def test_progress_draws_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress("backfill rag", 4, "days", stream)
        for done in range(1, 5):
            progress.update(done, f"{done * 10} new papers")
        progress.finish("40 new papers")
    assert (
        "\rbackfill rag [###############---------------] 2/4 days 20 new papers"
        in terminal.getvalue()
    )
    assert terminal.getvalue().endswith("4/4 days 40 new papers\n")
    assert pipe.getvalue().splitlines() == [
        "backfill rag: 1/4 days 10 new papers", "backfill rag: 4/4 days 40 new papers",
    ]  # fmt: skip
