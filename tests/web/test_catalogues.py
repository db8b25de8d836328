"""Every catalogue is current and complete: each message the code and templates use is in
messages.pot, and each catalogue translates every one of them with the same placeholders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from feedsvc.web.i18n import TRANSLATIONS, catalogue_locale, catalogue_locales, words_for

ROOT = Path(__file__).resolve().parents[2]
# The languages the README promises page chrome in; each has a catalogue of its own.
PROMISED = ("zh", "zh-TW", "ja", "ko", "de", "fr", "es", "pt", "ru")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _keys(catalogue: Catalog) -> set[tuple[object, str | None]]:
    return {(message.id, message.context) for message in catalogue if message.id}


def test_the_template_holds_every_message_in_use(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "-q", "extract",
         "-F", TRANSLATIONS / "mapping.cfg", "--no-location", "-o", fresh, "."],
        cwd=ROOT, check=True,
    )  # fmt: skip
    in_use, committed = _keys(_read(fresh)), _keys(_read(TRANSLATIONS / "messages.pot"))
    assert in_use == committed, "run scripts/catalogues, then translate what it added"


def test_every_promised_language_has_its_own_catalogue() -> None:
    assert {catalogue_locale(language) for language in PROMISED} == set(catalogue_locales()[1:])


@pytest.mark.parametrize("locale", catalogue_locales()[1:])
def test_a_catalogue_translates_every_message_with_its_placeholders(locale: str) -> None:
    template = _read(TRANSLATIONS / "messages.pot")
    catalogue = _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    assert _keys(catalogue) == _keys(template), "run scripts/catalogues"
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, f"{locale}: fuzzy, check it: {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{locale}: not translated: {message.id!r}"
        errors = [str(error) for error in message.check(catalogue)]
        assert not errors, f"{locale}: {message.id!r}: {errors}"


@pytest.mark.parametrize(
    ("language", "locale"),
    [("zh", "zh"), ("zh-TW", "zh_TW"), ("zh-Hant", "zh_TW"), ("zh-HK", "zh_TW"), ("pt-BR", "pt"),
     ("de-AT", "de"), ("nl", "en"), ("en-GB", "en"), ("he", "en")],
)  # fmt: skip
def test_a_language_reads_its_own_catalogue_else_its_base_else_english(
    language: str, locale: str
) -> None:
    assert catalogue_locale(language) == locale
    summary = words_for(language).gettext("Summary")
    assert (summary == "Summary") == (locale == "en"), summary
