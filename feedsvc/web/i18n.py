"""Every word of page chrome in the reader's language: the only module that imports Babel.

The messages are English in the code (`_("Summary")` in templates, `words.gettext(...)` in
Python) and translated in gettext catalogues, one per language, under `translations/`:
`scripts/catalogues` extracts them into `messages.pot` and merges new ones into every
`messages.po`. A catalogue is compiled in memory when first needed, so there is no build step
and no compiled file to fall out of step with its source.

A feed language is a BCP 47 tag (`zh`, `zh-TW`, `pt-BR`); it picks the catalogue of the
same language and script, else of its base language, else none: English.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment

from feedsvc.config.topics import TRADITIONAL_CHINESE

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
SOURCE_LOCALE = "en"
DOMAIN = "messages"
# Babel says "中文 (繁體)" with ASCII brackets; readers of Traditional Chinese say 繁體中文.
_OWN_NAMES = {"zh-Hant": "繁體中文"}


@functools.cache
def catalogue_locales() -> tuple[str, ...]:
    """The locales that have a catalogue (`zh_TW` style), English first: it needs none."""
    found = sorted(p.parent.parent.name for p in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LOCALE, *found)


@functools.lru_cache(maxsize=256)  # bounded: the index page takes any language tag
def catalogue_locale(language: str) -> str:
    """The catalogue a feed language reads: 'zh-TW' -> 'zh_TW', 'pt-BR' -> 'pt', 'nl' -> 'en'."""
    tag = language.lower()
    base = tag.split("-")[0]
    available = {name.lower(): name for name in catalogue_locales()}
    wanted = (
        "zh_tw"
        if tag in TRADITIONAL_CHINESE or tag.startswith("zh-hant")
        else tag.replace("-", "_")
    )
    return available.get(wanted) or available.get(base) or SOURCE_LOCALE


def has_catalogue(language: str) -> bool:
    """Whether the language's own words exist (English always does)."""
    locale = catalogue_locale(language)
    return locale != SOURCE_LOCALE or language.lower().split("-")[0] == SOURCE_LOCALE


def words_for(language: str) -> gettext.NullTranslations:
    """gettext, ngettext and pgettext in the language's catalogue (English without one)."""
    return _translations(catalogue_locale(language))


@functools.cache
def _translations(locale: str) -> gettext.NullTranslations:
    if locale == SOURCE_LOCALE:
        return NullTranslations()
    with (TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        catalogue = read_po(source, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def localized(build: Callable[[], Environment]) -> Callable[[str], Environment]:
    """A template environment per catalogue, built on first use, with `_`, `gettext` and
    `ngettext` of that catalogue (Jinja's i18n extension, new-style: escaped placeholders)."""

    @functools.cache
    def for_locale(locale: str) -> Environment:
        environment = build()
        environment.add_extension("jinja2.ext.i18n")
        environment.install_gettext_translations(_translations(locale), newstyle=True)  # type: ignore[attr-defined]
        return environment

    return lambda language: for_locale(catalogue_locale(language))


def language_name(language: str, in_language: str | None = None) -> str:
    """'中文', 'Deutsch', '中文（繁體）': the language's own name (or in `in_language`);
    the code itself for a tag Babel does not know."""
    try:
        locale = _locale(language)
        if in_language is None and str(locale).replace("_", "-") in _OWN_NAMES:
            return _OWN_NAMES[str(locale).replace("_", "-")]
        return locale.get_display_name(_locale(in_language) if in_language else locale) or language
    except (ValueError, UnknownLocaleError):
        return language


def _locale(language: str) -> Locale:
    tag = language.replace("_", "-").lower()
    if tag in TRADITIONAL_CHINESE:
        return Locale("zh", script="Hant")
    return Locale.parse(language.replace("-", "_"))


def format_day(day: date, language: str) -> str:
    """'Thursday, December 12, 2024', '2024年12月12日星期四': a day as the language writes it."""
    try:
        return format_date(day, format="full", locale=_locale(language))
    except (ValueError, UnknownLocaleError):
        return format_date(day, format="full", locale=SOURCE_LOCALE)


def listed(items: Sequence[str], language: str) -> str:
    """'title, abstract and DOI', '标题、摘要和DOI': a list as the language joins one."""
    try:
        return format_list(list(items), locale=_locale(language))
    except (ValueError, UnknownLocaleError):
        return format_list(list(items), locale=SOURCE_LOCALE)
