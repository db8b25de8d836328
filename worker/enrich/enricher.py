"""The enricher interface, and the LLM enricher: one chat completion per paper and language."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from feedsvc.errors import EnrichmentFailed
from feedsvc.models import SOURCE_LANGUAGE, Enrichment, Paper, Relevance
from worker.enrich.llm import CallRecorder, Completion, LLMClient
from worker.enrich.prompt import (
    PROMPT_VERSION,
    Interest,
    build_messages,
    correction_messages,
    output_schema,
)
from worker.enrich.validate import ModelOutput, accept_output


class Enricher(Protocol):
    """Makes one paper's enrichment in one language, scored against the `interests` of its
    topics that state one, or raises EnrichmentFailed.

    `identity` is (method, model, prompt version): results stamped otherwise are outdated.
    """

    @property
    def identity(self) -> tuple[str, str, str]: ...

    def enrich(
        self, paper: Paper, language: str, interests: Sequence[Interest] = ()
    ) -> Enrichment: ...


@dataclass
class _Exchange:
    """The messages of one enrichment and what its calls cost so far."""

    messages: list[dict[str, str]]
    interests: Sequence[Interest] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str = ""

    def count(self, completion: Completion) -> None:
        self.tokens_in += completion.tokens_in
        self.tokens_out += completion.tokens_out
        self.finish_reason = completion.finish_reason


class LLMEnricher:
    """One chat completion per paper and language, validated before it is returned.

    An output that fails validation is asked for once more, with the reason; a second
    failure raises EnrichmentFailed like any other failed attempt.
    """

    def __init__(
        self,
        client: LLMClient,
        model: str,
        response_format: str = "json_schema",
        record_call: CallRecorder | None = None,
    ) -> None:
        self.llm = client
        self.model = model
        self.response_format = response_format
        self.record_call = record_call or (lambda *_: None)

    @property
    def identity(self) -> tuple[str, str, str]:
        return ("llm", self.model, PROMPT_VERSION)

    def enrich(self, paper: Paper, language: str, interests: Sequence[Interest] = ()) -> Enrichment:
        translate = language != SOURCE_LANGUAGE
        exchange = _Exchange(build_messages(paper, language, translate, interests), interests)
        started = time.monotonic()
        try:
            output = self._attempt(exchange, paper, language)
        except EnrichmentFailed as first:
            if first.kind != "validation":
                raise
            exchange.messages += correction_messages(first.reason)
            output = self._attempt(exchange, paper, language)
        return self._enrichment(paper, language, output, exchange, started)

    def request_body(
        self, paper: Paper, language: str, interests: Sequence[Interest] = ()
    ) -> dict[str, Any]:
        """The chat completion request for one paper and language (also a batch line's body)."""
        translate = language != SOURCE_LANGUAGE
        messages = build_messages(paper, language, translate, interests)
        return self._request(messages, translate, interests)

    def enrichment_from_completion(
        self, paper: Paper, language: str, completion: dict[str, Any], billed_as: str,
        interests: Sequence[Interest] = (),
    ) -> Enrichment:  # fmt: skip
        """Validate a completion that arrived another way (a batch result line)."""
        exchange = _Exchange([], interests)
        output = self._accept(
            exchange, Completion.from_body(completion), paper, language, billed_as
        )
        return self._enrichment(paper, language, output, exchange, time.monotonic())

    def _attempt(self, exchange: _Exchange, paper: Paper, language: str) -> ModelOutput:
        translate = language != SOURCE_LANGUAGE
        request = self._request(exchange.messages, translate, exchange.interests)
        completion = self.llm.complete(request, self._count_failed_call)
        return self._accept(exchange, completion, paper, language, self.model)

    def _count_failed_call(self) -> None:
        self.record_call(self.model, 0, 0, "call")

    def _accept(
        self,
        exchange: _Exchange,
        completion: Completion,
        paper: Paper,
        language: str,
        billed_as: str,
    ) -> ModelOutput:
        exchange.count(completion)
        tokens = completion.tokens_in, completion.tokens_out
        try:
            output = accept_output(completion, paper, language, exchange.interests)
        except EnrichmentFailed as exc:
            self.record_call(billed_as, *tokens, exc.kind)
            exchange.messages.append({"role": "assistant", "content": completion.content[:4000]})
            raise
        self.record_call(billed_as, *tokens, "ok")
        return output

    def _enrichment(
        self,
        paper: Paper,
        language: str,
        output: ModelOutput,
        exchange: _Exchange,
        started: float,
    ) -> Enrichment:
        return Enrichment(
            language=language,
            method="llm",
            summary=output.summary,
            takeaways=output.takeaways,
            title_translated=output.title_translated,
            abstract_translated=output.abstract_translated,
            source_version=paper.version,
            source_hash=paper.source_hash,
            model=self.model,
            prompt_version=PROMPT_VERSION,
            tokens_in=exchange.tokens_in,
            tokens_out=exchange.tokens_out,
            duration_ms=int((time.monotonic() - started) * 1000),
            finish_reason=exchange.finish_reason,
            unverified_numbers=output.unverified_numbers,
            adjustments=output.adjustments,
            relevance=scored(output.scores, exchange.interests),
        )

    def _request(
        self, messages: list[dict[str, str]], translate: bool, interests: Sequence[Interest]
    ) -> dict[str, Any]:
        if self.response_format == "json_object":
            response_format: dict[str, Any] = {"type": "json_object"}
        else:
            schema = {
                "name": "paper_enrichment",
                "strict": True,
                "schema": output_schema(translate, interests),
            }
            response_format = {"type": "json_schema", "json_schema": schema}
        return {
            "model": self.model,
            "messages": messages,
            "response_format": response_format,
            "temperature": 0.2,
        }


def scored(
    scores: Sequence[tuple[str, int, str]], interests: Sequence[Interest]
) -> tuple[Relevance, ...]:
    """The model's scores, each stamped with the interest it was asked against."""
    keys = {interest.topic: interest.key for interest in interests}
    return tuple(Relevance(topic, score, reason, keys[topic]) for topic, score, reason in scores)
