"""arXiv's announcement calendar: which day's mailing a submission appears in.

https://info.arxiv.org/help/availability.html: submissions received before 14:00 US
Eastern are announced at 20:00 the same day, Sunday to Thursday; Thursday 14:00 to Friday
14:00 is announced on Sunday, Friday 14:00 to Monday 14:00 on Monday. Holidays are ignored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from feedsvc.models import FeedItem

EASTERN = ZoneInfo("America/New_York")
CUTOFF_HOURS = 14
# weekday of the day after the cutoff window -> days to the announcement (Mon=0 ... Sun=6)
_DAYS_TO_ANNOUNCEMENT = {0: 0, 1: 0, 2: 0, 3: 0, 4: 2, 5: 2, 6: 1}


def announcement_day(submitted: datetime) -> date:
    """The (Eastern) date of the mailing that announces a version submitted at `submitted`."""
    shifted = submitted.astimezone(EASTERN) + timedelta(hours=24 - CUTOFF_HOURS)
    day = shifted.date()
    return day + timedelta(days=_DAYS_TO_ANNOUNCEMENT[day.weekday()])


def group_by_announcement(items: Iterable[FeedItem]) -> list[tuple[date, list[FeedItem]]]:
    """Items grouped by the announcement day of their latest version, newest day first."""
    days: dict[date, list[FeedItem]] = defaultdict(list)
    for item in items:
        days[announcement_day(item.paper.updated)].append(item)
    return sorted(days.items(), reverse=True)
