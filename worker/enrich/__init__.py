"""Enrichers: an LLM one (the only module that imports `openai`) and an offline one."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from feedsvc.errors import EnrichmentFailed
from feedsvc.models import SOURCE_LANGUAGE, Enrichment, Paper
from worker.enrich.llm import CallRecorder, Completion, LLMClient, build_llm_client
from worker.enrich.offline import ExtractiveEnricher, rank_sentences, split_sentences
from worker.enrich.prompt import (
    MAX_SUMMARY_SENTENCES,
    MAX_TAKEAWAYS,
    MIN_TAKEAWAYS,
    PROMPT_VERSION,
    build_messages,
    correction_messages,
    language_name,
    output_schema,
)
from worker.enrich.validate import (
    check_language,
    check_plain_text,
    strip_list_marker,
    unverified_numbers,
)

__all__ = [
    "MAX_SUMMARY_SENTENCES",
    "MAX_TAKEAWAYS",
    "MIN_TAKEAWAYS",
    "PROMPT_VERSION",
    "Enricher",
    "ExtractiveEnricher",
    "LLMEnricher",
    "build_llm_client",
    "build_messages",
    "correction_messages",
    "estimate_tokens",
    "language_name",
    "output_schema",
    "parse_llm_output",
    "rank_sentences",
    "split_sentences",
    "validate_fields",
]

PROMPT_OVERHEAD_TOKENS = 350
SUMMARY_TOKENS = 250
MAX_SUMMARY_CHARS = 1200
MAX_TAKEAWAY_CHARS = 400
MAX_TRANSLATION_CHARS = 8000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$)|[。！？]")


class Enricher(Protocol):
    """Makes one paper's enrichment in one language, or raises EnrichmentFailed.

    `identity` is (method, model, prompt version): results stamped otherwise are outdated.
    """

    @property
    def identity(self) -> tuple[str, str, str]: ...

    def enrich(self, paper: Paper, language: str) -> Enrichment: ...


def estimate_tokens(paper: Paper, language: str) -> int:
    """A rough token count of one call, for rate limits: about 4 characters a token."""
    text = len(paper.title) + len(paper.abstract) + len(paper.comment)
    translated = text if language != SOURCE_LANGUAGE else 0
    return PROMPT_OVERHEAD_TOKENS + (text + translated) // 4 + SUMMARY_TOKENS


# -- LLM ----------------------------------------------------------------------


@dataclass
class _Exchange:
    """The messages of one enrichment and what its calls cost so far."""

    messages: list[dict[str, str]]
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str = ""


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

    def enrich(self, paper: Paper, language: str) -> Enrichment:
        translate = language != SOURCE_LANGUAGE
        exchange = _Exchange(build_messages(paper, language, translate))
        started = time.monotonic()
        try:
            fields = self._attempt(exchange, paper, language)
        except EnrichmentFailed as first:
            if first.kind != "validation":
                raise
            exchange.messages += correction_messages(first.reason)
            fields = self._attempt(exchange, paper, language)
        return self._enrichment(paper, language, fields, exchange, started)

    def request_body(self, paper: Paper, language: str) -> dict[str, Any]:
        """The chat completion request for one paper and language (also a batch line's body)."""
        translate = language != SOURCE_LANGUAGE
        return self._request(build_messages(paper, language, translate), translate)

    def enrichment_from_completion(
        self, paper: Paper, language: str, completion: dict[str, Any], billed_as: str
    ) -> Enrichment:
        """Validate a completion that arrived another way (a batch result line)."""
        exchange = _Exchange([])
        fields = self._accept(
            exchange, Completion.from_body(completion), paper, language, billed_as
        )
        return self._enrichment(paper, language, fields, exchange, time.monotonic())

    def _attempt(self, exchange: _Exchange, paper: Paper, language: str) -> dict[str, Any]:
        translate = language != SOURCE_LANGUAGE
        try:
            completion = self.llm.complete(self._request(exchange.messages, translate))
        except EnrichmentFailed:
            self.record_call(self.model, 0, 0, "call")
            raise
        return self._accept(exchange, completion, paper, language, self.model)

    def _accept(
        self,
        exchange: _Exchange,
        completion: Completion,
        paper: Paper,
        language: str,
        billed_as: str,
    ) -> dict[str, Any]:
        tokens_in, tokens_out = completion.tokens_in, completion.tokens_out
        exchange.tokens_in += tokens_in
        exchange.tokens_out += tokens_out
        finish_reason = completion.finish_reason
        exchange.finish_reason = finish_reason
        content = completion.content
        try:
            if finish_reason not in ("", "stop"):
                raise EnrichmentFailed(f"model stopped early: finish_reason={finish_reason}")
            fields = parse_llm_output(content, language != SOURCE_LANGUAGE)
            fields["unverified_numbers"] = validate_fields(fields, paper, language)
        except EnrichmentFailed as exc:
            self.record_call(billed_as, tokens_in, tokens_out, exc.kind)
            exchange.messages.append({"role": "assistant", "content": content[:4000]})
            raise
        self.record_call(billed_as, tokens_in, tokens_out, "ok")
        return fields

    def _enrichment(
        self,
        paper: Paper,
        language: str,
        fields: dict[str, Any],
        exchange: _Exchange,
        started: float,
    ) -> Enrichment:
        return Enrichment(
            language=language,
            method="llm",
            summary=fields["summary"],
            takeaways=tuple(fields["takeaways"]),
            title_translated=fields.get("title_translated", ""),
            abstract_translated=fields.get("abstract_translated", ""),
            source_version=paper.version,
            source_hash=paper.source_hash,
            model=self.model,
            prompt_version=PROMPT_VERSION,
            tokens_in=exchange.tokens_in,
            tokens_out=exchange.tokens_out,
            duration_ms=int((time.monotonic() - started) * 1000),
            finish_reason=exchange.finish_reason,
            unverified_numbers=fields["unverified_numbers"],
        )

    def _request(self, messages: list[dict[str, str]], translate: bool) -> dict[str, Any]:
        if self.response_format == "json_object":
            response_format: dict[str, Any] = {"type": "json_object"}
        else:
            schema = {
                "name": "paper_enrichment",
                "strict": True,
                "schema": output_schema(translate),
            }
            response_format = {"type": "json_schema", "json_schema": schema}
        return {
            "model": self.model,
            "messages": messages,
            "response_format": response_format,
            "temperature": 0.2,
        }


def parse_llm_output(content: str, translate: bool) -> dict[str, Any]:
    """The model's JSON, checked field by field; raise EnrichmentFailed on any problem."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _invalid(f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise _invalid("JSON that is not an object")
    summary = _clean_text(data.get("summary"), "summary", MAX_SUMMARY_CHARS)
    if len(_SENTENCE_END.findall(summary)) > MAX_SUMMARY_SENTENCES:
        raise _invalid(f"summary has more than {MAX_SUMMARY_SENTENCES} sentences")
    takeaways = data.get("takeaways")
    if not isinstance(takeaways, list) or not MIN_TAKEAWAYS <= len(takeaways) <= MAX_TAKEAWAYS:
        raise _invalid(f"takeaways must be a list of {MIN_TAKEAWAYS} to {MAX_TAKEAWAYS}")
    fields: dict[str, Any] = {
        "summary": summary,
        "takeaways": [
            strip_list_marker(_clean_text(t, "takeaways", MAX_TAKEAWAY_CHARS)) for t in takeaways
        ],
    }
    if translate:
        fields["title_translated"] = _clean_text(data.get("title_translated"), "title", 500)
        fields["abstract_translated"] = _clean_text(
            data.get("abstract_translated"), "abstract_translated", MAX_TRANSLATION_CHARS
        )
    return fields


def validate_fields(fields: dict[str, Any], paper: Paper, language: str) -> tuple[str, ...]:
    """Reject chatter, Markdown and the wrong language; return numbers not in the abstract."""
    written = [fields["summary"], *fields["takeaways"]]
    for name, value in [("summary", fields["summary"]), ("takeaways", " ".join(written[1:]))]:
        check_plain_text(value, name)
    check_language(" ".join(written), language)
    if "abstract_translated" in fields:
        check_plain_text(fields["abstract_translated"], "abstract_translated")
        check_language(fields["abstract_translated"], language)
    return unverified_numbers(written, f"{paper.title} {paper.abstract} {paper.comment}")


def _invalid(problem: str) -> EnrichmentFailed:
    return EnrichmentFailed(f"LLM output rejected: {problem}", kind="validation")


def _clean_text(value: Any, field_name: str, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"field {field_name!r} is missing or empty")
    text = " ".join(_CONTROL_CHARS.sub("", value).split())
    if len(text) > max_chars:
        raise _invalid(f"field {field_name!r} is longer than {max_chars} characters")
    return text
