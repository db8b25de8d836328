"""Page chrome in the reader's language: a zh, ja or de page shows no English of its own.

What a page shows is split in two: content (titles, abstracts, authors, the query, the
model's text: elements with dir="auto", <bdi>, <code>, language names marked with lang=,
and dates in <time>, which Babel writes from CLDR's data)
and chrome, everything else. Every word of chrome must come from the language's catalogue.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import lxml.html
import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.config import Settings, Topic
from feedsvc.licences import DEFAULT_GENERATED_LICENCE, GENERATED_LICENCES
from feedsvc.models import Enrichment, FeedItem, Paper, Revision
from feedsvc.status import TopicStatus
from feedsvc.store import FeedPage, Store
from feedsvc.venues import split_venue
from feedsvc.web.i18n import TRANSLATIONS, catalogue_locale, language_name
from feedsvc.web.pages import topic_html
from feedsvc.web.render.chrome import disclaimer, feed_subtitle, feed_title, rights, venue_shown
from feedsvc.web.render.html import render_entry_html
from worker.extract import find_venue

WHEN = datetime(2024, 12, 12, 18, tzinfo=UTC)
LICENCE = GENERATED_LICENCES[DEFAULT_GENERATED_LICENCE]
TOPIC = Topic(
    "contrastive", "Contrastive learning", "abs:contrastive", ("zh", "ja", "de", "en"),
    titles=(("zh", "无监督/半监督/对比学习"), ("en", "Contrastive learning")),
)  # fmt: skip
# Names and marks that read the same in every language.
UNTRANSLATED = {"arXiv", "Atom", "RSS", "JSON", "Feed", "PDF", "DOI", "OPML", "UTC", "CC", "CC0",
                "BY", "gpt", "mini", "prompt", "v1", "v2", "BibTeX", "RIS"}  # fmt: skip
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}\d*")


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    return create_app(
        replace(settings, openai_base_url=None, openai_api_key=None), store
    ).test_client()


def _paper(n: int, **changes: object) -> Paper:
    paper = Paper(
        id=f"2412.{n:05d}", version=1, title=f"Paper {n}", abstract="We study 3 things.",
        authors=("A. Author",), published=WHEN, updated=WHEN, comment="10 pages",
        venue="Accepted by AAAI-2025", journal_ref="J. Test 1 (2025)", doi="10.1/x",
        code_links=("https://github.com/org/repo",), first_seen=WHEN,
    )  # fmt: skip
    return replace(paper, **changes)  # type: ignore[arg-type]


def _items(language: str) -> list[FeedItem]:
    enriched = Enrichment(
        language, "llm", "总结。", ("要点一",), 2, "h", model="gpt-4o-mini", prompt_version="v2",
        title_translated="标题", abstract_translated="摘要。", unverified_numbers=("97.2",),
        created_at=WHEN,
    )  # fmt: skip
    offline = replace(enriched, method="extractive", model="", abstract_translated="")
    revision = Revision(1, 2, ("abstract", "comment"), ("doi",), "Accepted by AAAI-2025", WHEN)
    return [
        FeedItem(_paper(1, version=2, revision=revision), enriched),
        FeedItem(_paper(2), offline),
        FeedItem(_paper(3), None, failed=True),
        FeedItem(_paper(4), None),
    ]


def _chrome_words(html: str) -> set[str]:
    """The Latin-script words a page or fragment shows outside its content."""
    root = lxml.html.document_fromstring(html)
    for content in root.xpath(
        "//*[@dir='auto'] | //bdi | //code | //time | //*[@lang][not(self::html)]"
    ):
        content.drop_tree()
    body = root.find("body")
    text = re.sub(r"https?://\S+", " ", " ".join((body if body is not None else root).itertext()))
    return set(_LATIN_WORD.findall(text)) - UNTRANSLATED


def _catalogue_words(language: str) -> set[str]:
    path = TRANSLATIONS / catalogue_locale(language) / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalogue = read_po(source)
    strings = [m.string for m in catalogue if m.id]
    flat = [s for item in strings for s in (item if isinstance(item, tuple) else (item,))]
    return set(_LATIN_WORD.findall(" ".join(flat)))


@pytest.mark.parametrize("language", ["zh", "ja", "de", "zh-TW", "ko", "fr", "es", "pt", "ru"])
def test_a_topic_page_shows_no_english_chrome(language: str) -> None:
    status = TopicStatus(paper_count=4, last_fetched=WHEN)
    html = topic_html(TOPIC, language, FeedPage(_items(language), 1, 1, None), status, LICENCE)
    assert _chrome_words(html) <= _catalogue_words(language)
    assert disclaimer(language) in html and disclaimer(language) != disclaimer("en")


@pytest.mark.parametrize("language", ["zh", "ja", "de"])
def test_entries_and_feed_chrome_show_no_english(language: str) -> None:
    for item in _items(language):
        html = render_entry_html(item, language, LICENCE)
        assert _chrome_words(f"<html><body>{html}</body></html>") <= _catalogue_words(language)
    title = feed_title(TOPIC, language).replace(TOPIC.title_in(language), "")
    for text in (title.replace(language_name(language), ""), rights(language, LICENCE)):
        assert _chrome_words(f"<p>{text}</p>") <= _catalogue_words(language), text
    subtitle = feed_subtitle(TOPIC, language).removesuffix(TOPIC.query)
    assert _chrome_words(f"<p>{subtitle}</p>") <= _catalogue_words(language)


def test_the_english_words_would_be_caught() -> None:
    """The check itself: English chrome on a German page is found."""
    english = topic_html(TOPIC, "en", FeedPage(_items("en"), 1, 1, None), TopicStatus(), LICENCE)
    assert {"Summary", "takeaways", "pending"} <= _chrome_words(english) - _catalogue_words("de")


def test_a_topic_title_per_language() -> None:
    assert feed_title(TOPIC, "zh") == "无监督/半监督/对比学习 · arXiv（中文）"
    assert feed_title(TOPIC, "zh-TW").startswith("无监督/半监督/对比学习"), "the base language's"
    assert feed_title(TOPIC, "de").startswith("Contrastive learning · arXiv")


@pytest.mark.parametrize(
    ("query", "language", "shown"),
    [("", "en", "arXiv topic feeds"), ("?lang=de", "de", "arXiv-Feeds nach Thema"),
     ("?lang=ja", "ja", None), ("?lang=nl", "nl", "arXiv topic feeds")],
)  # fmt: skip
def test_the_index_page_speaks_the_language_asked_for(
    client: FlaskClient, query: str, language: str, shown: str | None
) -> None:
    page = client.get(f"/{query}").get_data(as_text=True)
    assert f'<html lang="{"en" if language == "nl" else language}">' in page, "its chrome's"
    assert disclaimer(language) in page
    if shown:
        assert f"<h1>{shown}</h1>" in page
    english_words = _chrome_words(client.get("/").get_data(as_text=True))
    if language not in ("en", "nl"):
        assert not _chrome_words(page) & english_words - _catalogue_words(language)


def test_a_malformed_index_language_is_a_400(client: FlaskClient) -> None:
    response = client.get("/?lang=<script>")
    assert response.status_code == 400 and b"lang must be a language code" in response.data


def test_a_translated_title_equal_to_the_original_is_shown_once() -> None:
    """The blog's model answers repeat the English title as the 'translated' one."""
    (item, *_) = _items("zh")
    same = replace(item, enrichment=replace(item.enrichment, title_translated="Paper 1"))
    assert render_entry_html(same, "zh", LICENCE).count("Paper 1") == 1
    page = topic_html(TOPIC, "zh", FeedPage([same], 1, 1, None), TopicStatus(), LICENCE)
    assert page.count("Paper 1") == 1
    assert render_entry_html(item, "zh", LICENCE).count("Paper 1") == 1, "beside 标题, once"
    assert "标题" in render_entry_html(item, "zh", LICENCE)


