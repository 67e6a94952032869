"""A firm's business days and hours, and the moments that fall inside them.

Document reviews remind reviewers "after 2 business days" and escalate "after the
deadline", counted in the firm's own week (``Firm.business_days``, ISO weekdays) and landing
inside its hours (``business_start``..``business_end``) in its time zone. Pure and
deterministic: the same moment and hours give the same answer on every machine, so the
reminder plan a review's activity computes never depends on where it runs.

Every moment in and out is an aware UTC ``datetime``. A span whose end is not after its
start runs to midnight; a week without business days counts every day. A wall time that
does not exist on a day (the hour a DST change skips) moves to the next moment inside the
hours.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_DAYS = frozenset(range(1, 8))
# Every week holds a business day, so the next one is at most a week and a day away.
_SEARCH_DAYS = 9


@dataclass(frozen=True)
class BusinessHours:
    time_zone: str
    # ISO weekdays, 1 = Monday.
    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def of(cls, time_zone: str, days: list[int], start: time, end: time) -> "BusinessHours":
        return cls(time_zone, frozenset(days) & ALL_DAYS or ALL_DAYS, start, end)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def is_business_day(self, day: date) -> bool:
        return day.isoweekday() in self.days

    def inside(self, moment: datetime) -> bool:
        """The moment is on a business day within the day's hours."""
        local = self.local(moment)
        if not self.is_business_day(local.date()):
            return False
        wall = local.time().replace(tzinfo=None)
        if self.end <= self.start:
            return wall >= self.start
        return self.start <= wall < self.end

    def _at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, self.zone).astimezone(UTC)


def next_open(hours: BusinessHours, moment: datetime) -> datetime:
    """``moment`` when it is inside the business hours, else the first moment after it
    that is (a business day's opening time, or just after a skipped hour)."""
    if hours.inside(moment):
        return moment
    day = hours.local(moment).date()
    for offset in range(_SEARCH_DAYS):
        current = day + timedelta(days=offset)
        if not hours.is_business_day(current):
            continue
        # An opening time in a skipped hour reads as the same wall time an hour later.
        opening = hours._at(current, hours.start)
        if opening >= moment and hours.inside(opening):
            return opening
    raise ValueError(f"no business hours within {_SEARCH_DAYS} days of {moment.isoformat()}")


def add_business_days(hours: BusinessHours, moment: datetime, count: int) -> datetime:
    """``count`` business days after ``moment`` at the same wall time: ``moment`` is first
    moved into business hours, then carried to the ``count``-th following business day.
    Friday 16:00 plus 2 business days (Monday to Friday) is Tuesday 16:00."""
    if count < 0:
        raise ValueError("count must not be negative")
    start = hours.local(next_open(hours, moment))
    day = start.date()
    left = count
    while left:
        day += timedelta(days=1)
        if hours.is_business_day(day):
            left -= 1
    return next_open(hours, hours._at(day, start.time().replace(tzinfo=None)))


def business_days_between(hours: BusinessHours, first: date, last: date) -> int:
    """How many business days follow ``first`` up to and including ``last``."""
    return sum(
        hours.is_business_day(first + timedelta(days=offset))
        for offset in range(1, (last - first).days + 1)
    )
