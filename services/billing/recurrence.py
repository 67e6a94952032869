"""The recurrence maths of recurring invoices: which RRULEs are accepted, and when each
occurrence falls, in local wall-clock time and in UTC. Pure: no I/O.

Occurrences are computed by python-dateutil on NAIVE local wall-clock datetimes (the
rule's DTSTART is ``starts_at_local``), then placed on the time line with zoneinfo. So
09:00 Europe/Berlin stays 09:00 local across a DST change. Two wall-clock times need a
rule (Python's ``fold`` semantics, fold=0):

- a time the clocks skip (the spring-forward gap, e.g. 02:30 on the last Sunday of March
  in Berlin) takes the offset in force before the change, so it lands the gap's length
  later on the wall clock (03:30 local);
- a time that happens twice (the autumn fall-back) is the first of the two (summer time).

Only a subset of RFC 5545 is accepted, chosen so that every accepted rule fires again and
again (dateutil searches without end, up to the year 9999, for a rule that never fires):
FREQ DAILY, WEEKLY, MONTHLY or YEARLY (nothing more often than daily: one invoice a day
at most, and the occurrence date is the invoice's key), INTERVAL, BYDAY, BYMONTHDAY,
BYMONTH, BYSETPOS, WKST. The time of day comes from ``starts_at_local``; the end from
``ends_on`` or ``count`` (COUNT counts from the first occurrence, as RFC 5545 says).
"""

import calendar
import functools
import itertools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from pydantic import WithJsonSchema

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
MAX_INTERVAL = {"DAILY": 366, "WEEKLY": 52, "MONTHLY": 12, "YEARLY": 10}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
KNOWN_PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST")
UNSUPPORTED_PARTS = {
    "DTSTART": "the start is starts_at_local, not part of the rule",
    "COUNT": "give the count field instead",
    "UNTIL": "give the ends_on field instead",
    "BYHOUR": "the time of day comes from starts_at_local",
    "BYMINUTE": "the time of day comes from starts_at_local",
    "BYSECOND": "the time of day comes from starts_at_local",
    "BYYEARDAY": "not supported; use BYMONTH with BYMONTHDAY",
    "BYWEEKNO": "not supported; use BYMONTH with BYDAY",
    "BYEASTER": "not supported",
}
# Every month has at least four of each weekday, so positions up to 4 always exist.
MAX_ORDINAL = 4
MAX_COUNT = 10_000
FIRST_YEAR, LAST_YEAR = 2000, 2100
# What Schedule takes as its start: a whole minute without offset, in FIRST_YEAR..LAST_YEAR
# (the schema cannot rule out a 30 February; validation does).
WALL_CLOCK_PATTERN = (
    r"^(20\d{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:00)?$"
)
WallClock = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WALL_CLOCK_PATTERN,
            "description": "A wall-clock minute without offset, e.g. 2030-01-31T09:00.",
        }
    ),
]
MAX_PREVIEW = 100


class ScheduleError(ValueError):
    """A schedule field that cannot be used; ``pointer`` names it (e.g. ``/rrule``)."""

    def __init__(self, pointer: str, detail: str) -> None:
        super().__init__(detail)
        self.pointer = pointer
        self.detail = detail


def _rule_error(detail: str) -> ScheduleError:
    return ScheduleError("/rrule", detail)


def _number(name: str, raw: str, low: int, high: int, *, signed: bool = False) -> int:
    try:
        value = int(raw, 10)
    except ValueError:
        raise _rule_error(f"{name} must be whole numbers, not {raw!r}") from None
    if not low <= abs(value) <= high or (value < 0 and not signed):
        allowed = f"±{low}..{high}" if signed else f"{low}..{high}"
        raise _rule_error(f"{name} value {value} is outside {allowed}")
    return value


def _numbers(parts: dict[str, str], name: str, low: int, high: int, signed: bool) -> list[int]:
    if name not in parts:
        return []
    return [_number(name, raw, low, high, signed=signed) for raw in parts[name].split(",")]


def _weekdays(raw: str | None) -> list[tuple[int | None, str]]:
    if raw is None:
        return []
    days: list[tuple[int | None, str]] = []
    for token in raw.split(","):
        code, prefix = token[-2:], token[:-2]
        if code not in WEEKDAYS:
            raise _rule_error(f"BYDAY {token!r} is not a weekday (MO, TU, WE, TH, FR, SA, SU)")
        ordinal = None
        if prefix:
            ordinal = _number("BYDAY", prefix.lstrip("+"), 1, MAX_ORDINAL, signed=True)
        days.append((ordinal, code))
    return days