@pytest.mark.parametrize(
    ("query", "html_lang"),
    [("?lang=ZH", "zh"), ("?lang=zh_tw", "zh-TW"), ("?lang=zh-Hant-TW", "zh-TW"),
     ("?lang=pt-br", "pt")],
)  # fmt: skip
def test_the_index_takes_a_language_tag_in_any_case(
    client: FlaskClient, query: str, html_lang: str
) -> None:
    page = client.get(f"/{query}").get_data(as_text=True)
    assert f'<html lang="{html_lang}">' in page and disclaimer(html_lang) in page


def test_the_venue_is_said_in_the_readers_language() -> None:
    item = FeedItem(_paper(1, venue="Accepted by AAAI-2025"), None)
    zh = render_entry_html(item, "zh", LICENCE)
    assert venue_shown("Accepted by AAAI-2025", "zh") in zh and "Accepted by" not in zh
    assert "Accepted by AAAI-2025" in render_entry_html(item, "en", LICENCE), "English as stored"
    assert venue_shown("Comments welcome", "de") == "Comments welcome", "an unknown shape as is"


@pytest.mark.parametrize("comment", [
    "Accepted by AAAI-2025", "accepted to ICLR 2024", "Published as a conference paper at ICLR",
    "Camera-ready version for NeurIPS 2024", "To be published in: IEEE ICST", "to appear at ICSE",
    "Manuscript in press 2017 IEEE ICCV", "Published in Phys. Rev. D", "appears in NeurIPS 2017",
    "Presented at QCD Moriond", "In proceedings of ICST 2026", "Accepted for publication in ApJ",
])  # fmt: skip
def test_every_status_the_worker_writes_is_read_back(comment: str) -> None:
    status, name = split_venue(find_venue(comment))
    assert status and name, find_venue(comment)
