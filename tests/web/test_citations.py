"""Into the reference manager: /papers/<id>.bib and .ris, parsed back by real parsers, linked
from every entry and page, and COinS on the pages for Zotero's connector."""

from __future__ import annotations

import gzip
from dataclasses import replace
from html import unescape
from urllib.parse import parse_qs

import bibtexparser
import feedparser
import lxml.html
import pytest
import rispy
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from tests.web.test_web import paper, publish

TRICKY = paper(
    7, title=r"On {BERT} and $\alpha$-nets: a } brace", authors=("Émile Borel", "Ada Lovelace"),
    doi="10.1000/xyz", journal_ref="Phys. Rev. D 89 (2014)", comment="10 pages; 50% & more",
)  # fmt: skip
OLD_STYLE = paper(8, id="hep-th/9901001", title="Strings, old style")


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    publish(store, settings, [paper(1), TRICKY, OLD_STYLE])
    return app.test_client()


def test_bibtex_parses_back_with_every_field(client: FlaskClient) -> None:
    response = client.get(f"/papers/{TRICKY.id}.bib")
    assert (
        response.status_code == 200
        and response.content_type == "application/x-bibtex; charset=utf-8"
    )
    (entry,) = bibtexparser.loads(response.get_data(as_text=True)).entries
    assert entry["ENTRYTYPE"] == "misc" and entry["ID"] == "borel2026bert"
    assert entry["eprint"] == TRICKY.id and entry["archiveprefix"] == "arXiv"
    assert entry["author"] == "Émile Borel and Ada Lovelace" and entry["doi"] == "10.1000/xyz"
    assert "a \\textbraceright{} brace" in entry["title"], "an unbalanced brace spelled"
    assert entry["note"] == r"10 pages; 50\% \& more"
    assert response.headers["Content-Disposition"] == 'inline; filename="borel2026bert.bib"'


def test_ris_parses_back_with_every_field(client: FlaskClient) -> None:
    response = client.get(f"/papers/{TRICKY.id}.ris")
    assert response.content_type == "application/x-research-info-systems; charset=utf-8"
    (entry,) = rispy.loads(response.get_data(as_text=True))
    assert entry["type_of_reference"] == "UNPB" and entry["authors"] == list(TRICKY.authors)
    assert entry["title"] == TRICKY.title and entry["doi"] == "10.1000/xyz"
    assert entry["urls"] == [TRICKY.abs_url] and entry["keywords"] == list(TRICKY.categories)


def test_an_old_style_id_and_the_serving_rules(client: FlaskClient) -> None:
    first = client.get("/papers/hep-th/9901001.bib", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and b"hep-th/9901001" in gzip.decompress(first.data)
    headers = {"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}
    again = client.get("/papers/hep-th/9901001.bib", headers=headers)
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/papers/2411.09999.bib",
        "/papers/2411.00001.pdf",
        "/papers/2411.00001",
        "/papers/../../etc/passwd.bib",
    ],
)
def test_an_unknown_paper_or_format_is_a_helpful_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and b"/papers/2412.08345.bib" in response.data


def test_every_entry_and_page_links_them_and_pages_carry_coins(client: FlaskClient) -> None:
    feed = feedparser.parse(client.get("/feeds/testing.en.atom").data)
    for entry in feed.entries:
        paper_id = entry.link.removeprefix("https://arxiv.org/abs/")
        html = unescape(entry.content[0].value)
        assert f'href="http://feeds.test/papers/{paper_id}.bib"' in html
        assert f'href="http://feeds.test/papers/{paper_id}.ris"' in html
    page = lxml.html.document_fromstring(client.get("/topics/testing.en").data)
    spans = page.xpath("//span[@class='Z3988']")
    assert len(spans) == 3 == len(page.xpath("//a[text()='BibTeX']"))
    described = [parse_qs(span.get("title")) for span in spans]
    assert {d["rft.atitle"][0] for d in described} == {
        paper(1).title,
        TRICKY.title,
        OLD_STYLE.title,
    }
    assert all(d["rft.genre"] == ["preprint"] and len(d["rft.au"]) == 2 for d in described)
