"""The fetch schedule, decided from a topic's shared status: after each announcement, a
daily safety poll, a retry soon after a failure; the completeness check once per day."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from feedsvc.calendar import EASTERN, announcement_day, announcement_window, last_announcement
from feedsvc.status import Completeness, TopicStatus
from worker.schedule import (
    AnnouncementSchedule,
    FetchSchedule,
    IntervalSchedule,
    completeness_due,
)

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday; DST ends that day in the US
STEP = timedelta(minutes=5)


def polls(schedule: FetchSchedule, days: int, fail: set[int] = frozenset()) -> list[datetime]:
    """When a worker that looks every 5 minutes fetches, over `days` days; the n-th fetch
    in `fail` fails."""
    status, now, fetched = TopicStatus(), START, []
    while now < START + timedelta(days=days):
        if schedule.due(status, now):
            fetched.append(now)
            if len(fetched) - 1 in fail:
                status = replace(status, last_error="HTTP 503", last_error_at=now)
            else:
                status = replace(status, last_fetched=now)
        now += STEP
    return fetched


def test_after_each_announcement_and_once_on_a_day_without_one() -> None:
    fetched = polls(AnnouncementSchedule(), 28)[1:]  # the first: a new topic, at once
    per_day = Counter(moment.astimezone(EASTERN).date() for moment in fetched)
    assert len(fetched) <= 28 and set(per_day.values()) == {1}
    for moment in fetched:
        eastern = moment.astimezone(EASTERN)
        if eastern.weekday() in (6, 0, 1, 2, 3):  # Sunday to Thursday: the announcement
            assert (eastern.hour, eastern.minute) == (20, 30), eastern
    quiet = [m for m in fetched if m.astimezone(EASTERN).weekday() in (4, 5)]
    assert len(quiet) == 8, "Friday and Saturday: the safety poll alone"


def test_a_failed_fetch_is_tried_again_after_fifteen_minutes() -> None:
    fetched = polls(AnnouncementSchedule(), 3, fail={1, 2})
    assert fetched[2] - fetched[1] == timedelta(minutes=15)
    assert fetched[3] - fetched[2] == timedelta(minutes=15)
    assert fetched[4] - fetched[3] > timedelta(hours=20), "then back to the schedule"


def test_the_interval_schedule_polls_on_its_interval() -> None:
    fetched = polls(IntervalSchedule(timedelta(hours=1)), 2)
    assert len(fetched) == 48
    assert {b - a for a, b in itertools.pairwise(fetched)} == {timedelta(hours=1)}


def test_every_time_falls_in_the_window_of_its_announcement() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment < datetime(2027, 1, 1, tzinfo=UTC):  # both DST changes
        day = announcement_day(moment)
        start, end = announcement_window(day)
        assert start <= moment < end and day.weekday() in (6, 0, 1, 2, 3), moment
        moment += timedelta(minutes=47)


@pytest.mark.parametrize(
    ("eastern", "announced"),
    [
        (datetime(2026, 11, 24, 19, 59), date(2026, 11, 23)),  # Tuesday, before 20:00
        (datetime(2026, 11, 24, 20, 0), date(2026, 11, 24)),
        (datetime(2026, 11, 28, 12, 0), date(2026, 11, 26)),  # Saturday: Thursday's
        (datetime(2026, 11, 29, 21, 0), date(2026, 11, 29)),  # Sunday evening
    ],
)
def test_the_last_announcement(eastern: datetime, announced: date) -> None:
    assert last_announcement(eastern.replace(tzinfo=EASTERN)) == announced


def test_completeness_is_checked_once_per_announcement_after_its_poll() -> None:
    tuesday = date(2026, 11, 24)
    evening = datetime(2026, 11, 24, 20, 30, tzinfo=EASTERN)
    status = TopicStatus(last_fetched=evening, first_fetched=evening - timedelta(days=30))
    assert completeness_due(status, evening + timedelta(hours=3)) == date(2026, 11, 23)
    assert completeness_due(status, evening + timedelta(hours=4)) == tuesday
    done = replace(status, completeness=Completeness(tuesday, 5, 5, evening))
    assert completeness_due(done, evening + timedelta(hours=5)) is None
    new_topic = replace(status, first_fetched=evening)
    assert completeness_due(new_topic, evening + timedelta(hours=4)) is None, "first fetch"
    stale = replace(status, last_fetched=evening - timedelta(hours=2))
    assert completeness_due(stale, evening + timedelta(hours=4)) is None, "not fetched since"
