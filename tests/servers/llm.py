"""An OpenAI-compatible chat completions server with scriptable failures."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.servers.answers import LLMCall, completion_body, record_call, successful_content
from tests.servers.batches import FakeBatches
from tests.servers.http import QuietHandler, Server
from worker.enrich.prompt import PromptRequest


@dataclass
class FakeLLM:
    """An OpenAI-compatible chat completions server with scriptable failures.

    `script` holds outcomes for the next calls, one each, in order. Failures of the call:
    "500", "400", "429" (with Retry-After: `retry_after`), "timeout", "trickle" (a whole answer
    a byte at a time). Outputs to reject:
    "broken_json", "invalid" (no takeaways), "chatter", "markdown", "wrong_language",
    "truncated" (finish_reason length). Accepted with a flag: "invented_number". Also "slow".
    A paper whose abstract says "ignore previous instructions" gets a model that obeys it.
    With an empty script every call succeeds after `latency_seconds`.
    """

    latency_seconds: float = 0.0
    timeout_seconds: float = 5.0
    retry_after: str = "1"
    failure_rate: float = 0.0  # with an empty script: this share of calls fails at random
    failure_outcomes: tuple[str, ...] = ("500", "429", "broken_json", "chatter")
    rng: random.Random = field(default_factory=lambda: random.Random(5))
    in_flight: int = 0
    max_in_flight: int = 0
    script: list[str] = field(default_factory=list)
    # (arxiv id, language name) -> a real model's answer, served instead of the canned one
    recorded: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[LLMCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Server | None = None
    batches: FakeBatches = field(default_factory=lambda: FakeBatches())  # noqa: PLW0108 (defined below)

    def start(self) -> FakeLLM:
        self.server = Server(_LLMHandler)
        self.server.llm = self  # type: ignore[attr-defined]
        return self

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.url + "/v1"

    def next_outcome(self) -> str:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            if self.failure_rate and self.rng.random() < self.failure_rate:
                return self.rng.choice(self.failure_outcomes)
            return "ok"

    def calls_for(self, arxiv_id: str) -> list[LLMCall]:
        return [c for c in self.calls if c.arxiv_id == arxiv_id]

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class _LLMHandler(QuietHandler):
    def do_POST(self) -> None:
        llm: FakeLLM = self.server.app.llm  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.endswith("/files"):
            self.send_json(200, llm.batches.upload(self.headers["Content-Type"], raw))
            return
        if self.path.endswith("/batches"):
            self.send_json(200, llm.batches.create(json.loads(raw), llm))
            return
        body = json.loads(raw)
        request, outcome = record_call(llm, body)
        with llm.lock:
            llm.in_flight += 1
            llm.max_in_flight = max(llm.max_in_flight, llm.in_flight)
        try:
            self.answer(llm, request, body, outcome)
        finally:
            with llm.lock:
                llm.in_flight -= 1

    def answer(
        self, llm: FakeLLM, request: PromptRequest, body: dict[str, Any], outcome: str
    ) -> None:
        time.sleep(llm.latency_seconds)
        if outcome in _FAILURES:
            _FAILURES[outcome](self, llm)
            return
        if outcome == "slow":
            time.sleep(llm.timeout_seconds / 2)
        recorded = llm.recorded.get((request.paper["arxiv_id"], request.language_name))
        content, finish = successful_content(request, outcome, recorded)
        self.send_json(200, completion_body(body["model"], content, finish))

    def do_GET(self) -> None:
        llm: FakeLLM = self.server.app.llm  # type: ignore[attr-defined]
        parts = self.path.rstrip("/").split("/")
        if parts[-1] == "content":
            self.send_body(200, llm.batches.files[parts[-2]], "application/octet-stream")
        elif "batches" in parts:
            self.send_json(200, llm.batches.retrieve(parts[-1]))
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def send_json(self, status: int, data: dict[str, Any], **headers: str) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json", **headers)


def _error(status: int, message: str, **headers: str) -> Callable[[_LLMHandler, FakeLLM], None]:
    def send(handler: _LLMHandler, _llm: FakeLLM) -> None:
        handler.send_json(status, {"error": {"message": message, "type": "test"}}, **headers)

    return send


def _rate_limited(handler: _LLMHandler, llm: FakeLLM) -> None:
    body = {"error": {"message": "rate limited", "type": "test"}}
    handler.send_json(429, body, Retry_After=llm.retry_after)


def _hang(handler: _LLMHandler, llm: FakeLLM) -> None:
    time.sleep(llm.timeout_seconds)
    handler.send_json(200, completion_body("late", "{}"))


def _trickle(handler: _LLMHandler, llm: FakeLLM) -> None:
    """A whole answer, a byte every 20 ms: no single read waits long, the answer takes ages."""
    body = json.dumps(completion_body("slow", "{}")).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.02)


_FAILURES: dict[str, Callable[[_LLMHandler, FakeLLM], None]] = {
    "500": _error(500, "internal error"),
    "429": _rate_limited,
    "400": _error(400, "bad request: unsupported parameter"),
    "timeout": _hang,
    "trickle": _trickle,
}
