"""The project's own types and their Redis hash encoding; all type conversion lives here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from feedsvc.times import decode_time, encode_time

SOURCE_LANGUAGE = "en"
EnrichmentMethod = Literal["llm", "extractive"]


@dataclass(frozen=True)
class Revision:
    """What the latest update of a stored paper changed: a new version, or metadata that
    arrived for the same version (a journal reference, a DOI, an arXiv correction)."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "title", "abstract", "authors", "comment", "journal_ref", "doi",
    )  # fmt: skip

    from_version: int
    to_version: int
    changed: tuple[str, ...]  # among FIELDS, in their order: held a value before too
    added: tuple[str, ...]  # among FIELDS: empty before
    venue: str  # the venue when the update brought a new one, else ""
    at: datetime

    @property
    def amended(self) -> bool:
        """The same version with new metadata, rather than a new version."""
        return self.from_version == self.to_version

    @classmethod
    def between(cls, old: Paper, new: Paper, at: datetime) -> Revision | None:
        """What changed from the stored `old` to the fetched `new`; None when nothing did."""
        moved = [name for name in cls.FIELDS if getattr(old, name) != getattr(new, name)]
        if new.version == old.version and not moved:
            return None
        added = tuple(name for name in moved if not getattr(old, name))
        changed = tuple(name for name in moved if name not in added)
        # A venue read anew from an unchanged comment (a newer extractor) is no news.
        said_anew = "comment" in moved or "journal_ref" in moved
        venue = new.venue if new.venue and new.venue != old.venue and said_anew else ""
        return cls(old.version, new.version, changed, added, venue, at)

    def to_json(self) -> str:
        return json.dumps({
            "from": self.from_version, "to": self.to_version, "changed": list(self.changed),
            "added": list(self.added), "venue": self.venue, "at": encode_time(self.at),
        }, ensure_ascii=False)  # fmt: skip

    @classmethod
    def from_json(cls, raw: str) -> Revision | None:
        if not raw:
            return None
        data = json.loads(raw)
        return cls(int(data["from"]), int(data["to"]), tuple(data["changed"]),
                   tuple(data["added"]), str(data["venue"]), decode_time(data["at"]))  # fmt: skip


@dataclass(frozen=True)
class Paper:
    """One arXiv paper at its latest known version; `id` is versionless (2412.01234)."""

    VERSION_FIELD: ClassVar[str] = "version"

    id: str
    version: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    published: datetime
    updated: datetime
    categories: tuple[str, ...] = ()
    primary_category: str = ""
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    pdf_url: str = ""
    code_links: tuple[str, ...] = ()
    venue: str = ""
    first_seen: datetime = field(default_factory=lambda: datetime.now(UTC))
    revision: Revision | None = None  # what its latest update changed, once it had one

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}"

    @property
    def source_hash(self) -> str:
        """Hash of the text an enrichment is made from: a change means enrich again."""
        text = f"{self.title}\n{self.abstract}".encode()
        return hashlib.sha256(text).hexdigest()[:16]

    def to_redis(self) -> dict[str, str]:
        return {
            "id": self.id,
            "version": str(self.version),
            "title": self.title,
            "abstract": self.abstract,
            "authors": json.dumps(list(self.authors), ensure_ascii=False),
            "published": encode_time(self.published),
            "updated": encode_time(self.updated),
            "categories": json.dumps(list(self.categories)),
            "primary_category": self.primary_category,
            "comment": self.comment,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
            "pdf_url": self.pdf_url,
            "code_links": json.dumps(list(self.code_links)),
            "venue": self.venue,
            "first_seen": encode_time(self.first_seen),
            "source_hash": self.source_hash,
            "revision": self.revision.to_json() if self.revision else "",
        }

    @classmethod
    def from_redis(cls, data: dict[str, str]) -> Paper:
        return cls(
            id=data["id"],
            version=int(data["version"]),
            title=data["title"],
            abstract=data["abstract"],
            authors=tuple(json.loads(data["authors"])),
            published=decode_time(data["published"]),
            updated=decode_time(data["updated"]),
            categories=tuple(json.loads(data.get("categories", "[]"))),
            primary_category=data.get("primary_category", ""),
            comment=data.get("comment", ""),
            journal_ref=data.get("journal_ref", ""),
            doi=data.get("doi", ""),
            pdf_url=data.get("pdf_url", ""),
            code_links=tuple(json.loads(data.get("code_links", "[]"))),
            venue=data.get("venue", ""),
            first_seen=decode_time(data["first_seen"]),
            revision=Revision.from_json(data.get("revision", "")),
        )


