"""A paper's HTML view (arxiv.org/html/<id>v<N>, made by LaTeXML), read with lxml: its
figures and its sections, and nothing else.

Figures are `figure.ltx_figure` with an image, relative to the page's `<base href>`;
sections are `section.ltx_section`, their text the paragraphs' with each formula as its
LaTeX (`<math alttext>`). A page without `article.ltx_document` is arXiv's "HTML is not
available" page: the paper has no view.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import lxml.html

from feedsvc.models import Figure, Section

_TAG_NUMBER = re.compile(r"(\d+(?:\.\d+)*)")
_SPACES = re.compile(r"\s+")


def _has_class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


_DOCUMENT = f"//article[{_has_class('ltx_document')}]"
_FIGURES = f".//figure[{_has_class('ltx_figure')}][.//img[@src]][not(ancestor::figure)]"
_SECTIONS = f".//section[{_has_class('ltx_section')}]"
_PARAGRAPHS = f".//p[{_has_class('ltx_p')}][not(ancestor::figure)][not(ancestor::table)]"
_FIGURE_TAG = f".//span[{_has_class('ltx_tag_figure')}]"
_SECTION_TAG = f".//span[{_has_class('ltx_tag_section')}]"


@dataclass(frozen=True)
class PaperView:
    figures: tuple[Figure, ...]
    sections: tuple[Section, ...]


def parse_view(html: bytes, page_url: str) -> PaperView | None:
    """The figures and sections of an HTML view fetched from `page_url`; None for a page
    that is not a paper's view."""
    root = lxml.html.fromstring(html)
    documents = root.xpath(_DOCUMENT)
    if not documents:
        return None
    base = urljoin(page_url, (root.xpath("//base/@href") or [page_url])[0])
    document = documents[0]
    figures = tuple(_figure(element, base) for element in document.xpath(_FIGURES))
    sections = tuple(_section(element) for element in document.xpath(_SECTIONS))
    return PaperView(figures, tuple(section for section in sections if section.text))


def _figure(element: Any, base: str) -> Figure:
    source = element.xpath(".//img[@src]/@src")[0]
    captions = element.xpath("./figcaption")
    caption = text_of(captions[0]) if captions else ""
    tag = captions[0].xpath(_FIGURE_TAG) if captions else []  # not a panel's "(a)"
    label = text_of(tag[0]) if tag else ""
    number = _TAG_NUMBER.search(label)
    caption = caption.removeprefix(label).strip() if label else caption
    return Figure(number.group(1) if number else "", caption, urljoin(base, source))


def _section(element: Any) -> Section:
    headings = element.xpath("./h2|./h1|./h3")
    title = text_of(headings[0], without=_SECTION_TAG) if headings else ""
    paragraphs = (text_of(paragraph) for paragraph in element.xpath(_PARAGRAPHS))
    return Section(title, "\n".join(text for text in paragraphs if text))


def text_of(element: Any, without: str = "") -> str:
    """The element's text, whitespace collapsed, each formula as its LaTeX; what `without`
    (an XPath) selects left out."""
    element = copy.deepcopy(element)
    for math in element.xpath(".//math"):
        _replace(math, f" {math.get('alttext') or ''} ")
    if without:
        for part in element.xpath(without):
            _replace(part, "")
    return _SPACES.sub(" ", element.text_content()).strip()


def _replace(element: Any, text: str) -> None:
    """Put `text` where the element was (keeping the text that followed it)."""
    parent = element.getparent()
    following = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text + following
    else:
        parent.text = (parent.text or "") + text + following
    parent.remove(element)
