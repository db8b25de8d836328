"""Filtered feeds: ?include=, ?exclude=, ?author=, ?category= on any feed, and <mark> on what
matched.

`include` and `exclude` take words or "quoted phrases" (a parameter may repeat); an entry
is kept when one `include` term is in its title, abstract, summary, takeaways or their
translations and no `exclude` term is. A word matches where a word starts ("contrast"
matches "contrastive"), in any case and with or without accents; a term in Chinese,
Japanese or Korean matches anywhere. `author` matches a part of an author's name the same
way; `category` is an arXiv category (cs.CV) among the paper's. Filters are normalised
(case, accents, order, repeats), so one filter is rendered once however it is spelled.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

from feedsvc.config import Topic
from feedsvc.config.topics import MAX_TERM_CHARS
from feedsvc.errors import BadRequest
from feedsvc.models import MAX_SCORE, FeedItem
from feedsvc.web.feedpath import shown
from feedsvc.web.relevance import holders

FIELDS = ("include", "exclude", "author", "category", "min_score")
TERM_FIELDS = FIELDS[:4]
MAX_TERMS = 20
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_CATEGORY = re.compile(r"[a-z-]{2,20}(?:\.[a-z-]{2,10})?")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_TAG_OR_ENTITY = re.compile(r"(<[^>]*>|&[#\w]+;)")
# <b> inside: readers whose sanitizers drop <mark> (feedparser's does) still show the match.
MARKED = r"<mark><b>\g<0></b></mark>"


@dataclass(frozen=True)
class FeedFilter:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_score: int | None = None  # the least score against the topic's interest

    @property
    def active(self) -> bool:
        terms = self.include or self.exclude or self.authors or self.categories
        return bool(terms) or self.min_score is not None

    def query(self) -> list[tuple[str, str]]:
        """The filter as query arguments, normalised: what its feed's links carry."""
        terms = (self.include, self.exclude, self.authors, self.categories)
        names = dict(zip(TERM_FIELDS, terms, strict=True))
        pairs = [
            (name, " ".join(_quoted(term) for term in terms))
            for name, terms in names.items()
            if terms
        ]
        return pairs + ([("min_score", str(self.min_score))] if self.min_score is not None else [])

    @property
    def key(self) -> str:
        """A short name of the normalised filter, for the cache."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]

    @cached_property
    def _include(self) -> list[re.Pattern[str]]:
        return [term_pattern(term) for term in self.include]

    @cached_property
    def _exclude(self) -> list[re.Pattern[str]]:
        return [term_pattern(term) for term in self.exclude]

    @cached_property
    def _authors(self) -> list[re.Pattern[str]]:
        return [term_pattern(name) for name in self.authors]

    def keeps(self, item: FeedItem) -> bool:
        """Whether the entry passes every part of the filter."""
        if self.categories and not {c.lower() for c in item.paper.categories} & set(
            self.categories
        ):
            return False
        if self._authors and not any(
            p.search(fold(name)) for p in self._authors for name in item.paper.authors
        ):
            return False
        text = fold(" \n ".join(searched_text(item)))
        if any(pattern.search(text) for pattern in self._exclude):
            return False
        return not self._include or any(pattern.search(text) for pattern in self._include)


def topic_marks(topic: Topic) -> tuple[str, ...]:
    """What the topic's feeds mark wherever it occurs (its `highlight` in the topics file;
    for the feed of every topic, every topic's)."""
    terms = (term for part in topic.members for term in part.highlight)
    return tuple(dict.fromkeys(fold(term) for term in terms))


def leaves_out(topic: Topic) -> bool:
    """Whether the topics file keeps some papers out of the topic's feeds (`exclude`)."""
    return any(part.exclude for part in topic.members)


def kept_by_topic(topic: Topic, item: FeedItem) -> bool:
    """Whether the topic's `exclude` lets the entry through; the feed of every topic leaves
    a paper out only when every topic that holds it does."""
    return any(_exclusion(part.exclude).keeps(item) for part in holders(topic, item))


@cache
def _exclusion(terms: tuple[str, ...]) -> FeedFilter:
    """A topic's `exclude` as a filter: one per topic, made once."""
    return FeedFilter(exclude=tuple(fold(term) for term in terms))


