"""The project's error tree: one base class, fields that say what went wrong."""

from __future__ import annotations


class FeedsvcError(Exception):
    """Base of every error feedsvc raises on purpose."""


class ConfigError(FeedsvcError):
    """A setting or the topics file is invalid; the message is one line naming it."""


class TopicNotFound(FeedsvcError):
    """No such topic, or the topic has no feed in that language."""

    def __init__(self, slug: str, language: str | None = None, detail: str = "") -> None:
        where = f"topic {slug!r}" if language is None else f"language {language!r} of {slug!r}"
        super().__init__(f"unknown {where}")
        self.slug = slug
        self.language = language
        self.detail = detail  # the feed name asked for, when it could not be parsed


class BadRequest(FeedsvcError):
    """A malformed query parameter; the message says which and why."""


class PageNotFound(FeedsvcError):
    """A feed page past the last one."""

    def __init__(self, slug: str, page: int, pages: int) -> None:
        super().__init__(f"topic {slug!r} has {pages} feed pages; there is no page {page}")
        self.slug = slug
        self.page = page
        self.pages = pages


class DayNotFound(FeedsvcError):
    """No paper of the topic was announced on that day."""

    def __init__(self, slug: str, day: str) -> None:
        super().__init__(f"{slug}: nothing announced on {day}")
        self.slug = slug
        self.day = day


class WeekNotFound(FeedsvcError):
    """A week with no archive: it has not begun, or it ended before the topic's first paper."""

    def __init__(self, slug: str, week: str, why: str = "has not begun") -> None:
        super().__init__(f"{slug}: week {week} {why}")
        self.slug = slug
        self.week = week
        self.why = why


class PaperNotFound(FeedsvcError):
    """No such paper is stored, or the name is not a paper's file."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no paper {name!r}")
        self.name = name


class SourceError(FeedsvcError):
    """Fetching from arXiv failed; nothing was stored."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"topic {topic!r}: arXiv fetch failed: {reason}")
        self.topic = topic
        self.reason = reason


class EnrichmentFailed(FeedsvcError):
    """One enrichment attempt failed.

    `kind` is "call" (the request failed) or "validation" (the output was rejected);
    `retry_after_seconds` is the server's Retry-After, when it sent one.
    """

    def __init__(
        self,
        reason: str,
        transient: bool = True,
        kind: str = "call",
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.kind = kind
        self.retry_after_seconds = retry_after_seconds


class StoreError(FeedsvcError):
    """Redis refused a command; the message is Redis's own."""


class StoreUnavailable(StoreError):
    """Redis cannot be reached (connection refused, timed out, loading)."""


class StoreMigrating(StoreUnavailable):
    """The stored data has an older layout than the code reads: a worker is migrating it."""
