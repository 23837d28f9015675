"""Business time: worked examples a person checked on a wall calendar, and properties that
must hold for any calendar (additivity, monotonicity, adding and measuring agree), DST
changes and holidays included."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from support.business_hours import (
    add_business_seconds,
    add_business_time,
    always,
    business_seconds_between,
    business_time_between,
    calendar,
)

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = calendar("Europe/Berlin",
                  {day: [(time(9), time(13)), (time(14), time(18))] for day in range(5)},
                  holidays=[date(2026, 12, 25)])


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


H = timedelta(hours=1)


@pytest.mark.parametrize(("start", "end", "expected"), [
    # Thursday 2026-03-05, inside the morning: to lunch.
    (berlin(2026, 3, 5, 10), berlin(2026, 3, 5, 13), 3 * H),
    # Across lunch: 12-13 and 14-15.
    (berlin(2026, 3, 5, 12), berlin(2026, 3, 5, 15), 2 * H),
    # Friday 17:00 to Monday 10:00: 1 h on Friday, 1 h on Monday.
    (berlin(2026, 3, 6, 17), berlin(2026, 3, 9, 10), 2 * H),
    # A whole working week, Monday 00:00 to the next Monday 00:00: 5 x 8 h.
    (berlin(2026, 3, 2), berlin(2026, 3, 9), 40 * H),
    # Christmas (Friday) is a holiday: Thursday 17:00 to Monday 10:00 is 1 h + 1 h.
    (berlin(2026, 12, 24, 17), berlin(2026, 12, 28, 10), 2 * H),
    # Backwards or empty: nothing.
    (berlin(2026, 3, 5, 15), berlin(2026, 3, 5, 10), timedelta(0)),
])
def test_worked_examples(start, end, expected):
    assert business_time_between(OFFICE, start, end) == expected


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (berlin(2026, 3, 5, 10), 2, berlin(2026, 3, 5, 12)),
    (berlin(2026, 3, 5, 12), 2, berlin(2026, 3, 5, 15)),       # lunch is skipped
    (berlin(2026, 3, 6, 17), 2, berlin(2026, 3, 9, 10)),       # over the weekend
    (berlin(2026, 3, 7, 11), 1, berlin(2026, 3, 9, 10)),       # from a Saturday
    (berlin(2026, 12, 24, 17), 2, berlin(2026, 12, 28, 10)),   # over Christmas
    (berlin(2026, 3, 5, 20), 0, berlin(2026, 3, 5, 20)),       # nothing to add
])
def test_adding_worked_examples(start, hours, expected):
    assert add_business_time(OFFICE, start, hours * H) == expected
    assert add_business_seconds(OFFICE, start, hours * 3600) == expected


NIGHT_SHIFT = calendar("Europe/Berlin", {6: [(time(1), time(4))]})  # Sundays 01:00-04:00


def test_the_spring_change_shortens_the_working_night():
    # 2026-03-29: 02:00 jumps to 03:00, so 01:00-04:00 lasts two real hours.
    assert business_time_between(NIGHT_SHIFT, berlin(2026, 3, 29), berlin(2026, 3, 30)) == 2 * H
    assert add_business_time(NIGHT_SHIFT, berlin(2026, 3, 29), 2 * H) == berlin(2026, 3, 29, 4)


def test_the_autumn_change_lengthens_the_working_night():
    # 2026-10-25: 03:00 goes back to 02:00, so 01:00-04:00 lasts four real hours.
    day = datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert business_time_between(NIGHT_SHIFT, day, day + 24 * H) == 4 * H


def test_a_shift_inside_the_skipped_hour_is_no_time():
    skipped = calendar("Europe/Berlin", {6: [(time(2, 15), time(2, 45))]})
    assert business_time_between(skipped, berlin(2026, 3, 29), berlin(2026, 3, 30)) \
        == timedelta(0)
    assert business_time_between(skipped, berlin(2026, 3, 22), berlin(2026, 3, 23)) \
        == timedelta(minutes=30)


def test_a_calendar_without_hours_never_reaches_a_target():
    closed = calendar("UTC", {})
    assert add_business_time(closed, datetime(2026, 1, 1, tzinfo=UTC), H) is None
    assert business_seconds_between(closed, datetime(2026, 1, 1, tzinfo=UTC),
                                    datetime(2026, 2, 1, tzinfo=UTC)) == 0


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        business_time_between(OFFICE, datetime(2026, 1, 1), datetime(2026, 1, 2))


# Zones with DST at 02:00 and at midnight, a half-hour change, a skipped day, none at all.
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
         "Pacific/Apia", "Asia/Kolkata", "America/Havana"]
quarter_hours = st.integers(0, 96).map(lambda q: time((q * 15) // 60 % 24, q * 15 % 60))
intervals = st.lists(st.tuples(quarter_hours, quarter_hours), max_size=3)
calendars = st.builds(
    calendar, st.sampled_from(ZONES),
    st.dictionaries(st.integers(0, 6), intervals, max_size=7),
    st.lists(st.dates(date(2011, 12, 20), date(2012, 1, 20)) | st.dates(date(2026, 1, 1),
                                                                         date(2026, 12, 31)),
             max_size=20))
# Moments around 2026's clock changes, and around Samoa's skipped 2011-12-30.
moments = (st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
           | st.datetimes(datetime(2011, 12, 25), datetime(2012, 1, 5), timezones=st.just(UTC)))
spans = st.timedeltas(timedelta(0), timedelta(days=20))


@settings(max_examples=300, deadline=None)
@given(calendars, moments, spans, spans)
def test_business_time_is_additive_and_monotonic(cal, start, first, second):
    middle, end = start + first, start + first + second
    left = business_time_between(cal, start, middle)
    right = business_time_between(cal, middle, end)
    assert left + right == business_time_between(cal, start, end)
    assert timedelta(0) <= left <= first  # never more than the real time that passed


@settings(max_examples=300, deadline=None)
@given(calendars, moments, st.timedeltas(timedelta(0), timedelta(days=10)))
def test_adding_is_the_earliest_moment_that_measures_the_amount(cal, start, amount):
    reached = add_business_time(cal, start, amount)
    assume(reached is not None)
    assert reached >= start
    assert business_time_between(cal, start, reached) == amount
    if amount > timedelta(0):
        assert business_time_between(cal, start, reached - timedelta(microseconds=1)) < amount


@settings(max_examples=100, deadline=None)
@given(moments, spans)
def test_a_calendar_open_all_the_time_counts_real_time(start, span):
    assert business_time_between(always("Europe/Berlin"), start, start + span) == span
    assert add_business_time(always(), start, span) == start + span
