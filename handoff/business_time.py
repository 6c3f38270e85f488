"""Deadline arithmetic in a team's business time: its working hours, in its time zone,
minus its holidays.

Working windows are built from local dates and times and converted to UTC before any
subtraction, so a window on the day a clock changes (DST) has its real length, and a
deadline is an exact instant.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

# Monday to Friday, 9:00 to 17:00, for a team that set no hours.
DEFAULT_HOURS = {day: (datetime.time(9), datetime.time(17)) for day in range(5)}
# Beyond this many days without a working minute the calendar is considered empty.
_MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    # weekday (Monday = 0) → (opens, closes), local time.
    hours: dict[int, tuple[datetime.time, datetime.time]] = field(
        default_factory=lambda: dict(DEFAULT_HOURS)
    )
    holidays: frozenset[datetime.date] = frozenset()

    def window(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime] | None:
        """The working window of a local date, as aware UTC datetimes, or None."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        start = datetime.datetime.combine(day, opens, tzinfo=self.tz).astimezone(datetime.UTC)
        end = datetime.datetime.combine(day, closes, tzinfo=self.tz).astimezone(datetime.UTC)
        return (start, end) if end > start else None


def business_add(calendar: Calendar, start: datetime.datetime, minutes: int) -> datetime.datetime:
    """The instant ``minutes`` of working time after ``start`` (aware).

    Time before opening, after closing, on weekends off and on holidays does not count; a
    clock started out of hours starts at the next opening. Zero minutes out of hours is
    the next opening too (the work can only be done then).
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(datetime.UTC)
    day = cursor.astimezone(calendar.tz).date()
    for _ in range(_MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(cursor, opens)
            if begin < closes:
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
    raise ValueError("the calendar has no working hours")
