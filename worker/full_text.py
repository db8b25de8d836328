"""The full text a full-text topic's enrichment reads: the paper's own sections (its
introduction, method, experiments, conclusion, whatever the authors call them) without
related work, background, acknowledgements and appendices, trimmed to a token budget.

Sections shorter than their share of the budget are kept whole; the others share what is
left, each cut at a sentence boundary, so every part of the paper is represented.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from feedsvc.models import Section

CHARS_PER_TOKEN = 4  # English prose, and LaTeX: a conservative count for the budget
# Titles that start so are not the paper's own work ("Introduction and background" is).
LEFT_OUT = re.compile(
    r"\s*(?:related work|prior work|literature review|background|preliminar|acknowledg"
    r"|references?\b|appendi|supplementa|ethic|broader impact|impact statement"
    r"|reproducibility|author contribution|funding|notation\b)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def chosen_sections(sections: Sequence[Section], budget_tokens: int) -> tuple[Section, ...]:
    """The paper's own sections, in its order, together within `budget_tokens`."""
    own = [section for section in sections if not LEFT_OUT.match(section.title)]
    return trimmed(own, budget_tokens * CHARS_PER_TOKEN)


def trimmed(sections: Sequence[Section], budget_chars: int) -> tuple[Section, ...]:
    """The sections within `budget_chars` in all: short ones whole, the others sharing what
    is left equally, each cut at a sentence boundary."""
    left, kept = budget_chars, dict[int, Section]()
    for index, section in sorted(enumerate(sections), key=lambda pair: len(pair[1].text)):
        share = left // (len(sections) - len(kept))
        text = section.text if len(section.text) <= share else cut(section.text, share)
        kept[index] = Section(section.title, text)
        left -= len(text)
    return tuple(kept[index] for index in range(len(sections)) if kept[index].text)


def cut(text: str, limit: int) -> str:
    """The longest run of whole sentences within `limit` characters; a text whose first
    sentence is longer, cut at the last space before it."""
    taken = ""
    for sentence in _SENTENCE_END.split(text):
        if len(taken) + len(sentence) + 1 > limit:
            break
        taken = f"{taken} {sentence}" if taken else sentence
    return taken or text[:limit].rsplit(" ", 1)[0]
