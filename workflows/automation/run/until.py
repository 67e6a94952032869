"""Reading a ``delay`` step's ``until`` value. Kept out of the workflow module and passed
through the sandbox, which otherwise hands workflow code a restricted ``zoneinfo``: a zone's
rules for a given instant are fixed data, so the lookup is deterministic as long as the
workers share a tzdata release."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UntilError(ValueError):
    pass


def parse_until(value: Any, time_zone: str) -> datetime:
    """An aware datetime: ISO 8601 text, read in ``time_zone`` when it carries no offset."""
    if not isinstance(value, str):
        raise UntilError(f"until must be a date-time text, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UntilError(f"until is not an ISO 8601 date-time: {value!r}") from exc
    if moment.tzinfo is not None:
        return moment
    try:
        return moment.replace(tzinfo=ZoneInfo(time_zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UntilError(f"unknown firm time zone {time_zone!r}") from exc
