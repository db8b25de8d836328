"""The project's own types and their Redis hash encoding; all type conversion lives here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import ClassVar, Literal

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
        venue = new.venue if new.venue and new.venue != old.venue else ""
        return cls(old.version, new.version, changed, added, venue, at)

    def to_json(self) -> str:
        return json.dumps({
            "from": self.from_version, "to": self.to_version, "changed": list(self.changed),
            "added": list(self.added), "venue": self.venue, "at": _encode_time(self.at),
        }, ensure_ascii=False)  # fmt: skip

    @classmethod
    def from_json(cls, raw: str) -> Revision | None:
        if not raw:
            return None
        data = json.loads(raw)
        return cls(int(data["from"]), int(data["to"]), tuple(data["changed"]),
                   tuple(data["added"]), str(data["venue"]), _decode_time(data["at"]))  # fmt: skip


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

    @staticmethod
    def decode_time(raw: str) -> datetime:
        """A time as the paper hash stores it ('updated', 'published', 'first_seen')."""
        return _decode_time(raw)

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
            "published": _encode_time(self.published),
            "updated": _encode_time(self.updated),
            "categories": json.dumps(list(self.categories)),
            "primary_category": self.primary_category,
            "comment": self.comment,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
            "pdf_url": self.pdf_url,
            "code_links": json.dumps(list(self.code_links)),
            "venue": self.venue,
            "first_seen": _encode_time(self.first_seen),
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
            published=_decode_time(data["published"]),
            updated=_decode_time(data["updated"]),
            categories=tuple(json.loads(data.get("categories", "[]"))),
            primary_category=data.get("primary_category", ""),
            comment=data.get("comment", ""),
            journal_ref=data.get("journal_ref", ""),
            doi=data.get("doi", ""),
            pdf_url=data.get("pdf_url", ""),
            code_links=tuple(json.loads(data.get("code_links", "[]"))),
            venue=data.get("venue", ""),
            first_seen=_decode_time(data["first_seen"]),
            revision=Revision.from_json(data.get("revision", "")),
        )


@dataclass(frozen=True)
class Enrichment:
    """What was made from one paper for one language, and how it was made."""

    SOURCE_HASH_FIELD: ClassVar[str] = "source_hash"
    STAMP_FIELDS: ClassVar[tuple[str, ...]] = ("method", "model", "prompt_version", "source_hash")

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

    @property
    def provenance(self) -> str:
        if self.method == "extractive":
            return "Offline extractive summary: sentences chosen from the abstract, no model used"
        line = f"Summary, takeaways and translation by {self.model} (prompt {self.prompt_version})"
        if self.unverified_numbers:
            numbers = ", ".join(self.unverified_numbers)
            line += f"; numbers not found in the abstract, possibly unfaithful: {numbers}"
        return line

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
            "created_at": _encode_time(self.created_at),
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
            created_at=_decode_time(data["created_at"]),
        )


@dataclass(frozen=True)
class FeedItem:
    """A paper as one language's feed shows it: with its enrichment, or pending."""

    paper: Paper
    enrichment: Enrichment | None
    failed: bool = False  # no enrichment and the worker gave up on it

    @property
    def updated(self) -> datetime:
        """arXiv's update, the enrichment's and metadata that arrived later, the newest."""
        stamps = [self.paper.updated]
        if self.enrichment is not None:
            stamps.append(self.enrichment.created_at)
        if self.paper.revision is not None and self.paper.revision.amended:
            stamps.append(self.paper.revision.at)
        return max(stamps)


@dataclass(frozen=True)
class Completeness:
    """How many of one announcement's papers a topic holds, against arXiv's own count."""

    announced: date  # the announcement day (US Eastern)
    on_arxiv: int  # opensearch:totalResults of the topic's query over the day's window
    stored: int  # the topic's papers updated in that window
    checked_at: datetime

    @property
    def missing(self) -> int:
        return max(0, self.on_arxiv - self.stored)

    def to_fields(self) -> dict[str, str]:
        return {
            "complete_day": self.announced.isoformat(), "complete_arxiv": str(self.on_arxiv),
            "complete_stored": str(self.stored), "complete_at": _encode_time(self.checked_at),
        }  # fmt: skip

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> Completeness | None:
        if not data.get("complete_day"):
            return None
        return cls(date.fromisoformat(data["complete_day"]), int(data["complete_arxiv"]),
                   int(data["complete_stored"]), _decode_time(data["complete_at"]))  # fmt: skip


@dataclass(frozen=True)
class TopicStatus:
    """What the index page and stats show about a topic's fetching."""

    paper_count: int = 0
    last_fetched: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    high_water: datetime | None = None  # the newest `updated` any fetch of the topic saw
    first_fetched: datetime | None = None  # unknown for topics fetched before it was kept
    completeness: Completeness | None = None  # the last announcement checked
    completeness_failed_at: datetime | None = None  # the last check arXiv failed

    def is_stale(self, now: datetime, stale_after_seconds: float) -> bool:
        """True when the last successful fetch is older than allowed (or never happened)."""
        if self.last_fetched is None:
            return True
        return (now - self.last_fetched).total_seconds() > stale_after_seconds

    @property
    def failing(self) -> bool:
        """The last fetch attempt failed."""
        if not self.last_error or self.last_error_at is None:
            return False
        return self.last_fetched is None or self.last_error_at > self.last_fetched

    @staticmethod
    def success_fields(when: datetime, high_water: datetime | None = None) -> dict[str, str]:
        """The hash fields a successful fetch writes; the high-water mark when it moved."""
        fields = {"last_fetched": _encode_time(when)}
        if high_water is not None:
            fields["high_water"] = _encode_time(high_water)
        return fields

    @staticmethod
    def completeness_failure_fields(when: datetime) -> dict[str, str]:
        return {"complete_failed_at": _encode_time(when)}

    @staticmethod
    def error_fields(reason: str, when: datetime) -> dict[str, str]:
        """The hash fields a failed fetch writes."""
        return {"last_error": reason, "last_error_at": _encode_time(when)}

    @classmethod
    def from_redis(cls, paper_count: int, data: dict[str, str]) -> TopicStatus:
        return cls(
            paper_count=paper_count,
            last_fetched=_decode_optional_time(data.get("last_fetched")),
            last_error=data.get("last_error", ""),
            last_error_at=_decode_optional_time(data.get("last_error_at")),
            high_water=_decode_optional_time(data.get("high_water")),
            first_fetched=_decode_optional_time(data.get("first_fetched")),
            completeness=Completeness.from_fields(data),
            completeness_failed_at=_decode_optional_time(data.get("complete_failed_at")),
        )


def _encode_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: feedsvc stores aware UTC times only")
    return value.astimezone(UTC).isoformat()


def _decode_time(raw: str) -> datetime:
    return datetime.fromisoformat(raw).astimezone(UTC)


def _decode_optional_time(raw: str | None) -> datetime | None:
    return _decode_time(raw) if raw else None