MAX_SCORE = 10  # a relevance score runs from 0 to this


@dataclass(frozen=True)
class Figure:
    """A figure of the paper's HTML view: its number, caption and image at arXiv."""

    number: str  # "1"; "" when the paper does not number it
    caption: str  # plain text, math as its LaTeX
    image_url: str  # absolute, at arXiv

    def to_dict(self) -> dict[str, str]:
        return {"number": self.number, "caption": self.caption, "image_url": self.image_url}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        return cls(str(data["number"]), str(data["caption"]), str(data["image_url"]))


@dataclass(frozen=True)
class PaperPages:
    """What arXiv's other pages say of one version of a paper: the first figures of its HTML
    view (none when it has no view) and its licence, from OAI-PMH."""

    KEPT_FIGURES: ClassVar[int] = 3

    version: int
    has_view: bool
    figures: tuple[Figure, ...]  # the first KEPT_FIGURES
    figure_count: int
    licence_url: str  # "" when the record names none: arXiv's default licence
    fetched_at: datetime
    sections: tuple[Section, ...] = ()  # kept for a full-text topic's paper, trimmed
    view_url: str = ""  # the HTML view, where a reader finds every figure ("" for none)
    thumbnail: bool = False  # a thumbnail of the lead figure is served here

    def to_redis(self) -> dict[str, str]:
        return {
            "version": str(self.version),
            "has_view": "1" if self.has_view else "0",
            "figures": json.dumps([f.to_dict() for f in self.figures], ensure_ascii=False),
            "figure_count": str(self.figure_count),
            "licence_url": self.licence_url,
            "fetched_at": encode_time(self.fetched_at),
            "sections": json.dumps(
                [{"title": s.title, "text": s.text} for s in self.sections], ensure_ascii=False
            ),
            "view_url": self.view_url,
            "thumbnail": "1" if self.thumbnail else "0",
        }

    @classmethod
    def from_redis(cls, data: dict[str, str]) -> PaperPages:
        return cls(
            version=int(data["version"]),
            has_view=data.get("has_view") == "1",
            figures=tuple(Figure.from_dict(f) for f in json.loads(data.get("figures", "[]"))),
            figure_count=int(data.get("figure_count", "0")),
            licence_url=data.get("licence_url", ""),
            fetched_at=decode_time(data["fetched_at"]),
            sections=tuple(
                Section(str(s["title"]), str(s["text"]))
                for s in json.loads(data.get("sections", "[]"))
            ),
            view_url=data.get("view_url", ""),
            thumbnail=data.get("thumbnail") == "1",
        )


@dataclass(frozen=True)
class Section:
    """A top-level section of the paper's HTML view: its title and its paragraphs' text."""

    title: str
    text: str


@dataclass(frozen=True)
class Relevance:
    """How well a paper serves one topic's stated interest, as scored with its enrichment."""

    topic: str  # the topic's slug
    score: int  # 0 (unrelated) to 10 (just what its reader looks for)
    reason: str  # one line in the enrichment's language; "" when scored offline
    interest: str  # the key of the interest it was scored against (Topic.interest_key)
    matched: tuple[str, ...] = ()  # scored offline: the interest's words the paper has
    words: int = 0  # scored offline: how many words the interest has

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "score": self.score, "reason": self.reason,
                "interest": self.interest, "matched": list(self.matched),
                "words": self.words}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Relevance:
        return cls(str(data["topic"]), int(data["score"]), str(data["reason"]),
                   str(data["interest"]), tuple(data.get("matched", ())),
                   int(data.get("words", 0)))  # fmt: skip


def interests_stamp(pairs: Iterable[tuple[str, str]]) -> str:
    """(topic, interest key) pairs as one stamp: which interests an enrichment was scored
    against, compared with the ones its topics state now."""
    return ",".join(sorted(f"{topic}:{key}" for topic, key in pairs))


