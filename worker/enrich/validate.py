"""The model's output: parsed into a ModelOutput and checked (shape, language, chatter,
Markdown, numbers), or rejected with a reason the model is told.

A faithful answer is never thrown away for its length: a summary over the hard cap is cut at
a sentence boundary, takeaways past the maximum are dropped, and `ModelOutput.adjustments`
says so. Rejection is for what a reader must not see: the wrong language, chatter, markup,
an empty or broken field.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from feedsvc.errors import EnrichmentFailed
from feedsvc.models import MAX_SCORE, SOURCE_LANGUAGE, Paper, Section
from worker.enrich.language import MIN_VARIANT_SHARE, chinese_variant_share, identify, known
from worker.enrich.llm import Completion
from worker.enrich.prompt import (
    FULL_TEXT_FIELDS,
    MAX_SUMMARY_SENTENCES,
    MAX_TAKEAWAYS,
    MIN_TAKEAWAYS,
    RELEVANCE_FIELD,
    Interest,
)

MAX_SUMMARY_CHARS = 1200  # the hard cap: a longer summary is cut at a sentence boundary
MAX_TAKEAWAY_CHARS = 400
MAX_TITLE_CHARS = 500
MAX_TRANSLATION_CHARS = 8000
MAX_REASON_CHARS = 300
MAX_FULL_TEXT_CHARS = 800  # method, results, limitations: two or three sentences each
CJK_LANGUAGES = {"zh", "ja"}
MIN_SCRIPT_SHARE = 0.3
MIN_LATIN_SHARE = 0.7
MIN_CJK_PROSE_SHARE = 0.6
SCRIPT_OF_LANGUAGE = {
    "ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "sr": "CYRILLIC",
    "ar": "ARABIC", "fa": "ARABIC", "he": "HEBREW", "hi": "DEVANAGARI", "th": "THAI",
    "el": "GREEK", "ko": "HANGUL",
}  # fmt: skip
CHATTER = re.compile(
    r"\b(here is|here's|here are|i hope|hope this|as an ai|let me know|feel free|i'm sorry"
    r"|i apologi[sz]e|happy to help|certainly[,!]|sure[,!]|below is|the following is)\b"
    r"|希望(这|此|以上|本)|以下是|很高兴|抱歉|作为(一个)?\s*AI|如果您|请告诉我|符合您的"
    r"|以下は|お役に立て|申し訳|ご要望",
    re.IGNORECASE,
)
MARKDOWN = re.compile(r"```|^\s{0,3}#{1,6}\s|\*\*[^*]+\*\*|^\s*>\s", re.MULTILINE)
LEADING_MARKER = re.compile(r"^\s*(?:[-*•]\s+|\(?\d{1,2}[.)、]\s*|[①-⑩]\s*)")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$)|[。！？]")
# What is not prose when judging a text's language: URLs, LaTeX (math and commands), code.
_NOT_PROSE = re.compile(
    r"https?://\S+|www\.\S+|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[A-Za-z]+\*?(?:\{[^}]*\})*|`[^`]*`"
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(frozen=True)
class ModelOutput:
    """The model's answer, cleaned and accepted; the translations are "" when not asked for."""

    summary: str
    takeaways: tuple[str, ...]
    title_translated: str = ""
    abstract_translated: str = ""
    unverified_numbers: tuple[str, ...] = ()  # numbers the abstract does not have
    adjustments: tuple[str, ...] = ()  # what was cut to fit, said in the stored record
    scores: tuple[tuple[str, int, str], ...] = ()  # (topic, score, reason) per interest asked
    full_text: tuple[str, str, str] = ("", "", "")  # method, results, limitations, when read


