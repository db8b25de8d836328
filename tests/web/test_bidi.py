"""Right-to-left overrides in outside text stay inside an isolate: pages and entry HTML."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import Settings, load_topics
from feedsvc.models import Enrichment
from feedsvc.store import Store
from tests.web.test_web import paper

RLO, FSI, PDI = "\u202e", "\u2068", "\u2069"
# Each outside string opens an override it never closes, after an isolate closer that
# would end the isolate around it early if it got through.
EVIL = PDI + RLO
RTL_TOPICS = f"""
[topics.rtl]
title = "{EVIL}topic title"
query = "{EVIL}topic query"
languages = ["he", "en"]
"""


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(RTL_TOPICS, encoding="utf-8")
    return path


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    app: Flask = create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)
    topic = load_topics(settings.topics_file)[0]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    evil = paper(
        1, title=f"{EVIL}title", abstract=f"{EVIL}abstract", authors=(f"{EVIL}a1", f"{EVIL}a2"),
        comment=f"{EVIL}comment", venue=f"{EVIL}venue", updated=yesterday,
        code_links=(f"https://github.com/{EVIL}code",),
    )  # fmt: skip
    store.papers.save_papers(topic, [evil])
    for language in topic.languages:
        store.enrichments.save_enrichment(evil.id, Enrichment(
            language, "llm", f"{EVIL}summary", (f"{EVIL}point 1", f"{EVIL}point 2"), 1,
            evil.source_hash, model=f"{EVIL}model", prompt_version="p",
            title_translated=f"{EVIL}translated title", abstract_translated=f"{EVIL}translated",
        ))  # fmt: skip
    store.topics.record_fetch_error("rtl", f"{EVIL}error", yesterday)
    return app.test_client()


def isolating(element: etree._Element | None, blocks: tuple[str, ...]) -> etree._Element | None:
    """The nearest element that isolates its text: <bdi>, a dir attribute, or one of `blocks`
    (a block is a paragraph of its own: the bidi algorithm ends every override at its end)."""
    while element is not None:
        if element.tag == "bdi" or "dir" in element.attrib or element.tag in blocks:
            return element
        element = element.getparent()
    return None


def assert_isolated(root: etree._Element, blocks: tuple[str, ...] = ()) -> int:
    """Every outside string sits alone in an isolate; returns how many were found."""
    found = 0
    for element in root.iter():
        tooltip = element.get("title", "")  # the one attribute shown: links are not
        assert RLO not in tooltip or in_an_isolate(tooltip), tooltip
        if element.tag == "title":
            assert RLO not in element.text or in_an_isolate(element.text), element.text
            continue
        for text, holder in ((element.text, element), (element.tail, element.getparent())):
            if text and RLO in text:
                isolate = isolating(holder, blocks)
                assert isolate is not None, text
                content = isolate.text_content()
                assert content.count(RLO) == 1 and PDI not in content, content
                found += 1
    return found


def in_an_isolate(text: str) -> bool:
    """The override sits between a first-strong isolate and its closer, no closer in between."""
    before, _, after = text.partition(RLO)
    return FSI in before and PDI not in before.rsplit(FSI, 1)[1] and PDI in after


@pytest.mark.parametrize(
    ("path", "strings"), [("/", 3), ("/topics/rtl", 14), ("/topics/rtl.en", 14)]
)
def test_outside_strings_on_pages_are_isolated(
    client: FlaskClient, path: str, strings: int
) -> None:
    page = client.get(path).get_data(as_text=True)
    # The topic page's takeaways: <li> blocks end every override, and the stylesheet gives
    # them `unicode-bidi: plaintext` (an older test holds their markup as it is).
    assert assert_isolated(lxml.html.document_fromstring(page), blocks=("li",)) >= strings


ENTRY_FEEDS = [("rtl.atom", 13), ("rtl.en.rss", 12), ("rtl.daily.atom", 5), ("rtl.json", 13)]


@pytest.mark.parametrize(("name", "strings"), ENTRY_FEEDS)
def test_outside_strings_in_entry_html_are_isolated(
    client: FlaskClient, name: str, strings: int
) -> None:
    contents = entry_html(client, name)
    assert contents
    for html in contents:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
        # Takeaways: <li> blocks in an <ol dir="auto"> (an older test holds the <li> as is).
        assert assert_isolated(fragment, blocks=("li",)) >= strings


def entry_html(client: FlaskClient, name: str) -> list[str]:
    """Each entry's HTML; from XML feeds as feedparser leaves it, sanitized as readers do."""
    response = client.get(f"/feeds/{name}")
    if name.endswith(".json"):
        return [item["content_html"] for item in response.get_json()["items"]]
    entries = feedparser.parse(response.data).entries
    return [entry.content[0].value if "content" in entry else entry.summary for entry in entries]