@dataclass(frozen=True)
class Enrichment:
    """What was made from one paper for one language, and how it was made."""

    SOURCE_HASH_FIELD: ClassVar[str] = "source_hash"
    STAMP_FIELDS: ClassVar[tuple[str, ...]] = (
        "method", "model", "prompt_version", "source_hash", "interests", "full_text",
    )  # fmt: skip

    language: str
    method: EnrichmentMethod
    summary: str
    takeaways: tuple[str, ...]
    source_version: int
    source_hash: str
    model: str = ""
    prompt_version: str = ""
    title_translated: str = ""
    abstract_translated: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms: int = 0
    finish_reason: str = ""
    unverified_numbers: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    adjustments: tuple[str, ...] = ()  # what was cut from the model's answer to fit
    relevance: tuple[Relevance, ...] = ()  # per topic that states an interest
    full_text: str = ""  # a full-text topic's: "sections" read, or "abstract" (no HTML view)
    approach: str = ""  # from the sections: the method in two sentences
    results: str = ""  # the main results with their numbers
    limitations: str = ""  # the limitations the authors state

    @property
    def interests(self) -> str:
        """The interests it was scored against, as a stamp (see interests_stamp)."""
        return interests_stamp((r.topic, r.interest) for r in self.relevance)

    def relevance_for(self, topic: str, interest: str) -> Relevance | None:
        """Its score for the topic, if made against that interest (a key)."""
        found = (r for r in self.relevance if r.topic == topic and r.interest == interest)
        return next(found, None) if interest else None

    def to_redis(self) -> dict[str, str]:
        return {
            "language": self.language,
            "method": self.method,
            "summary": self.summary,
            "takeaways": json.dumps(list(self.takeaways), ensure_ascii=False),
            "source_version": str(self.source_version),
            "source_hash": self.source_hash,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "title_translated": self.title_translated,
            "abstract_translated": self.abstract_translated,
            "tokens_in": str(self.tokens_in),
            "tokens_out": str(self.tokens_out),
            "duration_ms": str(self.duration_ms),
            "finish_reason": self.finish_reason,
            "unverified_numbers": json.dumps(list(self.unverified_numbers)),
            "created_at": encode_time(self.created_at),
            "adjustments": json.dumps(list(self.adjustments), ensure_ascii=False),
            "relevance": json.dumps([r.to_dict() for r in self.relevance], ensure_ascii=False),
            "interests": self.interests,
            "full_text": self.full_text,
            "approach": self.approach,
            "results": self.results,
            "limitations": self.limitations,
        }

    @classmethod
    def from_redis(cls, data: dict[str, str]) -> Enrichment:
        method: EnrichmentMethod = "llm" if data["method"] == "llm" else "extractive"
        return cls(
            language=data["language"],
            method=method,
            summary=data["summary"],
            takeaways=tuple(json.loads(data["takeaways"])),
            source_version=int(data["source_version"]),
            source_hash=data["source_hash"],
            model=data.get("model", ""),
            prompt_version=data.get("prompt_version", ""),
            title_translated=data.get("title_translated", ""),
            abstract_translated=data.get("abstract_translated", ""),
            tokens_in=int(data.get("tokens_in", "0")),
            tokens_out=int(data.get("tokens_out", "0")),
            duration_ms=int(data.get("duration_ms", "0")),
            finish_reason=data.get("finish_reason", ""),
            unverified_numbers=tuple(json.loads(data.get("unverified_numbers", "[]"))),
            created_at=decode_time(data["created_at"]),
            adjustments=tuple(json.loads(data.get("adjustments", "[]"))),
            relevance=tuple(
                Relevance.from_dict(r) for r in json.loads(data.get("relevance", "[]"))
            ),
            full_text=data.get("full_text", ""),
            approach=data.get("approach", ""),
            results=data.get("results", ""),
            limitations=data.get("limitations", ""),
        )


@dataclass(frozen=True)
class FeedItem:
    """A paper as one language's feed shows it: with its enrichment, or pending."""

    paper: Paper
    enrichment: Enrichment | None
    failed: bool = False  # no enrichment and the worker gave up on it
    topics: tuple[str, ...] = ()  # the slugs of every topic that holds the paper
    pages: PaperPages | None = None  # its HTML view's figures and its licence, once fetched

    @property
    def updated(self) -> datetime:
        """arXiv's update, the enrichment's and metadata that arrived later, the newest."""
        stamps = [self.paper.updated]
        if self.enrichment is not None:
            stamps.append(self.enrichment.created_at)
        if self.paper.revision is not None and self.paper.revision.amended:
            stamps.append(self.paper.revision.at)
        return max(stamps)
