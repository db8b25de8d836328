"""When a topic is due: a fetch after each arXiv announcement (or on an interval), a slow
safety poll, a retry soon after a failure; and a completeness check of each announcement.

Every worker decides from the topic's status in Redis (its last successful fetch, its last
error, the last announcement checked), so any number of workers poll a topic once when it
is due, not once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from feedsvc.calendar import ANNOUNCEMENT_HOUR, EASTERN, announcement_time, last_announcement
from feedsvc.config import Settings
from feedsvc.status import TopicStatus

ANNOUNCEMENT_LAG = timedelta(minutes=30)  # arXiv's API has the mailing by then
RETRY_AFTER_FAILURE = timedelta(minutes=15)
DUE_EARLY = timedelta(seconds=30)  # a worker's own next poll is never skipped for jitter
COMPLETENESS_DELAY = timedelta(hours=4)  # after the announcement, once its poll has run
COMPLETENESS_RETRY = timedelta(minutes=30)  # after arXiv failed a check


class FetchSchedule(Protocol):
    """Whether a topic is due for a fetch, from its status alone."""

    def due(self, status: TopicStatus, now: datetime) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class AnnouncementSchedule:
    """Every day at `lag` past arXiv's announcement hour (20:00 US Eastern): on Sunday to
    Thursday right after the announcement, on Friday and Saturday as the safety poll, so a
    day without an announcement (or a holiday, or a late API) costs that one poll."""

    lag: timedelta = ANNOUNCEMENT_LAG

    def due(self, status: TopicStatus, now: datetime) -> bool:
        if (waiting := _retry_wait(status, now)) is not None:
            return waiting
        last = status.last_fetched
        return last is None or last < self.latest_poll(now)

    def latest_poll(self, now: datetime) -> datetime:
        """The latest daily poll time at or before `now`."""
        day = (now - self.lag).astimezone(EASTERN).date()
        poll = datetime(day.year, day.month, day.day, ANNOUNCEMENT_HOUR, tzinfo=EASTERN)
        poll += self.lag
        return poll if poll <= now else poll - timedelta(days=1)

    def describe(self) -> str:
        minutes = int(self.lag.total_seconds() // 60)
        return (
            f"daily at {ANNOUNCEMENT_HOUR}:{minutes:02d} US Eastern, {minutes} min after each "
            "arXiv announcement (Sunday to Thursday), a safety poll on other days"
        )


@dataclass(frozen=True)
class IntervalSchedule:
    """Every `interval`, as `FEEDSVC_FETCH_SCHEDULE=interval` asks."""

    interval: timedelta

    def due(self, status: TopicStatus, now: datetime) -> bool:
        if (waiting := _retry_wait(status, now)) is not None:
            return waiting
        last = status.last_fetched
        return last is None or now - last >= self.interval - DUE_EARLY

    def describe(self) -> str:
        return f"every {self.interval.total_seconds():g} s"


def schedule_of(settings: Settings) -> FetchSchedule:
    if settings.fetch_schedule == "interval":
        return IntervalSchedule(timedelta(seconds=settings.fetch_interval_seconds))
    return AnnouncementSchedule()


def _retry_wait(status: TopicStatus, now: datetime) -> bool | None:
    """After a failed fetch: due once RETRY_AFTER_FAILURE has passed; None if not failing."""
    if not status.failing or status.last_error_at is None:
        return None
    return now - status.last_error_at >= RETRY_AFTER_FAILURE - DUE_EARLY


def completeness_due(status: TopicStatus, now: datetime) -> date | None:
    """The announcement whose completeness is due to be checked, if one is: the latest at
    least COMPLETENESS_DELAY old, fetched since, not checked yet, and after the topic's
    first fetch (which takes only `max_results`, so leaves gaps on purpose)."""
    day = last_announcement(now - COMPLETENESS_DELAY)
    announced = announcement_time(day)
    checked = status.completeness
    if checked is not None and checked.announced >= day:
        return None
    if status.last_fetched is None or status.last_fetched < announced:
        return None
    if status.first_fetched is not None and status.first_fetched > announced:
        return None
    failed = status.completeness_failed_at
    if failed is not None and now - failed < COMPLETENESS_RETRY:
        return None
    return day
