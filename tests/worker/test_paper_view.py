"""The paper's HTML view and its OAI-PMH record, read from real recordings: the figures with
their numbers, captions and absolute image URLs, the sections with formulas as LaTeX, and
each paper's licence with the decision whether its figures may be shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.licences import allows_reuse, paper_licence
from worker.oai import OaiError, parse_licences
from worker.paper_view import PaperView, parse_view

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGE = FIXTURES / "arxiv-html" / "timf34-arxiv2md__2501.11120v1_source.html"
PAGE_URL = "https://arxiv.org/html/2501.11120v1"


@pytest.fixture(scope="module")
def view() -> PaperView:
    found = parse_view(PAGE.read_bytes(), PAGE_URL)
    assert found is not None
    return found


def test_the_first_figure_its_caption_and_image(view: PaperView) -> None:
    first = view.figures[0]
    assert first.number == "1"
    assert first.image_url == "https://arxiv.org/html/2501.11120v1/x1.png"
    assert first.caption.startswith("Models can describe a learned behavioral policy")
    assert not first.caption.startswith("Figure"), "the label is not part of the caption"


def test_every_figure_once_in_order_panels_inside_theirs(view: PaperView) -> None:
    assert [figure.number for figure in view.figures] == [str(n) for n in range(1, 37)]
    assert all(figure.image_url.startswith(PAGE_URL + "/") for figure in view.figures)
    assert all(figure.caption for figure in view.figures)


def test_sections_with_titles_text_and_formulas_as_latex(view: PaperView) -> None:
    titles = [section.title for section in view.sections]
    assert titles == ["Introduction", "Out-of-context reasoning", "Awareness of behaviors",
                      "Awareness of backdoors", "Multi-Persona experiments", "Related work",
                      "Discussion", "Conclusion", "Acknowledgments"]  # fmt: skip
    text = " ".join(section.text for section in view.sections)
    assert "\\varphi_{T}" in text or "z\\in Z" in text, "math as its alt text"
    assert "Refer to caption" not in text and "Figure 1:" not in text, "no figures in the text"


def test_a_figure_without_an_image_source_is_passed_over() -> None:
    page = (b'<html><body><article class="ltx_document"><figure class="ltx_figure"><img alt="x">'
            b'<figcaption>Figure 1: lost</figcaption></figure><figure class="ltx_figure">'
            b'<img src="x2.png"><figcaption><span class="ltx_tag ltx_tag_figure">Figure 2: '
            b"</span>kept</figcaption></figure></article></body></html>")  # fmt: skip
    view = parse_view(page, PAGE_URL)
    assert view is not None and [(f.number, f.caption) for f in view.figures] == [("2", "kept")]


def test_a_page_that_is_not_a_papers_view_has_none() -> None:
    unavailable = b"<html><body><h1>HTML is not available for the source.</h1></body></html>"
    assert parse_view(unavailable, "https://arxiv.org/html/2401.00001v1") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("hepcrawl__arxiv-physics-hep-th.xml",
      {"1412.8323": True, "1507.07790": False, "1607.01710": False}),
     ("hepcrawl__arxiv-single.xml", {"1401.2122": False})],
)  # fmt: skip
def test_licences_from_oai_records_and_the_reuse_decision(
    name: str, expected: dict[str, bool]
) -> None:
    licences = parse_licences((FIXTURES / "oai" / name).read_bytes())
    decided = {paper: allows_reuse(paper_licence(url)) for paper, url in licences.items()}
    assert decided == expected
    assert paper_licence(licences.get("1412.8323", "")).name in (
        "CC BY 4.0",
        "arXiv non-exclusive licence",
    )


def test_oai_errors_and_licences_it_does_not_know() -> None:
    no_record = (b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                 b'<error code="idDoesNotExist">No such id</error></OAI-PMH>')  # fmt: skip
    assert parse_licences(no_record) == {}
    with pytest.raises(OaiError, match="badArgument"):
        parse_licences(no_record.replace(b"idDoesNotExist", b"badArgument"))
    with pytest.raises(OaiError, match="not an OAI-PMH answer"):
        parse_licences(b"<html>busy</html>")
    assert not allows_reuse(paper_licence(""))
    assert allows_reuse(paper_licence("http://creativecommons.org/publicdomain/zero/1.0/"))
    assert (
        paper_licence("https://creativecommons.org/licenses/by-nc-sa/4.0/").name
        == "CC BY-NC-SA 4.0"
    )
