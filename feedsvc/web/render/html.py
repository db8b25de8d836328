"""The HTML inside feed entries, from templates that escape every field."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from feedsvc.models import SOURCE_LANGUAGE, FeedItem
from feedsvc.web.render.document import DigestDay, entry_title, html_text, labels_for, safe_url


def printable(value: Any) -> Any:
    """Jinja's `finalize`: every printed string loses what HTML cannot hold; Markup stays."""
    if isinstance(value, Markup):
        return Markup(html_text(value))
    return html_text(value) if isinstance(value, str) else value


_templates = Environment(
    loader=PackageLoader("feedsvc.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=printable,
)


def render_entry_html(item: FeedItem, language: str) -> str:
    """The entry's HTML content: every field escaped by the template, only http(s) links."""
    return _templates.get_template("entry_content.html").render(
        paper=item.paper,
        enrichment=item.enrichment,
        failed=item.failed,
        labels=labels_for(language),
        show_translation=language != SOURCE_LANGUAGE,
        safe_url=safe_url,
    )


def render_digest_html(day: DigestDay, language: str) -> str:
    return _templates.get_template("digest_content.html").render(
        items=day.items, labels=labels_for(language), title=entry_title, safe_url=safe_url
    )
