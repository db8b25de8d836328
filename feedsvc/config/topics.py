"""Topics from a TOML file, validated once at start-up."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedsvc.errors import ConfigError

DEFAULT_TOPICS_FILE = Path(__file__).resolve().parents[2] / "topics.toml"

# Check with fullmatch: with match, `$` also matches before a trailing newline.
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# Traditional Chinese is written in Taiwan, Hong Kong and Macau: one title or catalogue
# serves them all.
TRADITIONAL_CHINESE = frozenset({"zh-tw", "zh-hk", "zh-mo", "zh-hant"})
SOURCE = "en"
ALL = "all"  # the feed of every topic, /feeds/all.atom: no topic may take the slug
TOPIC_FIELDS = {
    "title", "query", "languages", "max_results", "highlight", "exclude", "interest", "full_text",
}  # fmt: skip
ARXIV_PAGE_LIMIT = 2000
MAX_TOPIC_TERMS = 20
MAX_TERM_CHARS = 100
MAX_INTEREST_CHARS = 400


@dataclass(frozen=True)
class Topic:
    """One configured feed topic; `languages[0]` is its default feed language."""

    slug: str
    title: str  # the title where no language is named: the index page, OPML groups
    query: str
    languages: tuple[str, ...]
    max_results: int = 50
    titles: tuple[tuple[str, str], ...] = ()  # (language, title) given per language
    parts: tuple[Topic, ...] = ()  # the topics it unites: only the feed of every topic has any
    highlight: tuple[str, ...] = ()  # words or phrases its feeds mark wherever they occur
    exclude: tuple[str, ...] = ()  # words or phrases that keep a paper out of its feeds
    interest: str = ""  # its reader's interest in a sentence: the model scores papers by it
    full_text: bool = False  # its papers are summarised from their HTML view's sections

    @property
    def interest_key(self) -> str:
        """A short name of the interest: a score made for another interest is not shown."""
        if not self.interest:
            return ""
        return hashlib.sha256(self.interest.encode()).hexdigest()[:8]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def members(self) -> tuple[Topic, ...]:
        """The topics it stands for: its parts (the feed of every topic), else itself."""
        return self.parts or (self,)

    def parts_in(self, language: str) -> tuple[str, ...]:
        """The slugs whose papers this topic lists in `language`: its own, or its parts'
        that have that language."""
        if not self.parts:
            return (self.slug,)
        return tuple(part.slug for part in self.parts if language in part.languages)

    def title_in(self, language: str) -> str:
        """The title given for the language (in any case), else for its script ('zh-TW' for
        'zh-HK'), else for its base language ('zh' for 'zh-TW'), else the topic's one title."""
        given = {tag.lower(): title for tag, title in self.titles}
        tag = language.lower()
        traditional = tag in TRADITIONAL_CHINESE or tag.startswith("zh-hant")
        for candidate in (tag, "zh-tw" if traditional else tag, tag.split("-")[0]):
            if candidate in given:
                return given[candidate]
        return self.title


