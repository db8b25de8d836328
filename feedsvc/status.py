"""A topic's fetching as every worker and web process sees it: the status hash in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from feedsvc.times import decode_optional_time, decode_time, encode_time


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
            "complete_stored": str(self.stored), "complete_at": encode_time(self.checked_at),
        }  # fmt: skip

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> Completeness | None:
        if not data.get("complete_day"):
            return None
        return cls(date.fromisoformat(data["complete_day"]), int(data["complete_arxiv"]),
                   int(data["complete_stored"]), decode_time(data["complete_at"]))  # fmt: skip


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
        fields = {"last_fetched": encode_time(when)}
        if high_water is not None:
            fields["high_water"] = encode_time(high_water)
        return fields

    @staticmethod
    def completeness_failure_fields(when: datetime) -> dict[str, str]:
        return {"complete_failed_at": encode_time(when)}

    @staticmethod
    def error_fields(reason: str, when: datetime) -> dict[str, str]:
        """The hash fields a failed fetch writes."""
        return {"last_error": reason, "last_error_at": encode_time(when)}

    @classmethod
    def from_redis(cls, paper_count: int, data: dict[str, str]) -> TopicStatus:
        return cls(
            paper_count=paper_count,
            last_fetched=decode_optional_time(data.get("last_fetched")),
            last_error=data.get("last_error", ""),
            last_error_at=decode_optional_time(data.get("last_error_at")),
            high_water=decode_optional_time(data.get("high_water")),
            first_fetched=decode_optional_time(data.get("first_fetched")),
            completeness=Completeness.from_fields(data),
            completeness_failed_at=decode_optional_time(data.get("complete_failed_at")),
        )
