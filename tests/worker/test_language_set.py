"""The language check on the labelled test set (tests/fixtures/languages/texts.json): every
language the prompt names accepts its own answers, short and long, and refuses English and
its closest neighbour. bench/languages.py prints the same as a table."""

from __future__ import annotations

import pytest

from bench.languages import NEIGHBOUR, accepted, texts
from worker.enrich.prompt import LANGUAGE_NAMES
from worker.enrich.validate import check_language

GROUPED = texts()


def test_the_set_covers_every_language_the_prompt_names() -> None:
    assert {language for language, _kind in GROUPED} == set(LANGUAGE_NAMES)


@pytest.mark.parametrize("language", sorted(LANGUAGE_NAMES))
def test_own_answers_pass_and_wrong_ones_do_not(language: str) -> None:
    own = GROUPED[(language, "short")] + GROUPED[(language, "long")]
    assert accepted(check_language, own, language) == 1.0, "an answer in its language"
    if language != "en":
        english = GROUPED[("en", "short")] + GROUPED[("en", "long")]
        assert accepted(check_language, english, language) == 0.0, "English passed"
    neighbour = NEIGHBOUR[language]
    theirs = GROUPED[(neighbour, "short")] + GROUPED[(neighbour, "long")]
    assert accepted(check_language, theirs, language) <= 0.15, f"{neighbour} passed as it"
