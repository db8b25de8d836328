"""The lead figure in entries and pages, by the paper's licence: the image with its caption
and credit, an enclosure (Atom), an enclosure (RSS) and an image (JSON Feed) where a
Creative Commons licence allows it; a link to the figures on arXiv where it does not; the
licence on every entry whose pages are fetched. The figures come from the recorded page."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.config import Settings
from feedsvc.models import PaperPages
from feedsvc.store import Store
from tests.web.test_web import offline_app, paper, publish
from tests.worker.test_paper_view import PAGE, PAGE_URL
from worker.paper_view import parse_view

CC_BY = "http://creativecommons.org/licenses/by/4.0/"
DEFAULT = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def client(settings: Settings, store: Store) -> FlaskClient:
    app: Flask = offline_app(settings, store)
    papers = [paper(n) for n in range(1, 5)]
    publish(store, settings, papers)
    view = parse_view(PAGE.read_bytes(), PAGE_URL)
    assert view is not None
    figures = view.figures[:3]
    shown = PaperPages(1, True, figures, 36, CC_BY, NOW, view_url=PAGE_URL)
    store.pages.save_pages(papers[0].id, shown, ["testing"])
    linked = PaperPages(1, True, figures, 36, DEFAULT, NOW, view_url=PAGE_URL)
    store.pages.save_pages(papers[1].id, linked, ["testing"])
    store.pages.save_pages(papers[2].id, PaperPages(1, False, (), 0, "", NOW), ["testing"])
    return app.test_client()  # paper 4: its pages are not fetched yet


def contents(client: FlaskClient, path: str = "/feeds/testing.en.atom") -> dict[str, str]:
    feed = feedparser.parse(client.get(path).data)
    assert not feed.bozo, feed.get("bozo_exception")
    return {entry.link: entry.content[0].value for entry in feed.entries}


def test_a_cc_licensed_paper_shows_its_first_figure_with_caption_and_credit(
    client: FlaskClient,
) -> None:
    html = contents(client)[paper(1).abs_url]
    assert "<img" in html and 'src="https://arxiv.org/html/2501.11120v1/x1.png"' in html
    assert "Figure 1" in html and "Models can describe a learned behavioral policy" in html
    assert "From the paper, under CC BY 4.0: Ada Lovelace, Émile Borel, arXiv:2411.00001" in html
    assert "Paper licence:" in html and "CC BY 4.0" in html


def test_a_paper_under_arxivs_licence_links_its_figures_instead(client: FlaskClient) -> None:
    html = contents(client)[paper(2).abs_url]
    assert "<img" not in html
    assert 'href="https://arxiv.org/html/2501.11120v1"' in html and "36 on arXiv" in html
    assert "the paper's licence does not allow it" in html
    assert "arXiv non-exclusive licence" in html


def test_no_view_says_the_licence_and_no_pages_yet_says_nothing(client: FlaskClient) -> None:
    found = contents(client)
    assert "Figures:" not in found[paper(3).abs_url]
    assert "arXiv non-exclusive licence" in found[paper(3).abs_url]
    assert "Paper licence" not in found[paper(4).abs_url]


def test_enclosures_and_images_only_where_the_licence_allows(client: FlaskClient) -> None:
    atom = etree.fromstring(client.get("/feeds/testing.en.atom").data)
    enclosures = {
        entry.findtext(f"{ATOM}id"): [link.get("href") for link in entry.iter(f"{ATOM}link")
                                      if link.get("rel") == "enclosure"]
        for entry in atom.iter(f"{ATOM}entry")
    }  # fmt: skip
    assert sorted(len(found) for found in enclosures.values()) == [0, 0, 0, 1]
    image = "https://arxiv.org/html/2501.11120v1/x1.png"
    rss = etree.fromstring(client.get("/feeds/testing.en.rss").data)
    found = [(e.get("url"), e.get("type")) for e in rss.iter("enclosure")]
    assert found == [(image, "image/png")]
    items = client.get("/feeds/testing.en.json").get_json()["items"]
    assert [item.get("image") for item in items if item.get("image")] == [image]


def test_the_topic_page_and_other_languages_show_it_too(client: FlaskClient) -> None:
    page = client.get("/topics/testing.en").get_data(as_text=True)
    assert 'src="https://arxiv.org/html/2501.11120v1/x1.png"' in page
    chinese = contents(client, "/feeds/testing.atom")[paper(1).abs_url]
    assert "图 1" in chinese and "论文许可" in chinese
