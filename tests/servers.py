"""Local HTTP servers that replay the outside world: the arXiv API and an OpenAI-compatible LLM.

Both run in a thread on 127.0.0.1 and are reached over real HTTP by the real clients.
"""

from __future__ import annotations

import copy
import email
import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from worker.enrich.prompt import PromptRequest, output_schema, read_request

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed client: expected
            super().handle_error(request, client_address)


class _Server:
    """A threaded HTTP server on a free loopback port, stopped by `close()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)


# -- arXiv --------------------------------------------------------------------


def read_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_entries(name: str) -> list[Any]:
    """The <entry> elements of a recorded response, in recorded order."""
    root = etree.fromstring(read_fixture(name))
    return list(root.iterfind(f"{ATOM}entry"))


def revise_entry(entry: Any, updated: str, abstract: str | None = None) -> Any:
    """A copy of a recorded entry as arXiv would list its next version."""
    revised = copy.deepcopy(entry)
    id_element = revised.find(f"{ATOM}id")
    version = int(id_element.text.rsplit("v", 1)[1]) + 1
    id_element.text = re.sub(r"v\d+$", f"v{version}", id_element.text)
    revised.find(f"{ATOM}updated").text = updated
    for link in revised.iterfind(f"{ATOM}link"):
        link.set("href", re.sub(r"v\d+$", f"v{version}", link.get("href")))
    if abstract is not None:
        revised.find(f"{ATOM}summary").text = abstract
    return revised


def entry_id(entry: Any) -> str:
    """The versionless arXiv id of an entry element."""
    text = entry.find(f"{ATOM}id").text
    return re.sub(r"v\d+$", "", text.split("/abs/", 1)[1])


@dataclass
class ArxivRequest:
    at: float
    params: dict[str, str]


@dataclass
class ArxivReplay:
    """Serves a listing of real recorded entries in any (start, max_results) window.

    `listing` is the day's result list, newest update first. `raw` overrides everything
    with a recorded body and status, for replaying a response verbatim.
    """

    listing: list[Any] = field(default_factory=list)
    template: str = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
    raw: tuple[int, bytes] | None = None
    requests: list[ArxivRequest] = field(default_factory=list)
    server: _Server | None = None

    def start(self) -> ArxivReplay:
        self.server = _Server(_ArxivHandler)
        self.server.replay = self  # type: ignore[attr-defined]
        return self

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return self.server.url + "/api/query"

    def respond(self, params: dict[str, str]) -> tuple[int, bytes]:
        self.requests.append(ArxivRequest(time.monotonic(), params))
        if self.raw is not None:
            return self.raw
        start = int(params.get("start", "0"))
        size = int(params.get("max_results", "10"))
        return 200, self.page(start, size)

    def page(self, start: int, size: int) -> bytes:
        root = etree.fromstring(read_fixture(self.template))
        for old in root.findall(f"{ATOM}entry"):
            root.remove(old)
        root.find(f"{OPENSEARCH}totalResults").text = str(len(self.listing))
        root.find(f"{OPENSEARCH}startIndex").text = str(start)
        root.find(f"{OPENSEARCH}itemsPerPage").text = str(size)
        for entry in self.listing[start : start + size]:
            root.append(copy.deepcopy(entry))
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class _ArxivHandler(_QuietHandler):
    def do_GET(self) -> None:
        replay: ArxivReplay = self.server.app.replay  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        if parts.path != "/api/query":
            self.send_body(404, b"not found", "text/plain")
            return
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, body = replay.respond(params)
        self.send_body(status, body, "application/atom+xml; charset=UTF-8")


# -- OpenAI-compatible LLM ----------------------------------------------------

NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八"]
ENGLISH_NUMERALS = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
# What the fake model writes per language: summary, one takeaway, the translated abstract.
CANNED = {
    "Simplified Chinese": (
        "这篇论文研究了「{w}」相关的方法，并报告了实验结果。",
        "要点{n}：论文围绕「{w}」提出了新的思路。",
        "【译文】本文研究了「{w}」问题，提出了一种新方法，并在实验中验证了其有效性。",
    ),
    "English": (
        "This paper studies {w} and reports the results of its experiments.",
        "Point {n} is about {w} and the method of the paper.",
        "",
    ),
    "Japanese": (
        "この論文は「{w}」に関する手法を研究し、実験結果を報告する。",
        "要点{n}：「{w}」についての新しい考え方を示す。",
        "【訳文】本論文は「{w}」の問題を扱い、新しい手法を提案して実験で有効性を確かめた。",
    ),
}
INJECTION_MARKER = "ignore previous instructions"


def topic_word(title: str) -> str:
    """The word of the title the fake model writes about: its first one."""
    return title.split()[0] if title.split() else "?"


@dataclass
class LLMCall:
    arxiv_id: str
    language: str
    model: str
    response_format: dict[str, Any]
    outcome: str
    corrective: bool
    via_batch: bool = False


@dataclass
class FakeLLM:
    """An OpenAI-compatible chat completions server with scriptable failures.

    `script` holds outcomes for the next calls, one each, in order. Failures of the call:
    "500", "400", "429" (with Retry-After: `retry_after`), "timeout". Outputs to reject:
    "broken_json", "invalid" (too few takeaways), "chatter", "markdown", "wrong_language",
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
    calls: list[LLMCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _Server | None = None
    batches: FakeBatches = field(default_factory=lambda: FakeBatches())  # noqa: PLW0108 (defined below)

    def start(self) -> FakeLLM:
        self.server = _Server(_LLMHandler)
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


@dataclass
class FakeBatches:
    """The Files and Batches endpoints: a batch runs when created and ends `polls` later.

    `final_status` is how batches end ("completed", or "expired" which keeps the output of
    only the first `expired_after` lines). Line outcomes come from the FakeLLM's script.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: int = 1
    final_status: str = "completed"
    expired_after: int = 0
    uploads: int = 0

    def upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        part = next(
            p for p in message.walk() if p.get_param("name", header="content-disposition") == "file"
        )
        self.uploads += 1
        file_id = f"file-{self.uploads}"
        self.files[file_id] = bytes(part.get_payload(decode=True))
        return {"id": file_id, "object": "file", "bytes": len(self.files[file_id]),
                "created_at": int(time.time()), "filename": "batch.jsonl", "purpose": "batch",
                "status": "processed"}  # fmt: skip

    def create(self, params: dict[str, Any], llm: FakeLLM) -> dict[str, Any]:
        lines = [json.loads(line) for line in self.files[params["input_file_id"]].splitlines()]
        kept = lines if self.final_status == "completed" else lines[: self.expired_after]
        output = [self._answer(line, llm) for line in kept]
        batch_id = f"batch-{len(self.batches) + 1}"
        output_id = f"file-out-{batch_id}"
        self.files[output_id] = "\n".join(json.dumps(o) for o in output).encode()
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": params["endpoint"],
            "completion_window": params["completion_window"], "created_at": int(time.time()),
            "input_file_id": params["input_file_id"], "status": "in_progress",
            "output_file_id": output_id, "polls_left": self.polls,
        }  # fmt: skip
        return self.retrieve(batch_id, poll=False)

    def retrieve(self, batch_id: str, poll: bool = True) -> dict[str, Any]:
        batch = self.batches[batch_id]
        if poll and batch["status"] == "in_progress":
            batch["polls_left"] -= 1
            if batch["polls_left"] < 0:
                batch["status"] = self.final_status
        return {k: v for k, v in batch.items() if k != "polls_left"}

    @staticmethod
    def _answer(line: dict[str, Any], llm: FakeLLM) -> dict[str, Any]:
        request, outcome = record_call(llm, line["body"], via_batch=True)
        if outcome in ("500", "429", "400", "timeout"):
            status = 500 if outcome == "timeout" else int(outcome)
            response = {"status_code": status, "body": {"error": {"message": outcome}}}
        else:
            content, finish = successful_content(request, outcome)
            body = completion_body(line["body"]["model"], content, finish)
            response = {"status_code": 200, "body": body}
        return {"id": f"req-{line['custom_id']}", "custom_id": line["custom_id"],
                "response": response, "error": None}  # fmt: skip


def fake_fields(request: PromptRequest, takeaways: int = 4) -> dict[str, Any]:
    """The fake model's answer: exactly the fields of the prompt's output schema."""
    summary, takeaway, translation = CANNED.get(request.language_name, CANNED["English"])
    word = topic_word(request.paper["title"])
    numerals = ENGLISH_NUMERALS if request.language_name == "English" else NUMERALS
    canned: dict[str, Any] = {
        "summary": summary.format(w=word),
        "takeaways": [takeaway.format(n=numerals[i], w=word) for i in range(takeaways)],
        "title_translated": f"译：{request.paper['title']}",
        "abstract_translated": translation.format(w=word),
    }
    return {name: canned[name] for name in output_schema(request.translate)["properties"]}


def spoil(fields: dict[str, Any], outcome: str) -> dict[str, Any]:
    """The fields as a misbehaving model would write them."""
    english = CANNED["English"][0].format(w="it")
    spoilt = {
        "invalid": {"takeaways": fields["takeaways"][:2]},
        "chatter": {"summary": "Here is the summary you asked for. " + fields["summary"]},
        "markdown": {"summary": "**Summary**: " + fields["summary"]},
        "wrong_language": {"summary": english, "takeaways": [english] * 3},
        "invented_number": {"summary": fields["summary"] + " Accuracy 97.25%."},
    }
    return {**fields, **spoilt.get(outcome, {})}


def successful_content(request: PromptRequest, outcome: str) -> tuple[str, str]:
    """The message content and finish reason of a call that answers 200."""
    content = json.dumps(spoil(fake_fields(request), outcome), ensure_ascii=False)
    if outcome == "broken_json":
        content = content[: len(content) // 2]
    return content, "length" if outcome == "truncated" else "stop"


def record_call(
    llm: FakeLLM, body: dict[str, Any], via_batch: bool = False
) -> tuple[PromptRequest, str]:
    """Read a request with the prompt module's own reader; note it and pick its outcome."""
    request = read_request(body)
    outcome = llm.next_outcome()
    if INJECTION_MARKER in request.paper["abstract"].lower():
        outcome = "chatter"
    paper_id, language = request.paper["arxiv_id"], request.language_name
    llm.calls.append(
        LLMCall(paper_id, language, body["model"], body["response_format"], outcome,
                request.corrective, via_batch)
    )  # fmt: skip
    return request, outcome


class _LLMHandler(_QuietHandler):
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
        content, finish = successful_content(request, outcome)
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


def completion_body(model: str, content: str, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 120, "total_tokens": 420},
    }


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


_FAILURES: dict[str, Callable[[_LLMHandler, FakeLLM], None]] = {
    "500": _error(500, "internal error"),
    "429": _rate_limited,
    "400": _error(400, "bad request: unsupported parameter"),
    "timeout": _hang,
}
