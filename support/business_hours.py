"""Business time: how much of a stretch of real time falls in a calendar's working hours,
and when a given amount of working time, counted from a moment, runs out.

Pure functions of a ``Calendar`` (a time zone, working intervals per weekday, holidays):
no database, no wall clock. Working hours are wall-clock times of the calendar's zone; a
working day's intervals become real (UTC) intervals, so a DST change shortens or lengthens
the day that has it, as a clock on the office wall would. Two rules settle the odd
wall-clock times of a change: a time that does not exist (the hour skipped in spring)
means the moment the clocks jump, and a time that happens twice (the hour repeated in
autumn) means its first occurrence. Both keep the mapping from wall clock to real time
monotonic, so the intervals never overlap and business time is additive:
``between(a, b) + between(b, c) == between(a, c)`` for ``a <= b <= c``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# A calendar with no working time left (every day a holiday, no hours) never reaches a
# target: searching further than this says "never" instead of looping.
SEARCH_DAYS = 5 * 366

Interval = tuple[int, int]  # minutes of the day, start < end <= 1440 (24:00)


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo
    # week[0] is Monday; each day's intervals sorted and disjoint (``calendar()`` makes so).
    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)


def _minutes(value: time, *, end: bool) -> int:
    minutes = value.hour * 60 + value.minute
    return MINUTES_PER_DAY if end and minutes == 0 else minutes  # 00:00 closing = midnight


def calendar(zone: str, week: Mapping[int, Iterable[tuple[time, time]]],
             holidays: Iterable[date] = ()) -> Calendar:
    """A calendar from working hours per weekday (0 = Monday), e.g.
    ``{0: [(time(9), time(13)), (time(14), time(18))], ...}``; a closing time of 00:00
    means midnight. Overlapping intervals are merged; empty ones are dropped."""
    days: list[tuple[Interval, ...]] = []
    for weekday in range(7):
        spans = sorted((_minutes(start, end=False), _minutes(stop, end=True))
                       for start, stop in week.get(weekday, ()))
        merged: list[list[int]] = []
        for start, stop in spans:
            if start >= stop:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        days.append(tuple((start, stop) for start, stop in merged))
    return Calendar(zone=ZoneInfo(zone), week=tuple(days), holidays=frozenset(holidays))


def always(zone: str = "UTC") -> Calendar:
    """Every hour of every day: a department without a calendar counts real time."""
    return calendar(zone, {day: [(time(0), time(0))] for day in range(7)})


def _to_utc(day: date, minute: int, zone: ZoneInfo) -> datetime:
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # Skipped by a change of the clocks: the moment of the jump, found by halving the span
    # between the two readings of this wall time (a few dozen steps, on a rare path).
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high, after = first, first.astimezone(zone).utcoffset()
    if low >= high:
        return high
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def _working_intervals(cal: Calendar, first_day: date) -> Iterator[tuple[datetime, datetime]]:
    """Real working intervals in time order from ``first_day`` on, for SEARCH_DAYS days."""
    for offset in range(SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        if day in cal.holidays:
            continue
        for start, stop in cal.week[day.weekday()]:
            begins, ends = _to_utc(day, start, cal.zone), _to_utc(day, stop, cal.zone)
            if begins < ends:
                yield begins, ends


def _local_day(cal: Calendar, moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("Business time needs aware datetimes.")
    # The day before too: its working time may end after local midnight in real time
    # when a clock change falls at midnight.
    return moment.astimezone(cal.zone).date() - timedelta(days=1)


def business_time_between(cal: Calendar, start: datetime, end: datetime) -> timedelta:
    """Working time in ``[start, end)``; zero when ``end`` is not after ``start``."""
    total = timedelta(0)
    if end <= start:
        return total
    for begins, ends in _working_intervals(cal, _local_day(cal, start)):
        if begins >= end:
            break
        overlap = min(ends, end) - max(begins, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def add_business_time(cal: Calendar, start: datetime, amount: timedelta) -> datetime | None:
    """The earliest moment by which ``amount`` of working time has passed since ``start``;
    None when the calendar has not that much working time left (no hours at all)."""
    if amount <= timedelta(0):
        return start
    remaining = amount
    for begins, ends in _working_intervals(cal, _local_day(cal, start)):
        if ends <= start:
            continue
        begins = max(begins, start)
        if ends - begins >= remaining:
            return begins + remaining
        remaining -= ends - begins
    return None


def business_seconds_between(cal: Calendar, start: datetime, end: datetime) -> float:
    return business_time_between(cal, start, end).total_seconds()


def add_business_seconds(cal: Calendar, start: datetime, seconds: float) -> datetime | None:
    return add_business_time(cal, start, timedelta(seconds=seconds))
