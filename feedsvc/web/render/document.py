"""What every feed format shows: the document, its links, digest days, labels, safe text.

Atom: RFC 4287; paging: RFC 5005; RSS 2.0: https://www.rssboard.org/rss-specification;
JSON Feed 1.1: https://www.jsonfeed.org/version/1.1/
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from feedsvc.config import Topic
from feedsvc.models import SOURCE_LANGUAGE, FeedItem, Paper
from feedsvc.web.render.latex import latex_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "feedsvc"
RIGHTS = (
    "Paper metadata from arXiv (CC0 1.0). Summaries, key takeaways and translations are "
    "machine-generated and may contain errors. Each paper is under its own licence: see its "
    "arXiv page."
)
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HTML_ALSO_INVALID = re.compile("[\u007f-\u009f]")  # DEL and C1 controls: HTML parse errors

LABELS = {
    "en": {
        "summary": "Summary", "takeaways": "Key takeaways", "translation": "Translated abstract",
        "abstract": "Abstract", "authors": "Authors", "links": "Links", "pdf": "PDF",
        "abs": "arXiv page", "code": "Code", "comment": "Comment", "venue": "Venue",
        "journal_ref": "Journal reference",
        "pending": "Summary pending: this paper has not been summarised in this language yet.",
        "failed": "No summary: summarising this paper failed. The abstract follows.",
        "no_translation": "Translation not available (offline summary, no model configured).",
        "disclaimer": "Machine-generated; may contain errors. Check the paper.",
        "papers": "papers", "daily": "arXiv daily",
    },
    "zh": {
        "summary": "摘要总结", "takeaways": "要点", "translation": "摘要翻译",
        "abstract": "原文摘要", "authors": "作者", "links": "链接", "pdf": "PDF",
        "abs": "arXiv 页面", "code": "代码", "comment": "备注", "venue": "发表信息",
        "journal_ref": "期刊引用",
        "pending": "总结尚未生成：这篇论文还没有该语言的总结。",
        "failed": "总结生成失败，以下为原文摘要。",
        "no_translation": "暂无翻译（离线摘要，未配置模型）。",
        "disclaimer": "机器生成，可能有误，请以原文为准。",
        "papers": "篇论文", "daily": "arXiv 每日",
    },
}  # fmt: skip


@dataclass(frozen=True)
class FeedLinks:
    """Where a feed lives, its topic's page, and its RFC 5005 neighbours."""

    self_url: str
    alternate_url: str
    icon_url: str = ""
    first_url: str = ""
    next_url: str = ""  # older entries
    previous_url: str = ""  # newer entries


@dataclass(frozen=True)
class DigestDay:
    """One arXiv announcement day of a topic, rendered: how many papers it announced, the
    newest change among them, and the HTML listing them (see render_digest_html)."""

    day: date
    count: int
    updated: datetime
    html: str


@dataclass(frozen=True)
class FeedDocument:
    """Everything one feed document shows, in any format."""

    topic: Topic
    language: str
    links: FeedLinks
    items: Sequence[FeedItem] = ()
    days: Sequence[DigestDay] = ()
    updated_if_empty: datetime = EPOCH
    title_suffix: str = field(default="")

    @property
    def updated(self) -> datetime:
        stamps = [i.updated for i in self.items] + [d.updated for d in self.days]
        return max(stamps, default=self.updated_if_empty)

    @property
    def title(self) -> str:
        return xml_text(f"{self.topic.title} · arXiv ({self.language}){self.title_suffix}")


def xml_text(value: str) -> str:
    """The text with every character XML 1.0 cannot hold (and lone surrogates) removed."""
    return _XML_INVALID.sub("", value)


def html_text(value: str) -> str:
    """The text without what XML cannot hold, nor the control characters HTML forbids."""
    return _HTML_ALSO_INVALID.sub("", xml_text(value))


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host, else "": no javascript: or data: links."""
    parts = urlsplit(url)
    return xml_text(url) if parts.scheme in ("http", "https") and parts.netloc else ""


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language.split("-")[0], LABELS["en"])


def feed_link_pairs(links: FeedLinks) -> list[tuple[str, str]]:
    """(rel, url) of every feed-level link that is set, in the order feeds list them."""
    pairs = [("self", links.self_url), ("alternate", links.alternate_url)]
    pairs += [("first", links.first_url), ("next", links.next_url)]
    # RFC 5005 says "previous"; "prev" is its registered synonym that some readers expect.
    pairs += [("previous", links.previous_url), ("prev", links.previous_url)]
    return [(rel, url) for rel, url in pairs if url]


def digest_url(doc: FeedDocument, day: DigestDay) -> str:
    """A digest entry's id and link: the day's anchor on the topic page."""
    return f"{doc.links.alternate_url}#{day.day.isoformat()}"


def entry_id(paper: Paper, language: str) -> str:
    """A paper's entry id in one language's feeds, stable forever and unique per language.

    English keeps the versionless abstract URL; another language adds itself as the fragment
    (`https://arxiv.org/abs/2412.01234#zh`): newsboat keys items by id across every feed, so
    one paper's zh and en entries sharing an id would show only one of them.
    """
    if language == SOURCE_LANGUAGE:
        return paper.abs_url
    return f"{paper.abs_url}#{language}"


def entry_title(item: FeedItem) -> str:
    """The translated title, else the original, else the id: never blank, no controls."""
    enrichment = item.enrichment
    translated = enrichment.title_translated if enrichment else ""
    for candidate in (translated, item.paper.title):
        title = " ".join(html_text(latex_text(candidate)).split())
        if title:
            return title
    return item.paper.id
