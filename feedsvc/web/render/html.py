"""The HTML inside feed entries, from templates that escape every field.

Every outside string (arXiv's, the model's, topics.toml's) sits in an isolate, so a
right-to-left override in it cannot reorder what is around it. Entry HTML isolates with
`dir="auto"`, which readers' sanitizers keep (feedparser's drops <bdi>); pages use <bdi>.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from feedsvc.config import Topic
from feedsvc.licences import Licence
from feedsvc.models import SOURCE_LANGUAGE, FeedItem, Relevance
from feedsvc.web.filters import highlighted
from feedsvc.web.i18n import localized
from feedsvc.web.relevance import by_score, scored, scores_of
from feedsvc.web.render.chrome import disclaimer, licence_line, provenance, venue_shown
from feedsvc.web.render.document import FeedDocument, entry_title, html_text, safe_url
from feedsvc.web.render.figures import lead_figure
from feedsvc.web.render.latex import latex_html, prose_html
from feedsvc.web.render.notes import revision_note
from feedsvc.web.urls import paper_url

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


def printable(value: Any) -> Any:
    """Jinja's `finalize`: every printed string loses what HTML cannot hold; Markup stays.

    Text also loses its isolate closers: one could end the isolate around it (<bdi>, dir)
    early, and a right-to-left override after it would flip what follows.
    """
    if isinstance(value, Markup):
        return Markup(html_text(value))
    return _without_isolate_closers(html_text(value)) if isinstance(value, str) else value


def isolated(text: str) -> Markup:
    """Text in a first-strong isolate, where no element can isolate it: <title>, attributes."""
    inner = escape(_without_isolate_closers(text))
    return Markup(f"{FIRST_STRONG_ISOLATE}{inner}{POP_DIRECTIONAL_ISOLATE}")


def _without_isolate_closers(text: str) -> str:
    return text.replace(POP_DIRECTIONAL_ISOLATE, "")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("feedsvc.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=printable,
    )
    environment.filters["latex"] = latex_html
    environment.filters["mark"] = marked
    environment.filters["prose"] = prose_html
    return environment


_templates = localized(_environment)


def entry_html(doc: FeedDocument, item: FeedItem) -> str:
    """An entry's HTML content in its feed: with the other topics that hold the paper and
    its scores against their interests."""
    scores = titled_scores(doc.topic, item, doc.language)
    return render_entry_html(item, doc.language, doc.licence, doc.base_url,
                             doc.topics_of(item), every=bool(doc.topic.parts),
                             marks=doc.marks, scores=scores)  # fmt: skip


def render_entry_html(
    item: FeedItem, language: str, licence: Licence, base_url: str = "",
    topics: Sequence[tuple[str, str]] = (), *, every: bool = False, marks: Sequence[str] = (),
    scores: Sequence[tuple[str, Relevance]] = (),
) -> str:  # fmt: skip
    """The entry's HTML content: every field escaped by the template, only http(s) links;
    given the service's public URL, links to the paper's BibTeX and RIS files and to the
    `topics` (slug, title) named: the others that hold it, or all (`every`)."""
    revision = item.paper.revision
    template = _templates(language).get_template("entry_content.html")
    return template.render(
        paper=item.paper,
        enrichment=item.enrichment,
        failed=item.failed,
        show_translation=language != SOURCE_LANGUAGE,
        revision_note=revision_note(revision, language) if revision else "",
        provenance=provenance(item.enrichment, language),
        disclaimer=disclaimer(language),
        licence_line=licence_line(language, licence),
        venue=lambda venue: venue_shown(venue, language),
        citation_url=partial(paper_url, base=base_url) if base_url else None,
        topics=[(title, page_url_of(slug, base_url)) for slug, title in topics],
        every=every,
        marks=marks,
        scores=scores,
        lead=lead_figure(item, base_url),
        has_view=item.pages is not None and item.pages.has_view,
        safe_url=safe_url,
        doi_url=doi_url,
    )


def doi_url(doi: str) -> str:
    """The resolver link of a DOI (https://www.doi.org/the-identifier/resources/handbook)."""
    return f"https://doi.org/{quote(doi, safe='/:;()._-')}"


def render_digest_html(
    items: Sequence[FeedItem], language: str, licence: Licence, marks: Sequence[str] = (),
    topic: Topic | None = None,
) -> str:  # fmt: skip
    """The HTML of one digest day: each paper's title, authors, venue, summary and links;
    for a topic that states an interest, highest score first, each with its score."""
    template = _templates(language).get_template("digest_content.html")
    if topic is not None and scored(topic):
        items = by_score(topic, items)
    return template.render(
        items=items, disclaimer=disclaimer(language), title=entry_title, safe_url=safe_url,
        venue=lambda venue: venue_shown(venue, language),
        licence_line=licence_line(language, licence),
        marks=marks,
        scores=lambda item: titled_scores(topic, item, language) if topic else [],
    )  # fmt: skip


def titled_scores(topic: Topic, item: FeedItem, language: str) -> list[tuple[str, Relevance]]:
    """(topic title, score) of the item's current scores; the title is "" in a topic's own
    feed or page, where it goes without saying."""
    titles = {part.slug: part.title_in(language) for part in topic.parts}
    return [(titles.get(r.topic, ""), r) for r in scores_of(topic, item)]


def page_url_of(slug: str, base_url: str) -> str:
    """A topic's page in its default language (the slug alone names it)."""
    return f"{base_url}/topics/{slug}" if base_url else ""


def marked(value: str, marks: Sequence[str]) -> Markup:
    """Text (escaped here, without isolate closers, unless it is Markup already) with what a
    filter matched in <mark> (feedsvc.web.filters)."""
    escaped = value if isinstance(value, Markup) else escape(_without_isolate_closers(value))
    return Markup(highlighted(str(escaped), marks)) if marks else escaped