def accept_output(
    completion: Completion, paper: Paper, language: str, interests: Sequence[Interest] = (),
    sections: Sequence[Section] = (),
) -> ModelOutput:  # fmt: skip
    """The checked output of a completion; EnrichmentFailed says why it is not acceptable.
    Given the paper's `sections`, its numbers are checked against them too.

    A cut-off answer counts as a failed call (kind "call"), so it gets no second chance.
    """
    if completion.finish_reason not in ("", "stop"):
        raise EnrichmentFailed(f"model stopped early: finish_reason={completion.finish_reason}")
    translate = language != SOURCE_LANGUAGE
    output = parse_llm_output(completion.content, translate, interests, bool(sections))
    full_text = " ".join(section.text for section in sections)
    return replace(output, unverified_numbers=validate_output(output, paper, language, full_text))


def parse_llm_output(
    content: str, translate: bool, interests: Sequence[Interest] = (), full_text: bool = False
) -> ModelOutput:
    """The model's JSON, checked field by field; raise EnrichmentFailed on any problem."""
    data = _json_object(content)
    adjustments: list[str] = []
    summary = _summary(data.get("summary"), adjustments)
    takeaways = _takeaways(data.get("takeaways"), adjustments)
    scores = _scores(data.get(RELEVANCE_FIELD), interests, adjustments) if interests else ()
    read = _full_text_fields(data, adjustments) if full_text else ("", "", "")
    output = ModelOutput(summary, takeaways, adjustments=(), scores=scores, full_text=read)
    if translate:
        title = _clean_text(data.get("title_translated"), "title", MAX_TITLE_CHARS)
        abstract = _clean_text(
            data.get("abstract_translated"), "abstract_translated", MAX_TRANSLATION_CHARS
        )
        output = replace(output, title_translated=title, abstract_translated=abstract)
    return replace(output, adjustments=tuple(adjustments))


def _full_text_fields(data: dict[str, Any], adjustments: list[str]) -> tuple[str, str, str]:
    """Method, results and limitations: each present, each cut at a sentence boundary when
    over MAX_FULL_TEXT_CHARS."""
    found = []
    for name in FULL_TEXT_FIELDS:
        text = _clean_text(data.get(name), name, max_chars=None)
        if len(text) > MAX_FULL_TEXT_CHARS:
            text = cut_at_sentence(text, MAX_FULL_TEXT_CHARS)
            adjustments.append(f"{name} cut at a sentence boundary to {len(text)} characters")
        found.append(text)
    return found[0], found[1], found[2]


def _scores(
    value: Any, interests: Sequence[Interest], adjustments: list[str]
) -> tuple[tuple[str, int, str], ...]:
    """A score and a reason for each interest asked, in their order; one not asked is
    dropped."""
    asked = [interest.topic for interest in interests]
    if not isinstance(value, dict):
        raise _invalid(f"relevance must be an object with a score and a reason for {asked}")
    if extra := sorted(set(value) - set(asked)):
        adjustments.append(f"relevance for {extra}, not asked, dropped")
    return tuple((topic, *_score(value.get(topic), topic, adjustments)) for topic in asked)


def _score(value: Any, topic: str, adjustments: list[str]) -> tuple[int, str]:
    if not isinstance(value, dict):
        raise _invalid(f"relevance has no score and reason for {topic!r}")
    score = value.get("score")
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= MAX_SCORE:
        raise _invalid(f"the score for {topic!r} must be a whole number from 0 to {MAX_SCORE}")
    reason = _clean_text(value.get("reason"), f"the reason for {topic!r}", max_chars=None)
    if len(reason) > MAX_REASON_CHARS:
        reason = cut_at_sentence(reason, MAX_REASON_CHARS)
        adjustments.append(f"the reason for {topic!r} cut to {len(reason)} characters")
    return score, reason