def load_topics(path: Path) -> tuple[Topic, ...]:
    """Topics from a TOML file, in file order; raise ConfigError naming file, topic and field."""
    try:
        # utf-8-sig: editors on Windows start UTF-8 files with a byte-order mark.
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: topics file not found (set FEEDSVC_TOPICS_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read topics file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tables = document.get("topics")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [topics.<slug>] tables found")
    return tuple(_parse_topic(path, slug, table) for slug, table in tables.items())


def _parse_topic(path: Path, slug: str, table: Any) -> Topic:
    def fail(field_name: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: topic {slug!r}: field {field_name!r}: {problem}")

    if not SLUG_PATTERN.fullmatch(slug):
        raise fail("slug", "use lowercase letters, digits, '-' and '_' (at most 64)")
    if slug == ALL:
        raise fail("slug", f"'{ALL}' is kept for the feed of every topic, /feeds/{ALL}.atom")
    if not isinstance(table, dict):
        raise fail("slug", "must be a table: [topics.<slug>]")
    unknown = sorted(set(table) - TOPIC_FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field; known fields: {', '.join(sorted(TOPIC_FIELDS))}")
    title, titles = _parse_title(table.get("title"), fail)
    query = _required_text(table, "query", fail)
    languages = _parse_languages(table.get("languages", ["en"]), fail)
    max_results = table.get("max_results", 50)
    if not isinstance(max_results, int) or isinstance(max_results, bool):
        raise fail("max_results", "must be a whole number")
    if not 1 <= max_results <= ARXIV_PAGE_LIMIT:
        raise fail("max_results", f"must be between 1 and {ARXIV_PAGE_LIMIT}")
    highlight = _parse_terms(table.get("highlight", []), "highlight", fail)
    exclude = _parse_terms(table.get("exclude", []), "exclude", fail)
    interest = _parse_interest(table.get("interest", ""), fail)
    full_text = table.get("full_text", False)
    if not isinstance(full_text, bool):
        raise fail("full_text", "must be true or false")
    return Topic(slug, title, query, languages, max_results, titles, (), highlight, exclude,
                 interest, full_text)  # fmt: skip


def _parse_terms(value: Any, name: str, fail: Callable[[str, str], ConfigError]) -> tuple[str, ...]:
    """A list of words or phrases, each matched as the feeds' ?include= and ?exclude= match."""
    example = f'{name} = ["diffusion", "large language model"]'
    if not isinstance(value, list):
        raise fail(name, f"must be a list of words or phrases, such as {example}")
    if len(value) > MAX_TOPIC_TERMS:
        raise fail(name, f"takes at most {MAX_TOPIC_TERMS} words or phrases")
    terms = []
    for term in value:
        if not isinstance(term, str) or not term.strip() or '"' in term:
            raise fail(name, f"{term!r} is not a word or phrase, such as {example}")
        if len(term) > MAX_TERM_CHARS:
            raise fail(name, f"{term[:20]!r}... is over {MAX_TERM_CHARS} characters")
        terms.append(" ".join(term.split()))
    return tuple(terms)


def _parse_interest(value: Any, fail: Callable[[str, str], ConfigError]) -> str:
    if not isinstance(value, str):
        raise fail("interest", "must be a sentence saying what its reader looks for")
    interest = " ".join(value.split())
    if len(interest) > MAX_INTEREST_CHARS:
        raise fail("interest", f"at most {MAX_INTEREST_CHARS} characters, one or two sentences")
    return interest


def _parse_title(
    value: Any, fail: Callable[[str, str], ConfigError]
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """One title for every language, or a table of titles by language: its English one (else
    its first) is the title where no language is named."""
    if not isinstance(value, dict):
        return _required_text({"title": value}, "title", fail), ()
    if not value:
        raise fail("title", 'a table of titles needs at least one, such as { en = "..." }')
    titles = []
    for language in value:
        if not LANGUAGE_PATTERN.fullmatch(language):
            raise fail("title", f"{language!r} is not a language code such as 'en' or 'zh'")
        text = value[language]
        if not isinstance(text, str) or not text.strip():
            raise fail(f"title.{language}", "required, a non-empty string")
        titles.append((language, text.strip()))
    given = dict(titles)
    return given.get("en", titles[0][1]), tuple(titles)


def _required_text(
    table: dict[str, Any], name: str, fail: Callable[[str, str], ConfigError]
) -> str:
    value = table.get(name)
    if not isinstance(value, str) or not value.strip():
        raise fail(name, "required, a non-empty string")
    return value.strip()


def _parse_languages(value: Any, fail: Callable[[str, str], ConfigError]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise fail("languages", 'must be a non-empty list such as ["zh", "en"]')
    for code in value:
        if not isinstance(code, str) or not LANGUAGE_PATTERN.fullmatch(code):
            raise fail("languages", f"{code!r} is not a language code such as 'en' or 'zh'")
    if len(set(value)) != len(value):
        raise fail("languages", "lists a language twice")
    return tuple(value)


def all_topics(topics: Sequence[Topic], titles: Sequence[tuple[str, str]]) -> Topic:
    """The feed of every topic: each paper once, in every language a topic has (English
    first when any topic has it), with `titles` per language; its query is theirs, joined."""
    languages = tuple(dict.fromkeys(language for topic in topics for language in topic.languages))
    if SOURCE in languages:
        languages = (SOURCE, *(language for language in languages if language != SOURCE))
    query = " OR ".join(f"({topic.query})" for topic in topics)
    title = dict(titles).get(SOURCE, ALL)
    return Topic(
        ALL, title, query, languages or (SOURCE,), titles=tuple(titles), parts=tuple(topics)
    )
