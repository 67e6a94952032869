"""The recurrence maths: DST-correct local times, month ends, ends by count and date, and
the RRULE subset (every refusal names /rrule or the field at fault)."""

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.recurrence import Schedule, ScheduleError, to_utc

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def daily(zone: str, start: datetime, n: int) -> list[tuple[datetime, datetime]]:
    schedule = Schedule.parse("FREQ=DAILY", zone, start)
    return [(o.local, o.at) for o in schedule.preview(n, after=None, not_before=utc(2000, 1, 1))]


def test_nine_local_stays_nine_local_across_berlin_spring_forward() -> None:
    # 2027-03-28: 02:00 CET becomes 03:00 CEST.
    assert daily(BERLIN, datetime(2027, 3, 27, 9), 3) == [
        (datetime(2027, 3, 27, 9), utc(2027, 3, 27, 8)),
        (datetime(2027, 3, 28, 9), utc(2027, 3, 28, 7)),
        (datetime(2027, 3, 29, 9), utc(2027, 3, 29, 7)),
    ]


def test_nine_local_stays_nine_local_across_berlin_fall_back() -> None:
    # 2027-10-31: 03:00 CEST becomes 02:00 CET.
    assert daily(BERLIN, datetime(2027, 10, 30, 9), 3) == [
        (datetime(2027, 10, 30, 9), utc(2027, 10, 30, 7)),
        (datetime(2027, 10, 31, 9), utc(2027, 10, 31, 8)),
        (datetime(2027, 11, 1, 9), utc(2027, 11, 1, 8)),
    ]


def test_nine_local_stays_nine_local_across_new_york_changes() -> None:
    # 2027-03-14 EST -> EDT, 2027-11-07 EDT -> EST.
    assert daily(NEW_YORK, datetime(2027, 3, 13, 9), 2) == [
        (datetime(2027, 3, 13, 9), utc(2027, 3, 13, 14)),
        (datetime(2027, 3, 14, 9), utc(2027, 3, 14, 13)),
    ]
    assert daily(NEW_YORK, datetime(2027, 11, 6, 9), 2) == [
        (datetime(2027, 11, 6, 9), utc(2027, 11, 6, 13)),
        (datetime(2027, 11, 7, 9), utc(2027, 11, 7, 14)),
    ]


def test_a_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    schedule = Schedule.parse("FREQ=DAILY", BERLIN, datetime(2027, 3, 27, 2, 30))
    first, second, third = schedule.preview(3, after=None, not_before=utc(2000, 1, 1))
    assert (first.local, first.at) == (datetime(2027, 3, 27, 2, 30), utc(2027, 3, 27, 1, 30))
    # 02:30 does not exist on the 28th: the wall clock reads 03:30, on the same date.
    assert second.occurrence_date == date(2027, 3, 28)
    assert (second.local, second.at) == (datetime(2027, 3, 28, 3, 30), utc(2027, 3, 28, 1, 30))
    assert (third.local, third.at) == (datetime(2027, 3, 29, 2, 30), utc(2027, 3, 29, 0, 30))


def test_a_time_that_happens_twice_is_the_first_of_the_two() -> None:
    zone = ZoneInfo(BERLIN)
    assert to_utc(datetime(2027, 10, 31, 2, 30), zone) == utc(2027, 10, 31, 0, 30)


def test_month_end_rule_takes_each_months_last_day() -> None:
    schedule = Schedule.parse("FREQ=MONTHLY;BYMONTHDAY=-1", "UTC", datetime(2027, 1, 1, 9))
    dates = [
        o.occurrence_date for o in schedule.preview(15, after=None, not_before=utc(2000, 1, 1))
    ]
    assert dates[:5] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]
    assert date(2028, 2, 29) in dates