def validate_output(
    output: ModelOutput, paper: Paper, language: str, full_text: str = ""
) -> tuple[str, ...]:
    """Reject chatter, Markdown and the wrong language; return numbers in neither the
    abstract nor, given it, the `full_text` read."""
    reasons = [reason for _, _, reason in output.scores]
    read = [text for text in output.full_text if text]
    written = [output.summary, *output.takeaways, *reasons, *read]
    check_plain_text(output.summary, "summary")
    check_plain_text(" ".join(output.takeaways), "takeaways")
    if reasons:
        check_plain_text(" ".join(reasons), "relevance reasons")
    for name, text in zip(FULL_TEXT_FIELDS, output.full_text, strict=False):
        if text:
            check_plain_text(text, name)
    check_language(" ".join(written), language)
    if output.abstract_translated:
        check_plain_text(output.abstract_translated, "abstract_translated")
        check_language(output.abstract_translated, language)
    source = f"{paper.title} {paper.abstract} {paper.comment} {full_text}"
    return unverified_numbers(written, source)


def _json_object(content: str) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _invalid(f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise _invalid("JSON that is not an object")
    return data


def _summary(value: Any, adjustments: list[str]) -> str:
    """The summary, however many sentences (the prompt asks for at most three), cut at a
    sentence boundary when it is over the hard cap."""
    summary = _clean_text(value, "summary", max_chars=None)
    sentences = len(_SENTENCE_END.findall(summary))
    if sentences > MAX_SUMMARY_SENTENCES:
        adjustments.append(f"summary of {sentences} sentences, {MAX_SUMMARY_SENTENCES} asked")
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = cut_at_sentence(summary, MAX_SUMMARY_CHARS)
        adjustments.append(f"summary cut at a sentence boundary to {len(summary)} characters")
    return summary


def _takeaways(value: Any, adjustments: list[str]) -> tuple[str, ...]:
    """At least one takeaway; past the maximum, the first ones; each cut to its cap."""
    if not isinstance(value, list) or not value:
        raise _invalid("takeaways must be a non-empty list of strings")
    if len(value) > MAX_TAKEAWAYS:
        adjustments.append(f"{len(value)} takeaways, the first {MAX_TAKEAWAYS} kept")
        value = value[:MAX_TAKEAWAYS]
    if len(value) < MIN_TAKEAWAYS:
        adjustments.append(f"{len(value)} takeaways, {MIN_TAKEAWAYS} to {MAX_TAKEAWAYS} asked")
    points = []
    for raw in value:
        point = strip_list_marker(_clean_text(raw, "takeaways", max_chars=None))
        if len(point) > MAX_TAKEAWAY_CHARS:
            point = cut_at_sentence(point, MAX_TAKEAWAY_CHARS)
            adjustments.append(f"a takeaway cut to {len(point)} characters")
        points.append(point)
    return tuple(points)


def cut_at_sentence(text: str, max_chars: int) -> str:
    """The longest run of whole sentences within `max_chars`; else the text cut at a space
    (or, without one, at the cap) with an ellipsis."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= max_chars]
    if ends:
        return text[: ends[-1]].strip()
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip() + "…"


def _clean_text(value: Any, field_name: str, max_chars: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"field {field_name!r} is missing or empty")
    text = " ".join(_CONTROL_CHARS.sub("", value).split())
    if max_chars is not None and len(text) > max_chars:
        raise _invalid(f"field {field_name!r} is longer than {max_chars} characters")
    return text


def _invalid(problem: str) -> EnrichmentFailed:
    return EnrichmentFailed(f"LLM output rejected: {problem}", kind="validation")


def check_language(text: str, language: str) -> None:
    """Raise EnrichmentFailed when `text` is not plausibly written in `language`: first by
    its script (cheap, and sure of what it sees), then, for the languages lingua knows, by
    identifying the language of its prose among the ones an answer is likely to be in."""
    base = language.split("-", 1)[0]
    counts = _script_counts(text)
    letters = sum(counts.values()) or 1
    if base in CJK_LANGUAGES:
        _check_cjk(text, counts, base)
    elif base in SCRIPT_OF_LANGUAGE:
        share = counts.get(SCRIPT_OF_LANGUAGE[base], 0) / letters
        if share < MIN_SCRIPT_SHARE:
            raise _wrong_language(language, f"only {share:.0%} {SCRIPT_OF_LANGUAGE[base]} letters")
    else:
        share = counts.get("LATIN", 0) / letters
        if share < MIN_LATIN_SHARE:
            raise _wrong_language(language, f"only {share:.0%} Latin letters")
    if known(language):
        _check_identified(text, language)


def _check_identified(text: str, language: str) -> None:
    base = language.split("-", 1)[0]
    prose = _NOT_PROSE.sub(" ", text)
    if base in CJK_LANGUAGES or base in SCRIPT_OF_LANGUAGE:
        prose = _LATIN_WORD.sub(" ", prose)  # English terms say nothing of the language
    verdict = identify(prose, language)
    if verdict.refutes(base):
        raise _wrong_language(language, f"reads as {verdict.language}")
    if base == "zh":
        share = chinese_variant_share(prose, language)
        if share < MIN_VARIANT_SHARE:
            variant = "Simplified" if language == "zh-TW" else "Traditional"
            raise _wrong_language(language, f"written in {variant} Chinese")


def _check_cjk(text: str, counts: dict[str, int], base: str) -> None:
    han_and_kana = counts.get("CJK", 0) + counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0)
    share = cjk_prose_share(text, han_and_kana)
    if share < MIN_CJK_PROSE_SHARE:
        raise _wrong_language(base, f"only {share:.0%} of its prose in CJK characters")
    kana = counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0)
    if base == "ja" and kana == 0:
        raise _wrong_language(base, "no kana: this reads as Chinese, not Japanese")
    if base == "zh" and kana > 0.05 * han_and_kana:
        raise _wrong_language(base, "kana found: this reads as Japanese, not Chinese")


def cjk_prose_share(text: str, cjk_characters: int) -> float:
    """How much of the text's prose is CJK: its CJK characters against the lowercase Latin
    words left once URLs, LaTeX, code and names are set aside. Chinese prose is full of
    English terms ("Vision Transformer(ViT)", "Contrast-Driven ... (ConDSeg)") and formulas;
    those say nothing about the language it is written in, but "the", "of" and "method" do."""
    prose = _NOT_PROSE.sub(" ", text)
    words = [word for word in _LATIN_WORD.findall(prose) if word.islower()]
    if not cjk_characters:
        return 0.0
    return cjk_characters / (cjk_characters + len(words))


def _wrong_language(language: str, detail: str) -> EnrichmentFailed:
    return EnrichmentFailed(f"output is not in {language}: {detail}", kind="validation")


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        script = "CJK" if name.startswith("CJK") else name.split(" ", 1)[0]
        counts[script] = counts.get(script, 0) + 1
    return counts


def check_plain_text(value: str, field_name: str) -> None:
    """Raise EnrichmentFailed on chatter or Markdown in a plain-text field."""
    chatter = CHATTER.search(value)
    if chatter:
        raise EnrichmentFailed(
            f"{field_name} holds chatter ({chatter.group(0)!r}), not content", kind="validation"
        )
    if MARKDOWN.search(value):
        raise EnrichmentFailed(f"{field_name} holds Markdown; plain text only", kind="validation")


def strip_list_marker(takeaway: str) -> str:
    """'1. Point' / '- Point' / '① Point' -> 'Point': the feed numbers takeaways itself."""
    return LEADING_MARKER.sub("", takeaway, count=1).strip()


def unverified_numbers(texts: list[str], source: str) -> tuple[str, ...]:
    """Numbers in `texts` that do not occur in `source`: possibly unfaithful."""
    known = {_normalise_number(n) for n in NUMBER.findall(source)}
    found: list[str] = []
    for text in texts:
        for number in NUMBER.findall(text):
            if _normalise_number(number) not in known and number not in found:
                found.append(number)
    return tuple(found)


def _normalise_number(raw: str) -> str:
    digits = raw.replace(",", "")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits
