"""Which language a model's answer is written in: the one module that imports `lingua` and
`hanzidentifier`.

lingua (https://github.com/pemistahl/lingua-py) carries its models for 75 languages inside
the package, nothing is fetched at run time, and it is accurate on short texts. Each wanted
language is told apart, with the full models, from the ones an answer is likely to be in
instead: English (the paper's language), its close neighbours, for Chinese Japanese; then,
with the small models, from every language the prompt names (English by those alone). Only
those models are loaded: a worker for zh, en and ja grows by 19 MiB, one for a Latin-script
language by some 30 MiB more (its full model, its neighbours'). hanzidentifier then tells
Simplified from Traditional Chinese, by the characters that exist in only one of the two.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import hanzidentifier
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from worker.enrich.prompt import LANGUAGE_NAMES

LINGUA = {language.iso_code_639_1.name.lower(): language for language in Language.all()}
NEIGHBOURS = {
    "ar": ("PERSIAN", "URDU"), "de": ("DUTCH",), "es": ("PORTUGUESE", "ITALIAN", "CATALAN"),
    "fr": ("ITALIAN", "SPANISH"), "hi": ("MARATHI",), "it": ("SPANISH", "PORTUGUESE"),
    "ja": ("CHINESE",), "ko": ("JAPANESE",), "nl": ("GERMAN", "AFRIKAANS"),
    "pl": ("CZECH", "SLOVAK"), "pt": ("SPANISH", "ITALIAN"), "ru": ("UKRAINIAN", "BULGARIAN"),
    "tr": ("AZERBAIJANI",), "uk": ("RUSSIAN", "BELARUSIAN"), "vi": (), "zh": ("JAPANESE",),
}  # fmt: skip
MIN_CONFIDENCE = 0.5  # below it, the answer is too short or mixed to call: not rejected
MIN_BROAD_CONFIDENCE = 0.7  # the small models must be surer to overrule the full ones
MIN_VARIANT_SHARE = 0.8  # of the characters only one Chinese variant has


@dataclass(frozen=True)
class Verdict:
    """The language a text reads as, among the wanted one and its rivals, and how sure."""

    language: str  # a code of LINGUA, or a lingua name for a neighbour ("CATALAN")
    confidence: float

    def refutes(self, wanted: str) -> bool:
        """The text reads, with confidence, as a language other than the one wanted."""
        return self.language != wanted and self.confidence >= MIN_CONFIDENCE


def known(language: str) -> bool:
    """Whether the language can be checked (its base code, 'zh-TW' -> 'zh')."""
    return language.split("-")[0] in LINGUA


def identify(text: str, wanted: str) -> Verdict:
    """The language the text is written in: among the wanted one and its close rivals
    (full models), and, when that finds the wanted one, among every language the prompt
    names (the small models: 40 MiB for all), so Turkish asked as Polish is caught too."""
    base = wanted.split("-")[0]
    close = _verdict(_detector(base), text, base)
    if close.language != base:
        return close
    broad = _verdict(_every_language(base), text, base)
    return broad if broad.language != base and broad.confidence >= MIN_BROAD_CONFIDENCE else close


def _verdict(detector: LanguageDetector, text: str, base: str) -> Verdict:
    values = detector.compute_language_confidence_values(text)
    if not values:
        return Verdict(base, 0.0)
    best = values[0]
    code = next((c for c, lang in LINGUA.items() if lang == best.language), best.language.name)
    return Verdict(code, best.value)


def chinese_variant_share(text: str, wanted: str) -> float:
    """Of the characters that exist in only one Chinese variant, the share in the wanted one
    ('zh-TW': Traditional; else Simplified); 1.0 when none is variant-specific."""
    simplified = traditional = 0
    for char in text:
        kind = hanzidentifier.identify(char)
        simplified += kind == hanzidentifier.SIMPLIFIED
        traditional += kind == hanzidentifier.TRADITIONAL
    specific = simplified + traditional
    if not specific:
        return 1.0
    return (traditional if wanted == "zh-TW" else simplified) / specific


@functools.cache
def _detector(base: str) -> LanguageDetector:
    rivals = {LINGUA[base], Language.ENGLISH}
    rivals |= {getattr(Language, name) for name in NEIGHBOURS.get(base, ())}
    if len(rivals) == 1:  # English wanted: the small models of every language judge alone
        return _every_language(base)
    return LanguageDetectorBuilder.from_languages(*rivals).build()


@functools.cache
def _every_language(base: str) -> LanguageDetector:
    """The wanted language and every one the prompt names, with their small models."""
    named = {LINGUA[code.split("-")[0]] for code in LANGUAGE_NAMES} | {LINGUA[base]}
    return LanguageDetectorBuilder.from_languages(*named).with_low_accuracy_mode().build()
