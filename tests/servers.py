"""Local HTTP servers that replay the outside world: the arXiv API and an OpenAI-compatible LLM.

Both run in a thread on 127.0.0.1 and are reached over real HTTP by the real clients.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


class _Server:
    """A threaded HTTP server on a free loopback port, stopped by `close()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

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
    version = int(re.search(r"v(\d+)$", id_element.text).group(1)) + 1
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

# What the fake model writes per language: (summary, takeaway, translation prefix).
CANNED = {
    "Simplified Chinese": ("这篇论文研究了{title}。", "要点{n}：{title}", "摘要翻译："),
    "English": ("This paper studies {title}.", "Point {n} about {title}", ""),
    "Japanese": ("この論文は{title}を研究する。", "要点{n}：{title}", "要約の翻訳："),
}


@dataclass
class LLMCall:
    arxiv_id: str
    language: str
    model: str
    response_format: dict[str, Any]
    outcome: str


@dataclass
class FakeLLM:
    """An OpenAI-compatible chat completions server with scriptable failures.

    `script` holds outcomes for the next calls, one each, in order: "ok", "500", "429",
    "timeout", "broken_json", "invalid" (schema-valid JSON with too few takeaways), or
    "slow". With an empty script every call succeeds after `latency_seconds`.
    """

    latency_seconds: float = 0.0
    timeout_seconds: float = 5.0
    script: list[str] = field(default_factory=list)
    calls: list[LLMCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _Server | None = None

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
            return self.script.pop(0) if self.script else "ok"

    def calls_for(self, arxiv_id: str) -> list[LLMCall]:
        return [c for c in self.calls if c.arxiv_id == arxiv_id]

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def parse_request(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The paper data and the language name a feedsvc prompt asks for."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    paper = json.loads(user.split("<paper>", 1)[1].split("</paper>", 1)[0])
    language = re.search(r"Write every field in ([A-Za-z ]+?)\.", system)
    return paper, language.group(1) if language else "English"


def fake_completion(paper: dict[str, Any], language: str, translate: bool, n: int) -> str:
    summary, takeaway, prefix = CANNED.get(language, CANNED["English"])
    title = short_title(paper["title"])
    fields: dict[str, Any] = {
        "summary": summary.format(title=title),
        "takeaways": [takeaway.format(n=i, title=title) for i in range(1, n + 1)],
    }
    if translate:
        fields["title_translated"] = f"{prefix}{title}"
        fields["abstract_translated"] = f"{prefix}{paper['abstract']}"
    return json.dumps(fields, ensure_ascii=False)


class _LLMHandler(_QuietHandler):
    def do_POST(self) -> None:
        llm: FakeLLM = self.server.app.llm  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        paper, language = parse_request(body)
        outcome = llm.next_outcome()
        llm.calls.append(
            LLMCall(paper["arxiv_id"], language, body["model"], body["response_format"], outcome)
        )
        time.sleep(llm.latency_seconds)
        if outcome in _FAILURES:
            _FAILURES[outcome](self, llm)
            return
        if outcome == "slow":
            time.sleep(llm.timeout_seconds / 2)
        translate = "title_translated" in json.dumps(body["response_format"])
        content = fake_completion(paper, language, translate, 2 if outcome == "invalid" else 4)
        if outcome == "broken_json":
            content = content[: len(content) // 2]
        self.send_json(200, completion_body(body["model"], content))

    def send_json(self, status: int, data: dict[str, Any], **headers: str) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json", **headers)


def completion_body(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 120, "total_tokens": 420},
    }


def _error(status: int, message: str, **headers: str) -> Callable[[_LLMHandler, FakeLLM], None]:
    def send(handler: _LLMHandler, _llm: FakeLLM) -> None:
        handler.send_json(status, {"error": {"message": message, "type": "test"}}, **headers)

    return send


def _hang(handler: _LLMHandler, llm: FakeLLM) -> None:
    time.sleep(llm.timeout_seconds)
    handler.send_json(200, completion_body("late", "{}"))


_FAILURES: dict[str, Callable[[_LLMHandler, FakeLLM], None]] = {
    "500": _error(500, "internal error"),
    "429": _error(429, "rate limited", Retry_After="1"),
    "timeout": _hang,
}


def short_title(title: str) -> str:
    """How the fake model quotes a title: its first 60 characters."""
    return title[:60].strip()
