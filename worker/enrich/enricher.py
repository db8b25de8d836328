"""The enricher interface, and the LLM enricher: one chat completion per paper and language."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from feedsvc.config.settings import FULL_TEXT_SUFFIX
from feedsvc.errors import EnrichmentFailed
from feedsvc.models import SOURCE_LANGUAGE, Enrichment, Paper, Relevance, Section
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
        self, paper: Paper, language: str, interests: Sequence[Interest] = (),
        sections: Sequence[Section] | None = None,
    ) -> Enrichment: ...  # fmt: skip


@dataclass
class _Exchange:
    """The messages of one enrichment and what its calls cost so far."""

    messages: list[dict[str, str]]
    interests: Sequence[Interest] = ()
    sections: Sequence[Section] | None = None  # a full-text topic's paper: what it read
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

    def enrich(
        self, paper: Paper, language: str, interests: Sequence[Interest] = (),
        sections: Sequence[Section] | None = None,
    ) -> Enrichment:  # fmt: skip
        """The enrichment, scored against the `interests`; given `sections` (a full-text
        topic's paper: () when it has no HTML view), with what they hold."""
        translate = language != SOURCE_LANGUAGE
        messages = build_messages(paper, language, translate, interests, sections or ())
        exchange = _Exchange(messages, interests, sections)
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
        self, paper: Paper, language: str, interests: Sequence[Interest] = (),
        sections: Sequence[Section] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The chat completion request for one paper and language (also a batch line's body)."""
        translate = language != SOURCE_LANGUAGE
        messages = build_messages(paper, language, translate, interests, sections or ())
        return self._request(messages, translate, interests, bool(sections))

    def enrichment_from_completion(
        self, paper: Paper, language: str, completion: dict[str, Any], billed_as: str,
        interests: Sequence[Interest] = (), sections: Sequence[Section] | None = None,
    ) -> Enrichment:  # fmt: skip
        """Validate a completion that arrived another way (a batch result line)."""
        exchange = _Exchange([], interests, sections)
        billed = billed_as + (FULL_TEXT_SUFFIX if sections else "")
        output = self._accept(exchange, Completion.from_body(completion), paper, language, billed)
        return self._enrichment(paper, language, output, exchange, time.monotonic())

    def _attempt(self, exchange: _Exchange, paper: Paper, language: str) -> ModelOutput:
        translate = language != SOURCE_LANGUAGE
        full_text = bool(exchange.sections)
        request = self._request(exchange.messages, translate, exchange.interests, full_text)
        billed = self.model + (FULL_TEXT_SUFFIX if full_text else "")
        completion = self.llm.complete(request, lambda: self.record_call(billed, 0, 0, "call"))
        return self._accept(exchange, completion, paper, language, billed)

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
            output = accept_output(
                completion, paper, language, exchange.interests, exchange.sections or ()
            )
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
            full_text=read_from(exchange.sections),
            approach=output.full_text[0],
            results=output.full_text[1],
            limitations=output.full_text[2],
        )

    def _request(
        self, messages: list[dict[str, str]], translate: bool, interests: Sequence[Interest],
        full_text: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        if self.response_format == "json_object":
            response_format: dict[str, Any] = {"type": "json_object"}
        else:
            schema = {
                "name": "paper_enrichment",
                "strict": True,
                "schema": output_schema(translate, interests, full_text),
            }
            response_format = {"type": "json_schema", "json_schema": schema}
        return {
            "model": self.model,
            "messages": messages,
            "response_format": response_format,
            "temperature": 0.2,
        }


def read_from(sections: Sequence[Section] | None) -> str:
    """What a full-text topic's enrichment was made from: "sections", or "abstract" when the
    paper has no HTML view; "" for another topic's."""
    if sections is None:
        return ""
    return "sections" if sections else "abstract"


def scored(
    scores: Sequence[tuple[str, int, str]], interests: Sequence[Interest]
) -> tuple[Relevance, ...]:
    """The model's scores, each stamped with the interest it was asked against."""
    keys = {interest.topic: interest.key for interest in interests}
    return tuple(Relevance(topic, score, reason, keys[topic]) for topic, score, reason in scores)
