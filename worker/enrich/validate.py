"""Checks on model output that need no model: language by script, chatter, Markdown, numbers."""

from __future__ import annotations

import re
import unicodedata

from feedsvc.errors import EnrichmentFailed

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
