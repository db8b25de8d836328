"""The offline enricher: no network, no model, the abstract's own key sentences."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import snowballstemmer

from feedsvc.models import MAX_SCORE, Enrichment, Paper, Relevance, Section
from worker.enrich.prompt import MAX_TAKEAWAYS, Interest

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\\$(\"'])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "resp.")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
_STOPWORDS = frozenset(
    (
        "the and for with that this from are our was were which these those their have has "
        "been can not but its into than then also such using use used via over under between "
        "both each more most other some only paper propose proposed show shows present"
    ).split()
)
# Words an interest is phrased with, which say nothing of what it is in.
_INTEREST_STOPWORDS = _STOPWORDS | frozenset(
    "papers work works method methods approach approaches new novel interested interest "
    "looking want wants anything something about any all how what who whether without "
    "especially particularly mainly rather reader readers rarely".split()
)
_stemmer = snowballstemmer.stemmer("english")


class ExtractiveEnricher:
    """No network, no model: summary and takeaways are the abstract's own key sentences."""

    identity = ("extractive", "", "")

    def enrich(
        self, paper: Paper, language: str, interests: Sequence[Interest] = (),
        sections: Sequence[Section] | None = None,
    ) -> Enrichment:  # fmt: skip
        """`sections` are not read offline: the summary is the abstract's own sentences."""
        sentences = split_sentences(paper.abstract)
        ranked = rank_sentences(sentences)
        summary_picks = sorted(ranked[:2])
        takeaway_picks = sorted(ranked[: MAX_TAKEAWAYS - 2])
        return Enrichment(
            language=language,
            method="extractive",
            summary=" ".join(sentences[i] for i in summary_picks),
            takeaways=tuple(sentences[i] for i in takeaway_picks),
            source_version=paper.version,
            source_hash=paper.source_hash,
            relevance=tuple(overlap_score(paper, interest) for interest in interests),
        )


def overlap_score(paper: Paper, interest: Interest) -> Relevance:
    """The share of the interest's words (stemmed: "segmenting" finds "segmentation") that
    the paper's title and abstract have, out of MAX_SCORE; the words found say why."""
    wanted = dict.fromkeys(
        word.lower() for word in _WORD.findall(interest.text)
        if word.lower() not in _INTEREST_STOPWORDS
    )  # fmt: skip
    present = {_stem(word.lower()) for word in _WORD.findall(f"{paper.title} {paper.abstract}")}
    matched = tuple(word for word in wanted if _stem(word) in present)
    score = round(MAX_SCORE * len(matched) / len(wanted)) if wanted else 0
    return Relevance(interest.topic, score, "", interest.key, matched, len(wanted))


def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word.replace("-", "")))


def split_sentences(text: str) -> list[str]:
    """Sentences of an English abstract, not split after common abbreviations."""
    protected = text
    for i, abbreviation in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbreviation, f"\x00{i}\x00")
    parts = [p.strip() for p in _SENTENCE_SPLIT.split(protected) if p.strip()]
    return [_restore_abbreviations(part) for part in parts]


def _restore_abbreviations(text: str) -> str:
    for i, abbreviation in enumerate(_ABBREVIATIONS):
        text = text.replace(f"\x00{i}\x00", abbreviation)
    return text


def rank_sentences(sentences: list[str]) -> list[int]:
    """Sentence indexes, most informative first (word frequency, a bonus for the first)."""
    words = [
        [w.lower() for w in _WORD.findall(s) if w.lower() not in _STOPWORDS] for s in sentences
    ]
    frequency = Counter(w for sentence in words for w in sentence)

    def score(i: int) -> float:
        if not words[i]:
            return 0.0
        base = sum(frequency[w] for w in words[i]) / math.pow(len(words[i]), 0.7)
        return base * (1.5 if i == 0 else 1.0)

    return sorted(range(len(sentences)), key=lambda i: (-score(i), i))
