"""arXiv's announcement calendar: which day's mailing a submission appears in.

https://info.arxiv.org/help/availability.html: submissions received before 14:00 US
Eastern are announced at 20:00 the same day, Sunday to Thursday; Thursday 14:00 to Friday
14:00 is announced on Sunday, Friday 14:00 to Monday 14:00 on Monday. Holidays are ignored.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
CUTOFF_HOURS = 14
# weekday of the day after the cutoff window -> days to the announcement (Mon=0 ... Sun=6)
_DAYS_TO_ANNOUNCEMENT = {0: 0, 1: 0, 2: 0, 3: 0, 4: 2, 5: 2, 6: 1}


def announcement_day(submitted: datetime) -> date:
    """The (Eastern) date of the mailing that announces a version submitted at `submitted`."""
    shifted = submitted.astimezone(EASTERN) + timedelta(hours=24 - CUTOFF_HOURS)
    day = shifted.date()
    return day + timedelta(days=_DAYS_TO_ANNOUNCEMENT[day.weekday()])


ANNOUNCEMENT_HOUR = 20  # Eastern, Sunday to Thursday
ANNOUNCEMENT_DAYS = (6, 0, 1, 2, 3)  # Sun, Mon, Tue, Wed, Thu
# announcement weekday -> days back to the weekday whose 14:00 cutoff closes its window
_CUTOFF_BACK = {6: 2, 0: 0, 1: 0, 2: 0, 3: 0}


def is_announcement_day(day: date) -> bool:
    return day.weekday() in ANNOUNCEMENT_DAYS


def announcement_time(day: date) -> datetime:
    """20:00 Eastern on an announcement day, as an aware time."""
    return datetime(day.year, day.month, day.day, ANNOUNCEMENT_HOUR, tzinfo=EASTERN)


def last_announcement(now: datetime) -> date:
    """The latest announcement day whose 20:00 Eastern is at or before `now`."""
    day = now.astimezone(EASTERN).date()
    while not is_announcement_day(day) or announcement_time(day) > now:
        day -= timedelta(days=1)
    return day


def previous_announcement(day: date) -> date:
    day -= timedelta(days=1)
    while not is_announcement_day(day):
        day -= timedelta(days=1)
    return day


def announcement_window(day: date) -> tuple[datetime, datetime]:
    """The submission times [start, end) that the announcement of `day` covers: from the
    previous announcement's 14:00 Eastern cutoff to its own (see announcement_day)."""
    return _cutoff(previous_announcement(day)), _cutoff(day)


def _cutoff(announced: date) -> datetime:
    closing = announced - timedelta(days=_CUTOFF_BACK[announced.weekday()])
    return datetime(closing.year, closing.month, closing.day, CUTOFF_HOURS, tzinfo=EASTERN)


# -- ISO weeks (UTC): a topic's weekly archives ---------------------------------------

WEEK = timedelta(days=7)
_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def iso_week(moment: datetime) -> str:
    """The ISO week (UTC) that holds `moment`, as 2026-W47."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def parse_iso_week(name: str) -> datetime | None:
    """The start (Monday 00:00 UTC) of an ISO week named 2026-W47; None if it names none."""
    found = _ISO_WEEK.fullmatch(name)
    if found is None:
        return None
    try:
        monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        return None
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week that holds `moment`."""
    return parse_iso_week(iso_week(moment)) or moment
