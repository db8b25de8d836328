"""Enrichers: the offline one, and the LLM one against the local OpenAI-compatible server."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from feedsvc.config import Settings
from feedsvc.errors import EnrichmentFailed
from feedsvc.models import Paper
from tests.servers import FakeLLM
from worker.enrich import (
    ExtractiveEnricher,
    LLMEnricher,
    build_llm_client,
    parse_llm_output,
    split_sentences,
)

ABSTRACT = (
    "Contrastive learning learns representations by comparing views of the same image. "
    "We propose SimNew, a contrastive method that needs no negative pairs, e.g. no memory bank. "
    "SimNew reaches 78.1% top-1 accuracy on ImageNet with a linear probe. "
    "Training takes half the time of prior contrastive methods. "
    "We release code and models."
)
PAPER = Paper(
    id="2411.00001",
    version=1,
    title="SimNew: contrastive learning without negatives",
    abstract=ABSTRACT,
    authors=("A. Author",),
    published=datetime(2026, 11, 1, tzinfo=UTC),
    updated=datetime(2026, 11, 1, tzinfo=UTC),
)


def test_sentences_do_not_split_after_abbreviations() -> None:
    sentences = split_sentences(ABSTRACT)
    assert len(sentences) == 5
    assert sentences[1].endswith("e.g. no memory bank.")


def test_extractive_enrichment_uses_the_abstracts_own_sentences() -> None:
    enrichment = ExtractiveEnricher().enrich(PAPER, "zh")
    sentences = split_sentences(ABSTRACT)
    assert enrichment.method == "extractive"
    assert 1 <= len(split_sentences(enrichment.summary)) <= 3
    assert all(s in sentences for s in split_sentences(enrichment.summary))
    assert 3 <= len(enrichment.takeaways) <= 7
    assert all(t in sentences for t in enrichment.takeaways)
    assert [sentences.index(t) for t in enrichment.takeaways] == sorted(
        sentences.index(t) for t in enrichment.takeaways
    )
    assert enrichment.abstract_translated == ""
    assert enrichment.source_hash == PAPER.source_hash
    assert "extractive" in enrichment.provenance.lower()


def enricher(settings: Settings) -> LLMEnricher:
    return LLMEnricher(build_llm_client(settings), settings.llm_model)


def test_llm_enrichment_in_chinese(settings: Settings, llm: FakeLLM) -> None:
    enrichment = enricher(settings).enrich(PAPER, "zh")
    assert enrichment.method == "llm" and enrichment.model == "test-model"
    assert enrichment.summary.startswith("这篇论文研究了")
    assert len(enrichment.takeaways) == 4
    assert enrichment.title_translated.startswith("摘要翻译：")
    assert enrichment.abstract_translated == f"摘要翻译：{ABSTRACT}"
    assert (enrichment.tokens_in, enrichment.tokens_out) == (300, 120)
    (call,) = llm.calls
    assert call.language == "Simplified Chinese"
    schema = call.response_format["json_schema"]
    assert schema["strict"] is True
    assert set(schema["schema"]["required"]) == {
        "summary", "takeaways", "title_translated", "abstract_translated",
    }  # fmt: skip


def test_source_language_asks_for_no_translation(settings: Settings, llm: FakeLLM) -> None:
    enrichment = enricher(settings).enrich(PAPER, "en")
    assert enrichment.abstract_translated == "" and enrichment.title_translated == ""
    assert set(llm.calls[0].response_format["json_schema"]["schema"]["required"]) == {
        "summary", "takeaways",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("500", "HTTP 500"),
        ("429", "HTTP 429"),
        ("timeout", "timed out"),
        ("broken_json", "invalid JSON"),
        ("invalid", "takeaways must be a list of 3 to 7"),
    ],
)
def test_llm_failures_raise_enrichment_failed(
    settings: Settings, llm: FakeLLM, outcome: str, reason: str
) -> None:
    llm.timeout_seconds = settings.llm_timeout_seconds + 1
    llm.script = [outcome]
    with pytest.raises(EnrichmentFailed, match=reason) as caught:
        enricher(replace(settings, llm_timeout_seconds=1.0)).enrich(PAPER, "zh")
    assert caught.value.transient
    assert len(llm.calls) == 1


def test_an_unreachable_llm_is_a_transient_failure(settings: Settings) -> None:
    dead = replace(settings, openai_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(EnrichmentFailed, match="cannot reach"):
        enricher(dead).enrich(PAPER, "zh")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "not an object"),
        ({"summary": "", "takeaways": ["a", "b", "c"]}, "'summary' is missing"),
        ({"summary": "A. B. C. D.", "takeaways": ["a", "b", "c"]}, "more than 3 sentences"),
        ({"summary": "S.", "takeaways": ["a"] * 8}, "3 to 7"),
        ({"summary": "S.", "takeaways": ["a", "b", 3]}, "'takeaways' is missing"),
    ],
)
def test_llm_output_is_validated(payload: object, reason: str) -> None:
    with pytest.raises(EnrichmentFailed, match=reason):
        parse_llm_output(json.dumps(payload), translate=False)


def test_llm_output_loses_control_characters() -> None:
    raw = {"summary": "Fine\x00 text\x1b.", "takeaways": ["a\x07", "b", "c"]}
    fields = parse_llm_output(json.dumps(raw), translate=False)
    assert fields["summary"] == "Fine text." and fields["takeaways"][0] == "a"
