"""When an envelope's reminders, expiry warning and expiry fall: pure, so EnvelopeWorkflow's
plan activity and the tests compute the same moments on every machine.

A recipient's first reminder is due ``first_days`` calendar days after their link went out
(``sent_at``), each next one ``every_days`` after the one before (``last_reminded_at``:
a late reminder, or a staff "remind now", moves the ones after it rather than bunching
them), at most ``max`` in all. A reminder is only ever sent in the recipient's daytime,
read as the firm's business hours on a business day in the firm's time zone
(``pure.business_hours``): one due at night goes at the next opening. The sender is warned
``warning_days`` before the expiry, in business hours too, unless the envelope is too short
for that (the warning would come before it was sent, or at or after its expiry).

Every moment in and out is an aware UTC ``datetime``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pure.business_hours import BusinessHours, next_open


@dataclass(frozen=True)
class ReminderPolicy:
    first_days: int
    every_days: int
    max: int


def reminder_due(
    policy: ReminderPolicy,
    hours: BusinessHours,
    *,
    sent_at: datetime,
    reminders_sent: int,
    last_reminded_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """When the recipient's next reminder may go: the nominal moment, or ``now`` when that
    has passed, moved into business hours; None when ``max`` were sent. A result equal to
    ``now`` means send it now."""
    if reminders_sent >= policy.max:
        return None
    if reminders_sent == 0 or last_reminded_at is None:
        nominal = sent_at + timedelta(days=policy.first_days)
    else:
        nominal = last_reminded_at + timedelta(days=policy.every_days)
    return next_open(hours, max(nominal, now))


def expiry_warning_at(
    hours: BusinessHours, *, sent_at: datetime, expires_at: datetime, warning_days: int
) -> datetime | None:
    """When the sender is warned that the envelope expires: ``warning_days`` before
    ``expires_at``, moved into business hours; None when that moment is not after
    ``sent_at`` or the move carries it to the expiry itself."""
    nominal = expires_at - timedelta(days=warning_days)
    if nominal <= sent_at:
        return None
    moment = next_open(hours, nominal)
    return moment if moment < expires_at else None


def expires_at(sent_at: datetime, expiry_days: int, maximum: int) -> datetime:
    """The expiry of an envelope sent (or re-sent) at ``sent_at``."""
    if not 1 <= expiry_days <= maximum:
        raise ValueError(f"expiry_days must be 1..{maximum}, not {expiry_days}")
    return sent_at + timedelta(days=expiry_days)


def next_wake(now: datetime, *moments: datetime | None) -> datetime | None:
    """The earliest of ``moments`` (None ones left out), not before ``now``."""
    present = [moment for moment in moments if moment is not None]
    return max(now, min(present)) if present else None