def test_count_ends_after_that_many_occurrences() -> None:
    schedule = Schedule.parse("FREQ=WEEKLY;BYDAY=MO,TH", BERLIN, datetime(2027, 1, 4, 9), count=3)
    found = list(schedule.occurrences())
    assert [o.occurrence_date for o in found] == [
        date(2027, 1, 4),
        date(2027, 1, 7),
        date(2027, 1, 11),
    ]
    assert schedule.next_after(date(2027, 1, 11), None) is None


def test_count_counts_from_the_first_occurrence_even_when_some_are_skipped() -> None:
    schedule = Schedule.parse("FREQ=DAILY", "UTC", datetime(2027, 1, 1, 9), count=5)
    later = schedule.occurrences(not_before=utc(2027, 1, 3, 12))
    assert [o.occurrence_date for o in later] == [date(2027, 1, 4), date(2027, 1, 5)]


def test_ends_on_is_the_last_date_included() -> None:
    schedule = Schedule.parse(
        "FREQ=MONTHLY;BYMONTHDAY=15", BERLIN, datetime(2027, 1, 1, 9), ends_on=date(2027, 3, 15)
    )
    assert [o.occurrence_date for o in schedule.occurrences()] == [
        date(2027, 1, 15),
        date(2027, 2, 15),
        date(2027, 3, 15),
    ]


def test_next_after_skips_the_last_date_and_what_is_before_not_before() -> None:
    schedule = Schedule.parse("FREQ=DAILY", BERLIN, datetime(2027, 1, 1, 9))
    after = schedule.next_after(date(2027, 1, 1), None)
    assert after is not None and after.occurrence_date == date(2027, 1, 2)
    # 09:00 Berlin is 08:00 UTC in winter: at 08:00:01 UTC the 10th's has passed.
    resumed = schedule.next_after(date(2027, 1, 1), utc(2027, 1, 10, 8, 0, 1))
    assert resumed is not None and resumed.occurrence_date == date(2027, 1, 11)
    on_time = schedule.next_after(date(2027, 1, 1), utc(2027, 1, 10, 8))
    assert on_time is not None and on_time.occurrence_date == date(2027, 1, 10)


def test_first_occurrence_is_the_first_match_at_or_after_the_start() -> None:
    schedule = Schedule.parse("FREQ=MONTHLY;BYDAY=-1FR", "UTC", datetime(2027, 1, 29, 9))
    assert [
        o.occurrence_date for o in schedule.preview(2, after=None, not_before=utc(2000, 1, 1))
    ] == [
        date(2027, 1, 29),
        date(2027, 2, 26),
    ]


