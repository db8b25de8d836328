"""arXiv's announcement calendar: which day's mailing a submission appears in.

https://info.arxiv.org/help/availability.html: submissions received before 14:00 US
Eastern are announced at 20:00 the same day, Sunday to Thursday; Thursday 14:00 to Friday
14:00 is announced on Sunday, Friday 14:00 to Monday 14:00 on Monday. Holidays are ignored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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
