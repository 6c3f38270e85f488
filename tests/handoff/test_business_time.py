"""Deadline arithmetic in business time: weekends, holidays, time zones and DST."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from handoff.business_time import Calendar, business_add

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=tz)


def test_four_business_hours_from_friday_afternoon_end_on_monday_morning():
    calendar = Calendar(tz=BERLIN)
    # Friday 2026-11-27 15:00 Berlin: 2 h left on Friday, 2 h from Monday 9:00.
    due = business_add(calendar, at(BERLIN, 2026, 11, 27, 15), 240)
    assert due == at(BERLIN, 2026, 11, 30, 11)


def test_a_clock_started_on_saturday_starts_at_monday_opening():
    calendar = Calendar(tz=BERLIN)
    due = business_add(calendar, at(BERLIN, 2026, 11, 28, 12), 30)
    assert due == at(BERLIN, 2026, 11, 30, 9, 30)


def test_a_holiday_is_skipped_like_a_weekend():
    # Thursday 2026-12-24 16:00, holidays on the 25th (Fri); 4 h → Monday 12:00.
    calendar = Calendar(tz=BERLIN, holidays=frozenset({datetime.date(2026, 12, 25)}))
    due = business_add(calendar, at(BERLIN, 2026, 12, 24, 16), 240)
    assert due == at(BERLIN, 2026, 12, 28, 12)


def test_before_opening_counts_from_opening_and_after_closing_from_the_next_day():
    calendar = Calendar(tz=BERLIN)
    assert business_add(calendar, at(BERLIN, 2026, 11, 24, 7), 60) == at(BERLIN, 2026, 11, 24, 10)
    assert business_add(calendar, at(BERLIN, 2026, 11, 24, 18), 60) == at(BERLIN, 2026, 11, 25, 10)


def test_one_business_day_across_the_spring_dst_change_in_new_york():
    # US clocks go forward on Sunday 2026-03-08. Friday 13:00 EST + 8 business hours is
    # Monday 13:00 EDT: the same wall time, 71 real hours later, not 72.
    calendar = Calendar(tz=NEW_YORK)
    start = at(NEW_YORK, 2026, 3, 6, 13)
    due = business_add(calendar, start, 480)
    assert due == at(NEW_YORK, 2026, 3, 9, 13)
    assert due.utcoffset() != start.utcoffset()
    assert (due - start) == datetime.timedelta(hours=71)


def test_the_team_time_zone_decides_which_hours_count():
    # 08:00 UTC is 09:00 in Berlin (open) but 03:00 in New York (closed).
    start = datetime.datetime(2026, 11, 24, 8, tzinfo=datetime.UTC)
    assert business_add(Calendar(tz=BERLIN), start, 60) == at(BERLIN, 2026, 11, 24, 10)
    assert business_add(Calendar(tz=NEW_YORK), start, 60) == at(NEW_YORK, 2026, 11, 24, 10)


def test_custom_hours_and_a_weekend_shift():
    # A team working Sunday to Thursday, 8:00 to 12:00.
    hours = {day: (datetime.time(8), datetime.time(12)) for day in (6, 0, 1, 2, 3)}
    calendar = Calendar(tz=BERLIN, hours=hours)
    # Thursday 11:00 + 2 h: 1 h on Thursday, then Sunday 8:00 + 1 h.
    assert business_add(calendar, at(BERLIN, 2026, 11, 26, 11), 120) == at(BERLIN, 2026, 11, 29, 9)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        business_add(Calendar(tz=BERLIN), datetime.datetime(2026, 11, 24, 9), 10)  # noqa: DTZ001