def marks_for(topic: Topic, chosen: FeedFilter | None) -> tuple[str, ...]:
    """What a feed of the topic highlights: the topic's `highlight`, then what the filter
    includes."""
    included = chosen.include if chosen is not None else ()
    return tuple(dict.fromkeys((*topic_marks(topic), *included)))


def parse_filter(values: Iterable[tuple[str, str]]) -> FeedFilter:
    """The filter in a query's (name, value) pairs; BadRequest saying what is wrong."""
    terms: dict[str, list[str]] = {name: [] for name in TERM_FIELDS}
    min_score = None
    for name, value in values:
        if name == "min_score" and value.strip():
            min_score = parse_score(value)
        elif name in terms and value.strip():  # a form's empty field filters nothing
            terms[name] += parse_terms(name, value)
    if sum(len(found) for found in terms.values()) > MAX_TERMS:
        raise BadRequest(f"a filter takes at most {MAX_TERMS} terms in all")
    for category in terms["category"]:
        if not _CATEGORY.fullmatch(category):
            raise BadRequest(
                f"category must be an arXiv category such as cs.CV, not {shown(category)}"
            )
    include, exclude, authors, categories = (
        tuple(sorted(set(terms[name]))) for name in TERM_FIELDS
    )
    return FeedFilter(include, exclude, authors, categories, min_score)


def parse_score(raw: str) -> int:
    """A min_score: a whole number from 0 to MAX_SCORE, else BadRequest."""
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_SCORE:
        raise BadRequest(
            f"min_score must be a whole number from 0 to {MAX_SCORE}, not {shown(raw)}"
        )
    return int(value)


def parse_terms(name: str, raw: str) -> list[str]:
    """Words and "quoted phrases", folded; BadRequest for an unclosed quote or an empty or
    overlong term."""
    if raw.count('"') % 2:
        raise BadRequest(f"{name} has an unclosed quote: {shown(raw)}")
    found = [fold(quoted or word) for quoted, word in _TERM.findall(raw)]
    found = [" ".join(term.split()) for term in found]
    if not found or not all(found):
        raise BadRequest(f'{name} needs a word or a "quoted phrase", not {shown(raw)}')
    for term in found:
        if len(term) > MAX_TERM_CHARS:
            raise BadRequest(f"{name} terms are at most {MAX_TERM_CHARS} characters")
    return found


def _quoted(term: str) -> str:
    return f'"{term}"' if " " in term else term


def fold(text: str) -> str:
    """Lower case without accents: "Émile" and "emile" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def term_pattern(term: str) -> re.Pattern[str]:
    """A folded term as a pattern over folded text: from a word's start, or anywhere for
    Chinese, Japanese and Korean, which write no spaces between words."""
    body = r"\s+".join(re.escape(word) for word in term.split())
    return re.compile(body if _CJK.search(term) else rf"(?<!\w){body}")


def searched_text(item: FeedItem) -> list[str]:
    paper, enrichment = item.paper, item.enrichment
    texts = [paper.title, paper.abstract]
    if enrichment is not None:
        texts += [enrichment.summary, *enrichment.takeaways]
        texts += [enrichment.approach, enrichment.results, enrichment.limitations]
        texts += [enrichment.title_translated, enrichment.abstract_translated]
    return texts


def highlighted(html: str, terms: Sequence[str]) -> str:
    """The HTML with each match of the terms in <mark>, in text only: never inside a tag or
    an entity, so the markup stays what it was."""
    if not terms:
        return html
    pattern = _marking_pattern(terms)
    pieces = _TAG_OR_ENTITY.split(html)
    for index in range(0, len(pieces), 2):  # the text between tags and entities
        decomposed = unicodedata.normalize("NFD", pieces[index])
        marked = pattern.sub(MARKED, decomposed)
        pieces[index] = (
            unicodedata.normalize("NFC", marked) if marked != decomposed else pieces[index]
        )
    return "".join(pieces)


def _marking_pattern(terms: Sequence[str]) -> re.Pattern[str]:
    """The folded terms as one pattern over decomposed text: any case, any accents on their
    letters, the longest first."""
    bodies = []
    for term in sorted(terms, key=len, reverse=True):
        body = "".join(
            r"\s+" if char.isspace() else re.escape(char) + "[\u0300-\u036f]*" for char in term
        )
        bodies.append(body if _CJK.search(term) else rf"(?<!\w){body}")
    return re.compile("|".join(bodies), re.IGNORECASE)
