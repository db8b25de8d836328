"""Relevance with a reason: a topic's `interest` makes the one call per paper and language
also return a score from 0 to 10 and a one-line reason in that language, validated like
every other field; the offline enricher scores by overlap with the interest and says so."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc.config import Settings, Topic, load_topics
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.conftest import Clock
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.enrich import ExtractiveEnricher, LLMEnricher, build_llm_client
from worker.enrich.prompt import Interest, build_messages, output_schema, read_request
from worker.outcome import CycleReport

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
INTEREST = "Fuzzing and automated test generation for REST APIs and web services"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
PAPER = Paper("2411.00001", 1, "Active fuzzing of REST APIs", "We fuzz REST APIs. It works.",
              ("A",), NOW, NOW)  # fmt: skip


@pytest.fixture
def topics_file(tmp_path: Path, topics_file: Path) -> Path:
    text = topics_file.read_text().replace(
        "max_results = 10\n", f'max_results = 10\ninterest = "{INTEREST}"\n', 1
    )
    path = tmp_path / "interest.toml"
    path.write_text(text)
    return path


def topic_of(settings: Settings) -> Topic:
    return next(t for t in load_topics(settings.topics_file) if t.slug == "testing")


def worker(settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock,
           offline: bool = False) -> Worker:  # fmt: skip
    arxiv_replay.listing = fixture_entries(LISTING)
    topics = load_topics(settings.topics_file)
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    enricher = (
        ExtractiveEnricher() if offline
        else LLMEnricher(build_llm_client(settings), settings.llm_model)
    )  # fmt: skip
    return assemble(topics[:1], store, source, enricher, "test-consumer", clock)


def test_one_call_per_paper_and_language_also_scores_it_with_a_reason(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock, llm: FakeLLM
) -> None:
    report = worker(settings, store, arxiv_replay, clock).scheduler.run_once()
    assert report.new == 10 and report.enriched == 20
    assert len(llm.calls) == 20, "1.00 call per paper-language"
    topic = topic_of(settings)
    scores = {}
    for paper_id in {call.arxiv_id for call in llm.calls}:
        for language, mark in (("zh", "相关"), ("en", "Relevant")):
            enrichment = store.enrichments.load_enrichment(paper_id, language)
            assert enrichment is not None
            relevance = enrichment.relevance_for("testing", topic.interest_key)
            assert relevance is not None and 0 <= relevance.score <= 10
            assert relevance.reason.startswith(mark), "the reason is in the feed's language"
            scores[paper_id] = relevance.score
    assert max(scores.values()) > min(scores.values()), "the scores tell papers apart"
    assert all(call.response_format["json_schema"]["schema"]["properties"]["relevance"]
               for call in llm.calls)  # fmt: skip


@pytest.mark.parametrize("outcome", ["score_out_of_range", "no_relevance"])
def test_a_bad_score_is_rejected_and_asked_for_once_more(
    settings: Settings, llm: FakeLLM, outcome: str
) -> None:
    llm.script = [outcome]
    interest = Interest("testing", INTEREST, "k")
    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model)
    enrichment = enricher.enrich(PAPER, "en", [interest])
    assert [call.corrective for call in llm.calls] == [False, True]
    (relevance,) = enrichment.relevance
    assert relevance.score == 9 and relevance.interest == "k"


def test_without_an_interest_the_prompt_is_what_it_was(settings: Settings) -> None:
    """Results made before the interest existed stay current: the prompt without one is
    byte for byte the one they were made with."""
    system = build_messages(PAPER, "zh", True)[0]["content"]
    assert hashlib.sha256(system.encode()).hexdigest()[:16] == "61df9414ea5da46c"
    assert "relevance" not in output_schema(True)["properties"]


def test_the_prompt_reads_back_with_its_interests() -> None:
    interests = [Interest("b", "Graph <b>networks</b>", "1"), Interest("a", "RAG", "2")]
    body = {"messages": build_messages(PAPER, "de", True, interests)}
    assert read_request(body).interests == {"b": "Graph <b>networks</b>", "a": "RAG"}
    assert "<b>" not in body["messages"][0]["content"], "no text of the topics file is markup"


def test_the_offline_enricher_scores_by_overlap_and_says_so() -> None:
    interest = Interest("testing", "Segmenting medical images with contrastive learning", "k")
    paper = Paper("2411.00002", 1, "Contrastive pre-training for medical segmentation",
                  "We segment organs.", ("A",), NOW, NOW)  # fmt: skip
    (relevance,) = ExtractiveEnricher().enrich(paper, "zh", [interest]).relevance
    assert relevance.matched == ("segmenting", "medical", "contrastive")
    assert relevance.words == 5 and relevance.score == 6 and relevance.reason == ""


def test_a_changed_interest_scores_what_is_enriched_from_then_on(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock, llm: FakeLLM
) -> None:
    runner = worker(settings, store, arxiv_replay, clock)
    runner.scheduler.run_once()
    changed = settings.topics_file.read_text().replace(INTEREST, "GUI testing of mobile apps")
    settings.topics_file.write_text(changed)
    runner = worker(settings, store, arxiv_replay, clock)
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert len(llm.calls) == 20, "stored papers are not scored again unasked"

    (paper_id, *_) = sorted({call.arxiv_id for call in llm.calls})
    store.queue.enqueue([(paper_id, "en")])
    runner.dispatcher.enrich_due(CycleReport())
    assert len(llm.calls) == 21, "a queued paper scored for the old interest is made again"
    enrichment = store.enrichments.load_enrichment(paper_id, "en")
    assert enrichment is not None
    assert enrichment.relevance_for("testing", topic_of(settings).interest_key)

    since = datetime(2000, 1, 1, tzinfo=UTC)
    assert runner.intake.queue_rescoring(topic_of(settings), since) == 19, "rescore: the rest"
    report = CycleReport()
    runner.dispatcher.enrich_due(report)
    assert report.enriched == 19 and len(llm.calls) == 40
    assert runner.intake.queue_rescoring(topic_of(settings), since) == 0
    runner.scheduler.run_once()
    assert len(llm.calls) == 40, "a fetch of papers scored for the interest as it reads: none"


def test_a_paper_that_joins_a_topic_with_an_interest_is_scored_for_it(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, clock: Clock, llm: FakeLLM
) -> None:
    topics = {topic.slug: topic for topic in load_topics(settings.topics_file)}
    runner = worker(settings, store, arxiv_replay, clock)
    shared = replace(PAPER, id="2411.00077")
    store.papers.save_papers(topics["also"], [shared])  # en and ja, no interest
    runner.dispatcher.enrich_due(CycleReport())
    assert len(llm.calls) == 2
    assert store.papers.save_papers(topics["also"], [shared]).queued == 0
    assert store.papers.save_papers(topics["testing"], [shared]).queued == 2, "zh, and en"
    runner.dispatcher.enrich_due(CycleReport())
    assert len(llm.calls) == 4
    for language in ("zh", "en"):
        enrichment = store.enrichments.load_enrichment(shared.id, language)
        assert enrichment is not None
        assert enrichment.relevance_for("testing", topics["testing"].interest_key)
