"""What the fake model answers: canned text per language, in the fields of the output schema."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from worker.enrich.prompt import PromptRequest, output_schema, read_request

if TYPE_CHECKING:
    from tests.servers.llm import FakeLLM

NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八"]
ENGLISH_NUMERALS = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
GERMAN_NUMERALS = ["eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht"]
TITLE_PREFIXES = {"German": "Übersetzt: "}  # the others keep the fixtures' "译："
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
    "German": (
        "Diese Arbeit untersucht Methoden zu „{w}“ und berichtet über die Ergebnisse ihrer "
        "Experimente.",
        "Punkt {n}: Die Arbeit schlägt zu „{w}“ einen neuen Ansatz vor.",
        "[Übersetzung] Diese Arbeit behandelt das Problem „{w}“, schlägt eine neue Methode vor "
        "und bestätigt ihre Wirksamkeit in Experimenten.",
    ),
    "Japanese": (
        "この論文は「{w}」に関する手法を研究し、実験結果を報告する。",
        "要点{n}：「{w}」についての新しい考え方を示す。",
        "【訳文】本論文は「{w}」の問題を扱い、新しい手法を提案して実験で有効性を確かめた。",
    ),
}
INJECTION_MARKER = "ignore previous instructions"
# What the fake model writes of a paper's sections, per language: method, results, limits.
READ = {
    "Simplified Chinese": (
        "该方法围绕「{w}」构建。论文在实验中评估了它。",
        "论文在「{s}」一节报告了主要结果。",
        "作者指出其方法仍有局限。",
    ),
    "English": (
        "The method builds on {w}. The paper evaluates it in experiments.",
        "The paper reports its main results in the section {s}.",
        "The authors state that their method has limits.",
    ),
    "German": (
        "Die Methode baut auf „{w}“ auf. Die Arbeit prüft sie in Experimenten.",
        "Die Arbeit berichtet ihre Hauptergebnisse im Abschnitt {s}.",
        "Die Autoren nennen Grenzen ihrer Methode.",
    ),
    "Japanese": (
        "手法は「{w}」に基づく。論文は実験でそれを評価する。",
        "論文は「{s}」の節で主な結果を報告する。",
        "著者は手法の限界を述べている。",
    ),
}
# The fake model's reason for a score, per language.
REASONS = {
    "Simplified Chinese": "相关：论文讨论了「{w}」，与该兴趣的重合处：{n}。",
    "English": "Relevant: the paper is about {w}, and shares with the interest: {n}.",
    "German": "Relevant: Die Arbeit behandelt „{w}“ und teilt mit dem Interesse: {n}.",
    "Japanese": "関連：「{w}」を扱い、関心と重なる語：{n}。",
}


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


def fake_fields(request: PromptRequest, takeaways: int = 4) -> dict[str, Any]:
    """The fake model's answer: exactly the fields of the prompt's output schema."""
    summary, takeaway, translation = CANNED.get(request.language_name, CANNED["English"])
    word = topic_word(request.paper["title"])
    numerals = {"English": ENGLISH_NUMERALS, "German": GERMAN_NUMERALS}.get(
        request.language_name, NUMERALS
    )
    canned: dict[str, Any] = {
        "summary": summary.format(w=word),
        "takeaways": [takeaway.format(n=numerals[i], w=word) for i in range(takeaways)],
        "title_translated": TITLE_PREFIXES.get(request.language_name, "译：")
        + request.paper["title"],
        "abstract_translated": translation.format(w=word),
    }
    fields = {name: canned[name] for name in output_schema(request.translate)["properties"]}
    return with_relevance(with_full_text(fields, request), request)


def with_full_text(fields: dict[str, Any], request: PromptRequest) -> dict[str, Any]:
    """The fields with method, results and limitations when the prompt gave the sections:
    the results name the last section the request holds."""
    if not request.full_text:
        return fields
    method, results, limits = READ.get(request.language_name, READ["English"])
    last = request.paper["sections"][-1]["title"]
    word = topic_word(request.paper["title"])
    return {**fields, "method": method.format(w=word), "results": results.format(s=last),
            "limitations": limits}  # fmt: skip


def with_relevance(fields: dict[str, Any], request: PromptRequest) -> dict[str, Any]:
    """The fields with a score and reason for each interest the prompt states: 3 for each
    of the interest's longer words in the title and abstract, at most 10."""
    if not request.interests:
        return fields
    text = f"{request.paper['title']} {request.paper['abstract']}".lower()
    reason = REASONS.get(request.language_name, REASONS["English"])
    word = topic_word(request.paper["title"])
    relevance = {}
    for topic, interest in request.interests.items():
        shared = {w for w in interest.lower().split() if len(w) > 3 and w in text}
        relevance[topic] = {
            "score": min(10, 3 * len(shared)),
            "reason": reason.format(w=word, n=", ".join(sorted(shared)) or "-"),
        }
    return {**fields, "relevance": relevance}


def spoil(fields: dict[str, Any], outcome: str) -> dict[str, Any]:
    """The fields as a misbehaving model would write them."""
    english = CANNED["English"][0].format(w="it")
    spoilt = {
        "invalid": {"takeaways": []},
        "chatter": {"summary": "Here is the summary you asked for. " + fields["summary"]},
        "markdown": {"summary": "**Summary**: " + fields["summary"]},
        "wrong_language": {"summary": english, "takeaways": [english] * 3},
        "invented_number": {"summary": fields["summary"] + " Accuracy 97.25%."},
        "score_out_of_range": {
            "relevance": {
                t: {"score": 11, "reason": r["reason"]}
                for t, r in fields.get("relevance", {}).items()
            }
        },
        "no_relevance": {"relevance": {}},
    }
    return {**fields, **spoilt.get(outcome, {})}


def successful_content(
    request: PromptRequest, outcome: str, recorded: dict[str, Any] | None = None
) -> tuple[str, str]:
    """The message content and finish reason of a call that answers 200: the `recorded`
    answer of a real model when there is one, else the canned fields."""
    fields = (
        with_relevance(with_full_text(recorded, request), request)
        if recorded is not None else fake_fields(request)
    )  # fmt: skip
    content = json.dumps(spoil(fields, outcome), ensure_ascii=False)
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
