"""pure.business_hours: the moments review reminders and escalations land on."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pure.business_hours import (
    BusinessHours,
    add_business_days,
    business_days_between,
    next_open,
)

BERLIN = BusinessHours.of("Europe/Berlin", [1, 2, 3, 4, 5], time(9), time(17))
ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
)
HOURS = st.builds(
    BusinessHours.of,
    ZONES,
    st.lists(st.integers(1, 7), max_size=7),
    st.times(),
    st.times(),
)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("Europe/Berlin"))


def test_friday_afternoon_plus_two_business_days_is_tuesday_afternoon() -> None:
    friday = datetime(2026, 12, 4, 16, tzinfo=ZoneInfo("Europe/Berlin"))
    tuesday = add_business_days(BERLIN, friday.astimezone(UTC), 2)
    assert local(tuesday) == datetime(2026, 12, 8, 16, tzinfo=ZoneInfo("Europe/Berlin"))


def test_after_hours_and_weekends_start_at_the_next_opening() -> None:
    friday_evening = datetime(2026, 12, 4, 18, tzinfo=ZoneInfo("Europe/Berlin"))
    assert local(next_open(BERLIN, friday_evening.astimezone(UTC))) == datetime(
        2026, 12, 7, 9, tzinfo=ZoneInfo("Europe/Berlin")
    )
    # Counting starts at that opening: Monday 09:00 plus 2 is Wednesday 09:00.
    assert local(add_business_days(BERLIN, friday_evening.astimezone(UTC), 2)) == datetime(
        2026, 12, 9, 9, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_the_wall_time_holds_across_a_dst_change() -> None:
    friday = datetime(2026, 3, 27, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    monday = add_business_days(BERLIN, friday.astimezone(UTC), 1)
    assert local(monday).hour == 10 and local(monday).utcoffset() == timedelta(hours=2)


def test_an_opening_in_a_skipped_hour_is_the_hour_after() -> None:
    night = BusinessHours.of("Europe/Berlin", [], time(2, 30), time(6))
    saturday_night = datetime(2026, 3, 28, 23, tzinfo=ZoneInfo("Europe/Berlin"))
    opening = local(next_open(night, saturday_night.astimezone(UTC)))
    assert (opening.day, opening.hour, opening.minute) == (29, 3, 30)


@given(HOURS, MOMENTS)
def test_next_open_is_the_moment_itself_or_a_later_one_inside(
    hours: BusinessHours, moment: datetime
) -> None:
    opened = next_open(hours, moment)
    assert opened >= moment
    assert hours.inside(opened)
    assert next_open(hours, opened) == opened
    if hours.inside(moment):
        assert opened == moment


@given(HOURS, MOMENTS, st.integers(0, 40))
def test_adding_lands_inside_on_the_right_business_day(
    hours: BusinessHours, moment: datetime, count: int
) -> None:
    added = add_business_days(hours, moment, count)
    opened = next_open(hours, moment)
    assert added >= opened
    assert hours.inside(added)
    counted = business_days_between(hours, hours.local(opened).date(), hours.local(added).date())
    assert counted == count


@given(MOMENTS, st.integers(0, 20), st.integers(0, 20))
def test_adding_twice_is_adding_the_sum(moment: datetime, first: int, second: int) -> None:
    once = add_business_days(BERLIN, moment, first + second)
    twice = add_business_days(BERLIN, add_business_days(BERLIN, moment, first), second)
    assert once == twice
