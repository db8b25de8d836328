"""RFC 5005 archived feeds: one document per ISO week (UTC) of the papers that joined a topic
that week, linked prev-archive / next-archive, and from the current feed by prev-archive.

A week is archived once it has been over for ARCHIVE_DELAY (its late papers enriched): its
first rendering after that is kept in Redis for good, so its bytes and ETag never change.
Until then `?week=` serves the week so far, not marked as an archive.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from feedsvc.calendar import WEEK, iso_week, parse_iso_week, week_start
from feedsvc.config import Topic
from feedsvc.errors import BadRequest, WeekNotFound

ARCHIVE_DELAY = timedelta(days=2)
ARCHIVED = "archived"  # the version of every archived week: it never moves


def week_named(topic: Topic, raw: str, now: datetime) -> str:
    """The ISO week `raw` names, once it has begun; BadRequest or WeekNotFound if not."""
    start = parse_iso_week(raw)
    if start is None:
        raise BadRequest(f"week must be an ISO week such as {iso_week(now)}, not {raw[:20]!r}")
    if start > now:
        raise WeekNotFound(topic.slug, raw)
    return raw


def is_archived(week: str, now: datetime) -> bool:
    """Whether the week has been over for ARCHIVE_DELAY: its document is kept as it is."""
    start = parse_iso_week(week)
    return start is not None and start + WEEK + ARCHIVE_DELAY <= now


def archived_before(now: datetime) -> datetime:
    """The end of the newest archived week: every week that ends by then is archived."""
    return week_start(now - ARCHIVE_DELAY)


def next_archiving(now: datetime) -> datetime:
    """When the next week becomes an archive (and the current feed's prev-archive moves)."""
    return archived_before(now) + WEEK + ARCHIVE_DELAY
