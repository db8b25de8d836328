"""The model's output: parsed into a ModelOutput and checked (shape, length, language by
script, chatter, Markdown, numbers), or rejected with a reason the model is told.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from feedsvc.errors import EnrichmentFailed
from feedsvc.models import SOURCE_LANGUAGE, Paper
from worker.enrich.llm import Completion
from worker.enrich.prompt import MAX_SUMMARY_SENTENCES, MAX_TAKEAWAYS, MIN_TAKEAWAYS

MAX_SUMMARY_CHARS = 1200
MAX_TAKEAWAY_CHARS = 400
MAX_TITLE_CHARS = 500
MAX_TRANSLATION_CHARS = 8000
CJK_LANGUAGES = {"zh", "ja"}
MIN_SCRIPT_SHARE = 0.3
MIN_LATIN_SHARE = 0.7
SCRIPT_OF_LANGUAGE = {
    "ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "sr": "CYRILLIC",
    "ar": "ARABIC", "fa": "ARABIC", "he": "HEBREW", "hi": "DEVANAGARI", "th": "THAI",
    "el": "GREEK", "ko": "HANGUL",
}  # fmt: skip
FUNCTION_WORDS = {
    "en": {"the", "of", "and", "to", "in", "is", "we", "that", "for", "with", "this", "are"},
    "de": {"der", "die", "das", "und", "ist", "mit", "für", "wir", "von", "ein", "eine", "den"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "pour", "dans", "nous", "du", "sur"},
    "es": {"el", "la", "los", "las", "y", "es", "una", "para", "con", "del", "que", "por"},
    "it": {"il", "la", "gli", "e", "è", "una", "per", "con", "del", "che", "delle", "di"},
    "pt": {"o", "a", "os", "as", "e", "é", "uma", "para", "com", "do", "da", "que"},
}
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


@dataclass(frozen=True)
class ModelOutput:
    """The model's answer, cleaned and accepted; the translations are "" when not asked for."""

    summary: str
    takeaways: tuple[str, ...]
    title_translated: str = ""
    abstract_translated: str = ""
    unverified_numbers: tuple[str, ...] = ()  # numbers the abstract does not have


def accept_output(completion: Completion, paper: Paper, language: str) -> ModelOutput:
    """The checked output of a completion; EnrichmentFailed says why it is not acceptable.

    A cut-off answer counts as a failed call (kind "call"), so it gets no second chance.
    """
    if completion.finish_reason not in ("", "stop"):
        raise EnrichmentFailed(f"model stopped early: finish_reason={completion.finish_reason}")
    output = parse_llm_output(completion.content, language != SOURCE_LANGUAGE)
    return replace(output, unverified_numbers=validate_output(output, paper, language))


def parse_llm_output(content: str, translate: bool) -> ModelOutput:
    """The model's JSON, checked field by field; raise EnrichmentFailed on any problem."""
    data = _json_object(content)
    summary = _clean_text(data.get("summary"), "summary", MAX_SUMMARY_CHARS)
    if len(_SENTENCE_END.findall(summary)) > MAX_SUMMARY_SENTENCES:
        raise _invalid(f"summary has more than {MAX_SUMMARY_SENTENCES} sentences")
    takeaways = _takeaways(data.get("takeaways"))
    if not translate:
        return ModelOutput(summary, takeaways)
    title = _clean_text(data.get("title_translated"), "title", MAX_TITLE_CHARS)
    abstract = _clean_text(
        data.get("abstract_translated"), "abstract_translated", MAX_TRANSLATION_CHARS
    )
    return ModelOutput(summary, takeaways, title, abstract)


def validate_output(output: ModelOutput, paper: Paper, language: str) -> tuple[str, ...]:
    """Reject chatter, Markdown and the wrong language; return numbers not in the abstract."""
    written = [output.summary, *output.takeaways]
    check_plain_text(output.summary, "summary")
    check_plain_text(" ".join(output.takeaways), "takeaways")
    check_language(" ".join(written), language)
    if output.abstract_translated:
        check_plain_text(output.abstract_translated, "abstract_translated")
        check_language(output.abstract_translated, language)
    return unverified_numbers(written, f"{paper.title} {paper.abstract} {paper.comment}")


def _json_object(content: str) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _invalid(f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise _invalid("JSON that is not an object")
    return data


def _takeaways(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not MIN_TAKEAWAYS <= len(value) <= MAX_TAKEAWAYS:
        raise _invalid(f"takeaways must be a list of {MIN_TAKEAWAYS} to {MAX_TAKEAWAYS}")
    return tuple(strip_list_marker(_clean_text(t, "takeaways", MAX_TAKEAWAY_CHARS)) for t in value)


def _clean_text(value: Any, field_name: str, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"field {field_name!r} is missing or empty")
    text = " ".join(_CONTROL_CHARS.sub("", value).split())
    if len(text) > max_chars:
        raise _invalid(f"field {field_name!r} is longer than {max_chars} characters")
    return text


def _invalid(problem: str) -> EnrichmentFailed:
    return EnrichmentFailed(f"LLM output rejected: {problem}", kind="validation")


def check_language(text: str, language: str) -> None:
    """Raise EnrichmentFailed when `text` is not plausibly written in `language`."""
    base = language.split("-", 1)[0]
    counts = _script_counts(text)
    letters = sum(counts.values()) or 1
    if base in CJK_LANGUAGES:
        _check_cjk(counts, letters, base)
    elif base in SCRIPT_OF_LANGUAGE:
        share = counts.get(SCRIPT_OF_LANGUAGE[base], 0) / letters
        if share < MIN_SCRIPT_SHARE:
            raise _wrong_language(language, f"only {share:.0%} {SCRIPT_OF_LANGUAGE[base]} letters")
    else:
        _check_latin(text, counts, letters, base, language)


def _check_cjk(counts: dict[str, int], letters: int, base: str) -> None:
    han_and_kana = counts.get("CJK", 0) + counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0)
    if han_and_kana / letters < MIN_SCRIPT_SHARE:
        raise _wrong_language(base, f"only {han_and_kana / letters:.0%} CJK characters")
    kana = counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0)
    if base == "ja" and kana == 0:
        raise _wrong_language(base, "no kana: this reads as Chinese, not Japanese")
    if base == "zh" and kana > 0.05 * han_and_kana:
        raise _wrong_language(base, "kana found: this reads as Japanese, not Chinese")


def _check_latin(text: str, counts: dict[str, int], letters: int, base: str, language: str) -> None:
    share = counts.get("LATIN", 0) / letters
    if share < MIN_LATIN_SHARE:
        raise _wrong_language(language, f"only {share:.0%} Latin letters")
    if base not in FUNCTION_WORDS:
        return
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {code: sum(w in vocab for w in words) for code, vocab in FUNCTION_WORDS.items()}
    best = max(scores, key=lambda code: scores[code])
    if best != base and scores[best] > 2 * max(scores[base], 1):
        raise _wrong_language(language, f"reads as {best}")


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
