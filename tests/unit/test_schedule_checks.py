"""The schedule trigger's cron and time zone checks (services.automations.schedules), which
the definition validator reports at /trigger/cron and /trigger/time_zone."""

import pytest

from services.automations.schedules import OVERLAP, cron_problem, zone_problem


@pytest.mark.parametrize(
    "expression",
    [
        "0 8 * * 1",
        "0 8 * * mon",
        "*/15 * * * *",
        "0 9 25-31 3 *",
        "0 9 * * mon-fri",
        "30 6 1 jan,jul *",
        "0 0-23/2 * * *",
        "5,35 7-19 * * 1-5",
        "0 0 29 feb *",
    ],
)
def test_five_field_expressions_pass(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 8 * *", "this one has 4"),
        ("0 0 8 * * 1", "this one has 6"),
        ("@daily", "this one has 1"),
        ("60 * * * *", "the minute field has '60'; its values are 0-59"),
        ("0 24 * * *", "the hour field has '24'; its values are 0-23"),
        ("0 8 0 * *", "the day of month field has '0'; its values are 1-31"),
        ("0 8 * 13 *", "the month field has '13'; its values are 1-12 or jan-dec"),
        ("0 8 * * 7", "the day of week field has '7'; its values are 0-6 or sun-sat"),
        ("0 8 * * sunday", "the day of week field has 'sunday'"),
        ("0 9 31-1 * *", "a range '31-1' that runs backwards"),
        ("*/0 * * * *", "a step of 0"),
        ("5/15 * * * *", "a step without a range ('5/15'); write a-b/n"),
        ("0 8 L * *", "the day of month field has 'l'"),
        ("0 8 ? * 1", "an item '?' that is not a value, range or step"),
        ("0 8 1,,2 * *", "an item '' that is not a value, range or step"),
        ("0 9 5 * 1", "restrict either the day of month or the day of week, not both"),
    ],
)
def test_each_problem_is_named(expression: str, problem: str) -> None:
    found = cron_problem(expression)
    assert found is not None and problem in found, found


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_iana_zones_pass(name: str) -> None:
    assert zone_problem(name) is None


@pytest.mark.parametrize("name", ["Mars/Olympus", "CEST", "europe/berlin", "", "../etc/passwd"])
def test_other_zone_names_are_refused(name: str) -> None:
    assert zone_problem(name) == f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin)"


def test_every_overlap_choice_maps_to_a_temporal_policy() -> None:
    assert {name: policy.name for name, policy in OVERLAP.items()} == {
        "skip": "SKIP",
        "buffer_one": "BUFFER_ONE",
        "allow_all": "ALLOW_ALL",
    }
