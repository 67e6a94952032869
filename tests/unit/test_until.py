"""A delay step's ``until``: read in the firm's time zone when it carries no offset."""

from datetime import UTC, datetime, timedelta

import pytest

from workflows.automation.run.until import UntilError, parse_until


def test_a_local_time_is_read_in_the_firm_time_zone() -> None:
    # Paris is UTC+1 in January and UTC+2 in July.
    assert parse_until("2031-01-15T09:00:00", "Europe/Paris").astimezone(UTC) == datetime(
        2031, 1, 15, 8, tzinfo=UTC
    )
    assert parse_until("2031-07-15T09:00:00", "Europe/Paris").astimezone(UTC) == datetime(
        2031, 7, 15, 7, tzinfo=UTC
    )


def test_an_explicit_offset_wins_over_the_firm_time_zone() -> None:
    moment = parse_until("2031-01-15T09:00:00-05:00", "Europe/Paris")
    assert moment.utcoffset() == timedelta(hours=-5)


def test_a_date_alone_means_midnight_in_the_firm_time_zone() -> None:
    assert parse_until("2031-01-15", "Asia/Tokyo").astimezone(UTC) == datetime(
        2031, 1, 14, 15, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "zone", "message"),
    [
        (20310115, "UTC", "until must be a date-time text, got int"),
        ("next tuesday", "UTC", "until is not an ISO 8601 date-time: 'next tuesday'"),
        ("2031-01-15T09:00:00", "Mars/Olympus", "unknown firm time zone 'Mars/Olympus'"),
        ("2031-01-15T09:00:00", "../etc/passwd", "unknown firm time zone '../etc/passwd'"),
    ],
)
def test_bad_values_are_clear_errors(value: object, zone: str, message: str) -> None:
    with pytest.raises(UntilError) as caught:
        parse_until(value, zone)
    assert str(caught.value) == message
