"""pure.signing_schedule: when an envelope's reminders and expiry warning fall."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pure.business_hours import BusinessHours
from pure.signing_schedule import (
    ReminderPolicy,
    expires_at,
    expiry_warning_at,
    next_wake,
    reminder_due,
)

NEW_YORK = ZoneInfo("America/New_York")
HOURS = BusinessHours.of("America/New_York", [1, 2, 3, 4, 5], time(9), time(17))
POLICY = ReminderPolicy(first_days=2, every_days=3, max=5)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2026 in New York (the 4th is a Friday), as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def due(sent_at: datetime, sent: int, last: datetime | None, now: datetime) -> datetime | None:
    return reminder_due(
        POLICY, HOURS, sent_at=sent_at, reminders_sent=sent, last_reminded_at=last, now=now
    )


def test_the_first_reminder_after_first_days_moves_off_the_weekend() -> None:
    # Sent Friday 16:00: two days on is Sunday 16:00, so Monday's opening.
    assert due(ny(4, 16), 0, None, ny(4, 16)) == ny(7, 9)
    # Sent Tuesday 10:00: Thursday 10:00 is inside the hours.
    assert due(ny(8, 10), 0, None, ny(8, 10)) == ny(10, 10)


def test_the_next_ones_count_from_the_last_reminder_and_stop_at_the_maximum() -> None:
    assert due(ny(4, 16), 1, ny(7, 9), ny(7, 9)) == ny(10, 9)
    # Late at night: the next morning.
    assert due(ny(1, 20), 1, ny(7, 20), ny(7, 20)) == ny(11, 9)
    assert due(ny(4, 16), 5, ny(7, 9), ny(30, 9)) is None


def test_a_reminder_overdue_goes_now_in_business_hours_or_at_the_next_opening() -> None:
    assert due(ny(1, 10), 0, None, ny(8, 11, 30)) == ny(8, 11, 30)
    assert due(ny(1, 10), 0, None, ny(8, 18)) == ny(9, 9)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(0, 6),
    st.integers(0, 30 * 24),
)
def test_every_reminder_falls_in_business_hours_and_not_before_now(
    sent_at: datetime, sent: int, hours_later: int
) -> None:
    now = sent_at + timedelta(hours=hours_later)
    last = sent_at + timedelta(days=sent) if sent else None
    moment = due(sent_at, sent, last, now)
    if sent >= POLICY.max:
        assert moment is None
        return
    assert moment is not None and moment >= now and HOURS.inside(moment)


def test_the_expiry_warning_is_three_days_before_in_business_hours() -> None:
    # Expiring Thursday 10:00: warned Monday 10:00.
    warned = expiry_warning_at(HOURS, sent_at=ny(1, 10), expires_at=ny(10, 10), warning_days=3)
    assert warned == ny(7, 10)
    # Expiring Monday 08:00: Friday 08:00 is before the opening, so Friday 09:00.
    warned = expiry_warning_at(HOURS, sent_at=ny(1, 10), expires_at=ny(14, 8), warning_days=3)
    assert warned == ny(11, 9)


def test_no_warning_for_an_envelope_too_short_for_one() -> None:
    assert expiry_warning_at(HOURS, sent_at=ny(7, 10), expires_at=ny(9, 10), warning_days=3) is None
    # A day before a Monday 08:30 expiry is Sunday: the next opening is after the expiry.
    late = expiry_warning_at(HOURS, sent_at=ny(1, 10), expires_at=ny(7, 8, 30), warning_days=1)
    assert late is None


def test_the_expiry_is_bounded() -> None:
    assert expires_at(ny(1, 10), 30, 120) == ny(1, 10) + timedelta(days=30)
    for days in (0, 121):
        with pytest.raises(ValueError):
            expires_at(ny(1, 10), days, 120)


def test_the_workflow_wakes_at_the_earliest_moment_and_never_in_the_past() -> None:
    now = ny(7, 10)
    assert next_wake(now, None, ny(9, 9), ny(8, 9)) == ny(8, 9)
    assert next_wake(now, ny(6, 9)) == now
    assert next_wake(now, None, None) is None
