"""The LLM endpoint through the `openai` SDK: the only module that imports it.

A failed call comes out as EnrichmentFailed, so no caller needs to know the SDK's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import openai

from feedsvc.config import Settings
from feedsvc.errors import EnrichmentFailed

CallRecorder = Callable[[str, int, int, str], None]
"""Told of every LLM call: model, tokens in, tokens out, outcome ("ok" or a failure kind)."""

BatchEndpoint = Literal["/v1/chat/completions"]


@dataclass(frozen=True)
class Completion:
    """What one chat completion returned: its text, why it stopped, what it cost."""

    content: str
    finish_reason: str
    tokens_in: int
    tokens_out: int

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Completion:
        """Read a chat completion response body (from the SDK or a batch result line)."""
        usage = body.get("usage") or {}
        choice = (body.get("choices") or [{}])[0]
        return cls(
            content=(choice.get("message") or {}).get("content") or "",
            finish_reason=choice.get("finish_reason") or "",
            tokens_in=usage.get("prompt_tokens", 0),
            tokens_out=usage.get("completion_tokens", 0),
        )


@dataclass(frozen=True)
class BatchState:
    """Where a batch stands, and its result files once it has them."""

    id: str
    status: str
    output_file_id: str | None
    error_file_id: str | None

    @classmethod
    def of(cls, batch: openai.types.Batch) -> BatchState:
        return cls(batch.id, batch.status, batch.output_file_id, batch.error_file_id)


def build_llm_client(settings: Settings) -> LLMClient:
    """A client for the configured endpoint, with our timeout and retry count."""
    sdk = openai.OpenAI(
        api_key=settings.openai_api_key or "unused-by-local-servers",
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )
    return LLMClient(sdk)


class LLMClient:
    """The calls feedsvc makes to an OpenAI-compatible server: chat completions and batches."""

    def __init__(self, sdk: openai.OpenAI) -> None:
        self._sdk = sdk

    def complete(self, request: dict[str, Any]) -> Completion:
        """One chat completion; EnrichmentFailed (kind "call") when the call fails."""
        try:
            response = self._sdk.chat.completions.create(**request)
        except openai.APIStatusError as exc:
            raise _status_failure(exc) from exc
        except openai.APITimeoutError as exc:
            raise EnrichmentFailed("LLM request timed out") from exc
        except openai.APIConnectionError as exc:
            raise EnrichmentFailed(f"cannot reach the LLM: {exc}") from exc
        return Completion.from_body(response.model_dump())

    def upload_batch_input(self, jsonl: bytes) -> str:
        """Upload the request lines of a batch; returns the file id."""
        with _sdk_errors("batch submission"):
            upload = self._sdk.files.create(file=("feedsvc.jsonl", jsonl), purpose="batch")
        return upload.id

    def create_batch(self, input_file_id: str, endpoint: BatchEndpoint) -> BatchState:
        """Start a batch over an uploaded file, to finish within a day."""
        with _sdk_errors("batch submission"):
            batch = self._sdk.batches.create(
                input_file_id=input_file_id, endpoint=endpoint, completion_window="24h"
            )
        return BatchState.of(batch)

    def batch_state(self, batch_id: str) -> BatchState:
        with _sdk_errors(f"status request of batch {batch_id}"):
            return BatchState.of(self._sdk.batches.retrieve(batch_id))

    def file_text(self, file_id: str) -> str:
        """The content of an uploaded or result file, as text."""
        with _sdk_errors(f"download of file {file_id}"):
            return self._sdk.files.content(file_id).text


@contextmanager
def _sdk_errors(action: str) -> Iterator[None]:
    try:
        yield
    except openai.OpenAIError as exc:
        raise EnrichmentFailed(f"{action} failed: {exc}") from exc


def _status_failure(exc: openai.APIStatusError) -> EnrichmentFailed:
    status = exc.status_code
    transient = status in (408, 409, 429) or status >= 500
    retry_after = _retry_after_seconds(exc.response.headers.get("retry-after"))
    return EnrichmentFailed(f"HTTP {status} from the LLM", transient, "call", retry_after)


def _retry_after_seconds(raw: str | None) -> float | None:
    try:
        return max(float(raw), 0.0) if raw else None
    except ValueError:
        return None  # an HTTP date: rare from LLM servers; our own backoff applies