def test_rule_is_stored_in_canonical_form() -> None:
    schedule = Schedule.parse("rrule:bymonthday=-1;freq=monthly", "UTC", datetime(2027, 1, 1, 9))
    assert schedule.rule == "FREQ=MONTHLY;BYMONTHDAY=-1"


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("", "empty"),
        ("DTSTART:20270101T090000\nRRULE:FREQ=DAILY", "one RRULE line"),
        ("FREQ=DAILY;DTSTART=20270101T090000", "starts_at_local"),
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=SECONDLY", "at most daily"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL value 0"),
        ("FREQ=DAILY;INTERVAL=x", "whole numbers"),
        ("FREQ=YEARLY;INTERVAL=11", "INTERVAL value 11"),
        ("FREQ=DAILY;COUNT=3", "count field"),
        ("FREQ=DAILY;UNTIL=20271231", "ends_on"),
        ("FREQ=DAILY;BYHOUR=9,17", "time of day"),
        ("FREQ=YEARLY;BYWEEKNO=1", "not supported"),
        ("FREQ=DAILY;COLOUR=RED", "unknown rule part"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
        ("FREQ=DAILY;;", "NAME=VALUE"),
        ("FREQ = DAILY", "spaces"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a weekday"),
        ("FREQ=MONTHLY;BYDAY=5MO", "BYDAY value 5"),
        ("FREQ=WEEKLY;BYDAY=1MO", "needs FREQ=MONTHLY"),
        ("FREQ=MONTHLY;BYMONTHDAY=40", "BYMONTHDAY value 40"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY value 0"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH value 13"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no day of an ordinary year"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "no day of an ordinary year"),
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", "no day of an ordinary year"),
        ("FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=1FR", "cannot be combined"),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=MO", "takes no BYDAY"),
        ("FREQ=WEEKLY;BYMONTH=3", "WEEKLY takes BYDAY only"),
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTH=3", "takes no BYMONTH"),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=1", "BYSETPOS needs"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=5", "within ±4"),
        ("FREQ=WEEKLY;WKST=XX", "WKST"),
    ],
)
def test_unsupported_or_invalid_rules_are_refused_at_rrule(rule: str, words: str) -> None:
    # A February start makes the 12-monthly rule visit Februaries only.
    with pytest.raises(ScheduleError) as caught:
        Schedule.parse(rule, "UTC", datetime(2027, 2, 1, 9))
    assert caught.value.pointer == "/rrule"
    assert words in caught.value.detail


def test_the_start_day_counts_as_bymonthday_when_the_rule_names_none() -> None:
    # dateutil would look for a February 31st forever.
    with pytest.raises(ScheduleError, match="ordinary year"):
        Schedule.parse("FREQ=YEARLY;BYMONTH=2", "UTC", datetime(2027, 1, 31, 9))


@pytest.mark.parametrize(
    ("kwargs", "pointer"),
    [
        ({"time_zone": "Mars/Olympus"}, "/time_zone"),
        ({"time_zone": "../../etc/passwd"}, "/time_zone"),
        ({"starts_at_local": datetime(2027, 1, 1, 9, tzinfo=UTC)}, "/starts_at_local"),
        ({"starts_at_local": datetime(2027, 1, 1, 9, 0, 30)}, "/starts_at_local"),
        ({"starts_at_local": datetime(1999, 1, 1, 9)}, "/starts_at_local"),
        ({"count": 3, "ends_on": date(2027, 6, 1)}, "/count"),
        ({"count": 0}, "/count"),
        ({"ends_on": date(2026, 12, 31)}, "/ends_on"),
        ({"rule": "FREQ=MONTHLY;BYMONTHDAY=20", "ends_on": date(2027, 1, 10)}, "/ends_on"),
    ],
)
def test_schedule_fields_are_checked(kwargs: dict[str, object], pointer: str) -> None:
    fields: dict[str, object] = {
        "rule": "FREQ=DAILY",
        "time_zone": BERLIN,
        "starts_at_local": datetime(2027, 1, 1, 9),
    } | kwargs
    with pytest.raises(ScheduleError) as caught:
        Schedule.parse(
            str(fields["rule"]),
            str(fields["time_zone"]),
            fields["starts_at_local"],  # type: ignore[arg-type]
            ends_on=fields.get("ends_on"),  # type: ignore[arg-type]
            count=fields.get("count"),  # type: ignore[arg-type]
        )
    assert caught.value.pointer == pointer


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago", "UTC"]
RULES = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=WEEKLY;BYDAY=MO,WE,SU",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    rule=st.sampled_from(RULES),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
)
def test_every_occurrence_keeps_the_start_wall_time_unless_it_is_skipped(
    zone: str, rule: str, day: date, minutes: int
) -> None:
    start = datetime.combine(day, time(minutes // 60, minutes % 60))
    schedule = Schedule.parse(rule, zone, start)
    found = schedule.preview(40, after=None, not_before=utc(2000, 1, 1))
    assert found
    for previous, occurrence in itertools.pairwise(found):
        assert previous.occurrence_date < occurrence.occurrence_date
        assert previous.at < occurrence.at
    for occurrence in found:
        assert occurrence.local == occurrence.at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        wanted = datetime.combine(occurrence.occurrence_date, start.time())
        # Equal, or later by a DST gap (at most two hours anywhere today).
        assert timedelta(0) <= occurrence.local - wanted <= timedelta(hours=2)
        if occurrence.local != wanted:
            assert to_utc(wanted, ZoneInfo(zone)).astimezone(ZoneInfo(zone)) != wanted
