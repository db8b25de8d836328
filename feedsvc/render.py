"""Atom feeds from models; the only module that imports `feedgen`.

Atom: RFC 4287, https://www.rfc-editor.org/rfc/rfc4287
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator
from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from feedsvc.config import Topic
from feedsvc.models import SOURCE_LANGUAGE, FeedItem

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "feedsvc"
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_templates = Environment(
    loader=PackageLoader("feedsvc", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

LABELS = {
    "en": {
        "summary": "Summary", "takeaways": "Key takeaways", "translation": "Translated abstract",
        "abstract": "Abstract", "authors": "Authors", "links": "Links", "pdf": "PDF",
        "abs": "arXiv page", "code": "Code", "comment": "Comment", "venue": "Venue",
        "pending": "Summary pending: this paper has not been summarised in this language yet.",
        "failed": "No summary: summarising this paper failed. The abstract follows.",
        "no_translation": "Translation not available (offline summary, no model configured).",
        "disclaimer": "Machine-generated; may contain errors. Check the paper.",
    },
    "zh": {
        "summary": "摘要总结", "takeaways": "要点", "translation": "摘要翻译",
        "abstract": "原文摘要", "authors": "作者", "links": "链接", "pdf": "PDF",
        "abs": "arXiv 页面", "code": "代码", "comment": "备注", "venue": "发表信息",
        "pending": "总结尚未生成：这篇论文还没有该语言的总结。",
        "failed": "总结生成失败，以下为原文摘要。",
        "no_translation": "暂无翻译（离线摘要，未配置模型）。",
        "disclaimer": "机器生成，可能有误，请以原文为准。",
    },
}  # fmt: skip


@dataclass(frozen=True)
class FeedLinks:
    """Where a feed lives and where its topic's page is."""

    self_url: str
    alternate_url: str


def xml_text(value: str) -> str:
    """The text with every character XML 1.0 cannot hold removed."""
    return _XML_INVALID.sub("", value)


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language.split("-")[0], LABELS["en"])


def render_atom(
    topic: Topic,
    language: str,
    items: Sequence[FeedItem],
    links: FeedLinks,
    updated_if_empty: datetime = EPOCH,
) -> bytes:
    """A valid Atom 1.0 document of the items, in the order given."""
    feed = FeedGenerator()
    feed.register_extension("entrylinks", _LinksFeedExtension, _EntryLinks, atom=True, rss=False)
    feed.id(links.self_url)
    feed.title(xml_text(f"{topic.title} · arXiv ({language})"))
    feed.subtitle(xml_text(topic.query))
    feed.author({"name": "feedsvc", "uri": links.alternate_url})
    feed.link(href=links.self_url, rel="self", type="application/atom+xml")
    feed.link(href=links.alternate_url, rel="alternate", type="text/html")
    feed.language(language)
    feed.generator(GENERATOR)
    feed.updated(max((item.updated for item in items), default=updated_if_empty))
    for item in items:
        _add_entry(feed, item, language)
    return bytes(feed.atom_str(pretty=False))


def _add_entry(feed: FeedGenerator, item: FeedItem, language: str) -> None:
    paper, enrichment = item.paper, item.enrichment
    entry = feed.add_entry(order="append")
    entry.id(paper.abs_url)
    title = enrichment.title_translated if enrichment and enrichment.title_translated else ""
    entry.title(xml_text(title or paper.title))
    entry.updated(item.updated)
    entry.published(paper.published)
    for name in paper.authors:
        entry.author({"name": xml_text(name)})
    for category in paper.categories:
        entry.category({"term": xml_text(category)})
    if enrichment is not None:
        entry.summary(xml_text(enrichment.summary))
    entry.content(xml_text(render_entry_html(item, language)), type="html")
    entry.entrylinks.links = entry_links(item)


def entry_links(item: FeedItem) -> list[dict[str, str]]:
    """The alternate abs page, the PDF and code links, each with its rel, type and title."""
    paper = item.paper
    links = [
        {"href": paper.abs_url, "rel": "alternate", "type": "text/html", "title": "arXiv"},
        {"href": paper.pdf_url, "rel": "related", "type": "application/pdf", "title": "PDF"},
    ]
    links += [
        {"href": url, "rel": "related", "type": "text/html", "title": "Code"}
        for url in paper.code_links
    ]
    return [{k: xml_text(v) for k, v in link.items()} for link in links]


def render_entry_html(item: FeedItem, language: str) -> str:
    """The entry's HTML content: every field escaped by the template."""
    enrichment = item.enrichment
    return _templates.get_template("entry_content.html").render(
        paper=item.paper,
        enrichment=enrichment,
        failed=item.failed,
        labels=labels_for(language),
        show_translation=language != SOURCE_LANGUAGE,
    )


class _LinksFeedExtension:
    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, feed: Any) -> Any:
        return feed

    def extend_rss(self, feed: Any) -> Any:
        return feed


class _EntryLinks(_LinksFeedExtension):
    """Writes entry links itself: feedgen 1.0 drops rel, type and title (issue #135)."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        for old in entry.findall("link"):
            entry.remove(old)
        for link in self.links:
            etree.SubElement(entry, "link", attrib=link)
        return entry