def _split(text: str) -> dict[str, str]:
    body = text.strip().upper()
    if not body:
        raise _rule_error("the rule is empty")
    if "\n" in body or "\r" in body:
        raise _rule_error("give one RRULE line only (no DTSTART, RDATE or EXDATE lines)")
    if any(char.isspace() for char in body):
        raise _rule_error("the rule may not contain spaces")
    body = body.removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise _rule_error(f"{item!r} is not NAME=VALUE")
        if name in UNSUPPORTED_PARTS:
            raise _rule_error(f"{name}: {UNSUPPORTED_PARTS[name]}")
        if name not in KNOWN_PARTS:
            raise _rule_error(f"unknown rule part {name}")
        if name in parts:
            raise _rule_error(f"{name} appears twice")
        parts[name] = value
    return parts


def _check_shape(
    freq: str,
    interval: int,
    parts: dict[str, str],
    days: list[tuple[int | None, str]],
    monthdays: list[int],
    setpos: list[int],
) -> None:
    """Reject the combinations that may never fire (so dateutil would search forever)."""
    ordinals = any(ordinal is not None for ordinal, _ in days)
    if ordinals and freq in ("DAILY", "WEEKLY"):
        raise _rule_error("BYDAY with a position (e.g. 1MO, -1FR) needs FREQ=MONTHLY or YEARLY")
    if ordinals and monthdays:
        raise _rule_error("BYDAY with a position cannot be combined with BYMONTHDAY")
    if freq == "WEEKLY" and ({"BYMONTH", "BYMONTHDAY"} & parts.keys()):
        raise _rule_error("FREQ=WEEKLY takes BYDAY only")
    if freq == "DAILY" and interval > 1 and ({"BYDAY", "BYMONTH", "BYMONTHDAY"} & parts.keys()):
        raise _rule_error("FREQ=DAILY with an INTERVAL takes no BYDAY, BYMONTH or BYMONTHDAY")
    if freq == "MONTHLY" and interval > 1 and "BYMONTH" in parts:
        raise _rule_error("FREQ=MONTHLY with an INTERVAL takes no BYMONTH")
    if setpos:
        if freq != "MONTHLY" or not days or ordinals or monthdays:
            raise _rule_error("BYSETPOS needs FREQ=MONTHLY with plain BYDAY weekdays only")
        limit = MAX_ORDINAL * len({code for _, code in days})
        if any(abs(position) > limit for position in setpos):
            raise _rule_error(f"BYSETPOS must be within ±{limit} for these weekdays")


def _check_monthdays(
    freq: str, interval: int, months: list[int], monthdays: list[int], start: date
) -> None:
    """Some month the rule visits must have one of the BYMONTHDAY days in an ordinary
    year: a rule that only ever matches February 29 (or the 30th of February) is refused."""
    if not monthdays:
        return
    if months:
        visited = set(months)
    elif freq == "MONTHLY":
        visited = {(start.month - 1 + k * interval) % 12 + 1 for k in range(12)}
    else:
        visited = set(range(1, 13))
    ordinary = {month: calendar.monthrange(2001, month)[1] for month in visited}
    if not any(abs(day) <= ordinary[month] for month in visited for day in monthdays):
        raise _rule_error("the rule matches no day of an ordinary year (e.g. February 30)")


@dataclass(frozen=True)
class Occurrence:
    """One firing: ``occurrence_date`` is the rule's local date (the invoice's issue date
    and its key), ``local`` the wall-clock time it fires at, ``at`` the same instant in UTC."""

    occurrence_date: date
    local: datetime
    at: datetime


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``zone`` as a UTC instant (fold=0: see the module doc)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str) -> ZoneInfo:
    if name not in _zone_names():
        raise ScheduleError("/time_zone", f"{name!r} is not an IANA time zone name")
    return ZoneInfo(name)


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: build one with ``Schedule.parse``."""

    rule: str
    time_zone: str
    starts_at_local: datetime
    ends_on: date | None = None
    count: int | None = None

    @classmethod
    def parse(
        cls,
        rule: str,
        time_zone: str,
        starts_at_local: datetime,
        *,
        ends_on: date | None = None,
        count: int | None = None,
    ) -> "Schedule":
        """Validate every field; ``ScheduleError`` names the first field at fault."""
        check_time_zone(time_zone)
        if starts_at_local.tzinfo is not None:
            raise ScheduleError("/starts_at_local", "give a local wall-clock time without offset")
        if starts_at_local.second or starts_at_local.microsecond:
            raise ScheduleError("/starts_at_local", "give a whole minute")
        if not FIRST_YEAR <= starts_at_local.year <= LAST_YEAR:
            raise ScheduleError("/starts_at_local", f"the year must be {FIRST_YEAR}..{LAST_YEAR}")
        if ends_on is not None and count is not None:
            raise ScheduleError("/count", "give ends_on or count, not both")
        if count is not None and not 1 <= count <= MAX_COUNT:
            raise ScheduleError("/count", f"count must be 1..{MAX_COUNT}")
        if ends_on is not None and ends_on < starts_at_local.date():
            raise ScheduleError("/ends_on", "ends_on is before starts_at_local")
        schedule = cls(
            rule=normalize_rule(rule, starts_at_local.date()),
            time_zone=time_zone,
            starts_at_local=starts_at_local,
            ends_on=ends_on,
            count=count,
        )
        if schedule.first() is None:
            raise ScheduleError("/ends_on", "the rule has no occurrence on or before ends_on")
        return schedule

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _rrule(self) -> rrule:
        built = rrulestr(self.rule, dtstart=self.starts_at_local)
        assert isinstance(built, rrule)
        until = datetime.combine(self.ends_on, time.max) if self.ends_on else None
        return built.replace(count=self.count, until=until)

    def _occurrence(self, local: datetime) -> Occurrence:
        at = to_utc(local, self.zone)
        wall = at.astimezone(self.zone).replace(tzinfo=None)
        return Occurrence(occurrence_date=local.date(), local=wall, at=at)

    def occurrences(
        self, *, after: date | None = None, not_before: datetime | None = None
    ) -> Iterator[Occurrence]:
        """Occurrences in order whose date is later than ``after`` and whose instant is not
        earlier than ``not_before`` (an aware datetime)."""
        start = datetime.combine(after, time.max) if after else None
        if not_before is not None:
            # A day's margin: the local date of an instant depends on the zone's offset.
            local = not_before.astimezone(self.zone).replace(tzinfo=None) - timedelta(days=1)
            start = local if start is None else max(start, local)
        found = self._rrule().xafter(start, inc=True) if start else iter(self._rrule())
        for local in found:
            occurrence = self._occurrence(local)
            if not_before is None or occurrence.at >= not_before:
                yield occurrence

    def first(self) -> Occurrence | None:
        return next(self.occurrences(), None)

    def next_after(self, after: date | None, not_before: datetime | None) -> Occurrence | None:
        return next(self.occurrences(after=after, not_before=not_before), None)

    def preview(self, n: int, *, after: date | None, not_before: datetime) -> list[Occurrence]:
        found = self.occurrences(after=after, not_before=not_before)
        return list(itertools.islice(found, min(n, MAX_PREVIEW)))


def normalize_rule(text: str, start: date) -> str:
    """The rule in the canonical form stored (upper case, no ``RRULE:`` prefix, parts in
    a fixed order), or ``ScheduleError`` at ``/rrule`` saying what is wrong."""
    parts = _split(text)
    freq = parts.get("FREQ")
    if freq is None:
        raise _rule_error("FREQ is required")
    if freq not in FREQUENCIES:
        raise _rule_error("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY (at most daily)")
    interval = _number("INTERVAL", parts.get("INTERVAL", "1"), 1, MAX_INTERVAL[freq])
    months = _numbers(parts, "BYMONTH", 1, 12, signed=False)
    monthdays = _numbers(parts, "BYMONTHDAY", 1, 31, signed=True)
    setpos = _numbers(parts, "BYSETPOS", 1, 366, signed=True)
    days = _weekdays(parts.get("BYDAY"))
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise _rule_error("WKST must be a weekday (MO, TU, WE, TH, FR, SA, SU)")
    _check_shape(freq, interval, parts, days, monthdays, setpos)
    if freq in ("MONTHLY", "YEARLY") and not days and not monthdays:
        # dateutil then takes the day (and, yearly, the month) from the start.
        monthdays = [start.day]
        if freq == "YEARLY" and not months:
            months = [start.month]
    _check_monthdays(freq, interval, months, monthdays, start)
    canonical = ";".join(f"{name}={parts[name]}" for name in KNOWN_PARTS if name in parts)
    try:
        rrulestr(canonical, dtstart=datetime.combine(start, time()))
    except ValueError as exc:
        raise _rule_error(f"not a valid RRULE: {exc}") from None
    return canonical
