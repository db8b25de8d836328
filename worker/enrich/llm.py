"""The LLM endpoint through the `openai` SDK: the only module that imports it.

A failed call comes out as EnrichmentFailed, so no caller needs to know the SDK's errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
import openai

from feedsvc.config import Settings
from feedsvc.errors import EnrichmentFailed

CallRecorder = Callable[[str, int, int, str], None]
"""Told of every LLM call: model, tokens in, tokens out, outcome ("ok" or a failure kind)."""

BatchEndpoint = Literal["/v1/chat/completions"]
QUICK_RETRY_BASE_SECONDS = 0.5
QUICK_RETRY_MAX_SECONDS = 20.0  # a longer Retry-After parks the item instead of blocking
ANSWER_TOKENS_ESTIMATE = 250


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


Pace = Callable[[int], bool]
"""Waits until a call of about this many tokens fits the shared rate limits; False: stopped."""


def build_llm_client(settings: Settings, pace: Pace | None = None) -> LLMClient:
    """A client for the configured endpoint: every HTTP call paced, counted and bounded by a
    total deadline; the SDK's own hidden retries off, ours in `LLMClient.complete`."""
    sdk = openai.OpenAI(
        api_key=settings.openai_api_key or "unused-by-local-servers",
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_seconds,
        max_retries=0,
        http_client=httpx2.Client(transport=DeadlineTransport(settings.llm_timeout_seconds)),
    )
    return LLMClient(sdk, settings.llm_max_retries, pace)


class LLMClient:
    """The calls feedsvc makes to an OpenAI-compatible server: chat completions and batches."""

    def __init__(
        self, sdk: openai.OpenAI, quick_retries: int = 0, pace: Pace | None = None
    ) -> None:
        self._sdk = sdk
        self.quick_retries = quick_retries
        self.pace = pace or (lambda _tokens: True)

    def complete(self, request: dict[str, Any], on_failed_call: Callable[[], None]) -> Completion:
        """One chat completion, with up to `quick_retries` more HTTP calls for a transient
        failure; `on_failed_call` is told of each failed call. EnrichmentFailed when it fails:
        kind "call", or "stopped" when the worker stopped while waiting for the rate limits."""
        attempt = 0
        while True:  # quick_retry_wait ends it: None once no retry is left
            if not self.pace(estimate_request_tokens(request)):
                raise EnrichmentFailed("stopped while waiting for the rate limits", kind="stopped")
            try:
                return self._complete_once(request)
            except EnrichmentFailed as failure:
                on_failed_call()
                wait = quick_retry_wait(failure, attempt, self.quick_retries)
                if wait is None:
                    raise
            time.sleep(wait)
            attempt += 1

    def _complete_once(self, request: dict[str, Any]) -> Completion:
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


def quick_retry_wait(failure: EnrichmentFailed, attempt: int, retries: int) -> float | None:
    """Seconds to wait before calling again at once, or None: give the failure to the caller
    (not transient, no retry left, or a Retry-After too long to wait for in a call)."""
    if not failure.transient or attempt >= retries:
        return None
    wait = failure.retry_after_seconds
    if wait is None:
        return float(QUICK_RETRY_BASE_SECONDS * 2**attempt)
    return wait if wait <= QUICK_RETRY_MAX_SECONDS else None


def estimate_request_tokens(request: dict[str, Any]) -> int:
    """About 4 characters a token: the messages, and an answer about as long (a translated
    abstract is), plus the summary and takeaways."""
    prompt = sum(len(message["content"]) for message in request["messages"]) // 4
    return 2 * prompt + ANSWER_TOKENS_ESTIMATE


class DeadlineTransport(httpx2.BaseTransport):
    """Reads every answer whole within `seconds` of the request: a server that trickles its
    answer a byte at a time never trips a per-read timeout."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        deadline = time.monotonic() + self.seconds
        response = self.inner.handle_request(request)
        chunks = []
        try:
            for chunk in response.stream:  # type: ignore[union-attr]
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx2.ReadTimeout("the answer did not complete in time", request=request)
        finally:
            response.close()
        return httpx2.Response(
            response.status_code, headers=response.headers, content=b"".join(chunks),
            request=request, extensions=response.extensions,
        )  # fmt: skip

    def close(self) -> None:
        self.inner.close()


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
