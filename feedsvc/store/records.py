"""What the stores hand out besides papers and enrichments: work items, pages, stamps, usage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from feedsvc.keys import UsageField, split_work_member, work_member
from feedsvc.models import Enrichment, FeedItem, Paper, PaperPages


@dataclass(frozen=True)
class WorkItem:
    """One enrichment to do: a paper in a language, as delivered by the queue.

    `entry_id` is the stream entry, or "" for an item that came back in a batch result.
    """

    entry_id: str
    paper_id: str
    language: str

    @property
    def member(self) -> str:
        return work_member(self.paper_id, self.language)

    @classmethod
    def from_member(cls, member: str) -> WorkItem:
        return cls("", *split_work_member(member))


@dataclass(frozen=True)
class FailedRecord:
    """An item that gave up: the JSON value of its field in `enrich:failed`."""

    reason: str
    source_hash: str  # the text it gave up on: a new version is tried again
    at: str

    def to_json(self) -> str:
        return json.dumps({"reason": self.reason, "source_hash": self.source_hash, "at": self.at})

    @classmethod
    def from_json(cls, raw: str) -> FailedRecord:
        data = json.loads(raw)
        return cls(str(data["reason"]), str(data["source_hash"]), str(data["at"]))


@dataclass(frozen=True)
class DeadLetter:
    """An item delivered too often: the JSON value of its field in `enrich:dead`."""

    deliveries: int
    at: str

    def to_json(self) -> str:
        return json.dumps({"deliveries": self.deliveries, "at": self.at})

    @classmethod
    def from_json(cls, raw: str) -> DeadLetter:
        data = json.loads(raw)
        return cls(int(data["deliveries"]), str(data["at"]))


@dataclass(frozen=True)
class OpenBatch:
    """A submitted Batch API job: the JSON value of its field in `llm:batches`."""

    members: list[str]
    created: str
    interests: dict[str, str] = field(default_factory=dict)  # member -> the stamp asked for

    def to_json(self) -> str:
        asked = {"interests": self.interests} if self.interests else {}  # extends the format
        return json.dumps({"members": self.members, "created": self.created, **asked})

    @classmethod
    def from_json(cls, raw: str) -> OpenBatch:
        data = json.loads(raw)
        interests = {str(m): str(s) for m, s in data.get("interests", {}).items()}
        return cls([str(member) for member in data["members"]], str(data["created"]), interests)


@dataclass(frozen=True)
class EnrichmentStamp:
    """How a stored enrichment was made: enough to tell whether it is still current."""

    method: str
    model: str
    prompt_version: str
    source_hash: str
    interests: str = ""  # the interests its relevance was scored against (interests_stamp)
    full_text: str = ""  # "sections" or "abstract" for a full-text topic's, else ""

    FIELDS = Enrichment.STAMP_FIELDS


@dataclass(frozen=True)
class EnrichmentInputs:
    """What enriching one item needs from the store, read in one round trip."""

    paper: Paper
    stamp: EnrichmentStamp | None
    topics: frozenset[str]  # the topics whose feeds show the result
    attempts: int  # failed attempts so far
    pages: PaperPages | None = None  # its HTML view and licence, when fetched
    pages_pending: bool = False  # its latest version's pages are still to be fetched


@dataclass(frozen=True)
class LanguageCounts:
    """A topic's papers in one language: enriched, given up on, and the rest pending."""

    papers: int
    enriched: int
    failed: int

    @property
    def pending(self) -> int:
        return self.papers - self.enriched - self.failed


@dataclass(frozen=True)
class LlmCall:
    """One HTTP call to the LLM: its tokens, how it ended ('ok', 'validation', 'call' ...)
    and when, for the UTC day it counts in."""

    model: str
    tokens_in: int
    tokens_out: int
    outcome: str
    at: datetime


@dataclass(frozen=True)
class DigestListing:
    """One announcement day of a topic's digest: its papers, newest first, and the version
    a rendering of that day must have to be reused."""

    day: date
    ids: tuple[str, ...]
    version: str


@dataclass(frozen=True)
class FeedPage:
    """One page of a feed; `next_visible_at`: when a hidden paper's grace period ends."""

    items: list[FeedItem]
    page: int
    pages: int
    next_visible_at: datetime | None


@dataclass(frozen=True)
class DayPage:
    """The papers of one announcement day, and the nearest days before and after it that
    announced any of the topic's papers (None where there is none)."""

    day: date
    items: list[FeedItem]
    newer_day: date | None
    older_day: date | None
    next_visible_at: datetime | None


@dataclass
class SaveResult:
    """What storing one fetch changed."""

    new: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)  # a new version
    amended: list[str] = field(default_factory=list)  # the same version, new metadata
    queued: int = 0


@dataclass(frozen=True)
class ModelUsage:
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True)
class LlmUsage:
    """LLM calls and tokens of one UTC day or of all time, per model and per outcome."""

    models: dict[str, ModelUsage] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    tokens: int = 0

    @classmethod
    def from_counters(cls, counters: Mapping[str, int]) -> LlmUsage:
        per_model: dict[str, dict[str, int]] = {}
        outcomes: dict[str, int] = {}
        for name, value in counters.items():
            kind, label = UsageField.parse(name)
            if kind == "outcome":
                outcomes[label] = value
            elif kind in ("calls", "tokens_in", "tokens_out"):
                per_model.setdefault(label, {})[kind] = value
        models = {model: ModelUsage(**per_model[model]) for model in sorted(per_model)}
        return cls(models, outcomes, counters.get(UsageField.TOKENS, 0))
