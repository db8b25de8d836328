"""FEEDSVC_LLM_MODE=batch: upload, create, poll, apply by custom_id, retry the rest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.conftest import Clock, settings_env
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.cli import main as worker_main
from worker.enrich import LLMEnricher, build_llm_client
from worker.outcome import CycleReport, EnrichPolicy

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"


@pytest.fixture(autouse=True)
def listing(arxiv_replay: ArxivReplay) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)


def test_batch_mode_from_upload_to_applied_results(
    settings: Settings, store: Store, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    llm.batches.polls = 1
    for name, value in {**settings_env(settings), "FEEDSVC_LLM_MODE": "batch"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FEEDSVC_LLM_PRICES", "test-model=1:2")

    assert worker_main(["once"]) == 0  # fetch both topics, submit one batch
    assert len(llm.batches.batches) == 1 and len(llm.calls) == 30
    assert all(call.via_batch for call in llm.calls)
    lines = llm.batches.files["file-1"].decode().splitlines()
    assert len(lines) == 30
    first = json.loads(lines[0])
    assert first["url"] == "/v1/chat/completions" and "|" in first["custom_id"]
    assert store.enrichments.load_enrichment(first["custom_id"].split("|")[0], "zh") is None

    assert worker_main(["once"]) == 0  # still in progress: nothing applied, nothing resent
    assert len(llm.batches.batches) == 1
    assert worker_main(["once"]) == 0  # completed: every result applied
    for paper_id in store.topics.paper_ids("testing"):
        for language in ("zh", "en"):
            assert store.enrichments.load_enrichment(paper_id, language) is not None
    assert store.batches.open_batches() == {} and len(llm.calls) == 30

    capsys.readouterr()
    assert worker_main(["stats", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)["llm"]["total"]["models"]["test-model@batch"]
    assert usage["calls"] == 30 and usage["cost_usd"] == round((9000 + 3600 * 2) / 2e6, 4)


def batch_runner(settings: Settings, store: Store, clock: Clock) -> Worker:
    topics = [t for t in load_topics(settings.topics_file) if t.slug == "testing"]
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model)
    policy = EnrichPolicy(max_attempts=3)
    return assemble(topics, store, source, enricher, "c", clock, policy, batch=True)


def test_failed_and_rejected_lines_go_into_the_next_batch(
    settings: Settings, store: Store, llm: FakeLLM, clock: Clock
) -> None:
    runner = batch_runner(settings, store, clock)
    llm.batches.polls = 0
    llm.script = ["500", "chatter"]
    runner.scheduler.run_once()
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.enriched == 18 and len(report.failures) == 2
    assert store.queue.retry_count() == 2

    clock.now += timedelta(hours=1)
    runner.dispatcher.enrich_due(CycleReport())  # the two retries go out as a second batch
    second = llm.batches.files["file-2"].decode().splitlines()
    assert len(second) == 2
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.enriched == 2 and store.queue.retry_count() == 0


def test_an_expired_batch_keeps_its_results_and_retries_the_rest(
    settings: Settings, store: Store, llm: FakeLLM, clock: Clock
) -> None:
    runner = batch_runner(settings, store, clock)
    llm.batches.polls = 0
    llm.batches.final_status, llm.batches.expired_after = "expired", 5
    runner.scheduler.run_once()
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.enriched == 5 and len(report.failures) == 15
    assert "no result: the batch ended expired" in report.failures[0]

    llm.batches.final_status = "completed"
    clock.now += timedelta(hours=1)
    runner.dispatcher.enrich_due(CycleReport())
    runner.dispatcher.enrich_due(report := CycleReport())
    assert report.enriched == 15
