"""Throttling of failed sign-ins: strict per account, a volume limit per client address.

Keys are "account:<sha256 of the lower-cased email>", "device:<nonce>" (a browser holding a
valid device cookie for that account, services.login_devices) and "address:<client ip>". A
failed attempt counts against both keys of a request: the account's or the device's, and the
address's.

Account and device keys are strict: after ``THRESHOLD`` consecutive failures a key is blocked
for ``BASE_DELAY``, doubling with every further failure up to ``MAX_DELAY``; failures older
than ``FORGET_AFTER`` no longer count, and a successful sign-in clears the key. The account
key is derived from the email as typed, so an unknown email is throttled exactly like a
known one. A browser with a valid device cookie is counted under its device key instead, so
someone guessing at an account locks out unknown browsers, not its owner's.

Address keys are a volume limit against credential stuffing, not a lockout: one address is
often many people (an office NAT) or many tools (one build machine), and their typos must not
lock out each other. ``ADDRESS_LIMIT`` failures in a window of ``ADDRESS_WINDOW`` (starting at
the window's first failure) block the address until the window ends. A success does not clear
an address key, so one good account cannot launder an address that is guessing at others.

A blocked key is refused before any password is checked, with a 429 whose ``Retry-After``
says how long.
"""

import hashlib
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, system_scope
from core.errors import AppError, Unauthorized
from models import AuthThrottle

THRESHOLD = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
FORGET_AFTER = timedelta(hours=24)
# 100 failures in 15 minutes is a person mistyping every 9 seconds without pause; a NAT of
# a few hundred people does not come near it. It caps one address at 400 guesses an hour
# (under 10,000 a day) spread over any number of accounts, each of which the account limit
# still stops after five.
ADDRESS_LIMIT = 100
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_PREFIX = "address:"


class TooManyAttempts(AppError):
    status = 429
    title = "Too many requests"
    slug = "too-many-requests"


class CountedFailure(Unauthorized):
    """A refused sign-in whose failure was counted in the current transaction: the API
    answers it without rolling back, so the count survives."""


def account_key(email: str) -> str:
    # Hashed so the table holds no email addresses (and none of another firm's).
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def device_key(nonce: str) -> str:
    return f"device:{nonce}"


def address_key(address: str | None) -> str | None:
    return f"{ADDRESS_PREFIX}{address}" if address else None


def keys_for(email: str, address: str | None, *, device: str | None = None) -> list[str]:
    """The keys a sign-in counts against, the one a success clears first: the device's
    key (from ``device_key``) when the browser holds a valid device cookie for ``email``,
    else the account's; then the address's."""
    first = device if device is not None else account_key(email)
    return [key for key in (first, address_key(address)) if key is not None]


def delay_after(failures: int) -> timedelta | None:
    """How long a key is blocked after its ``failures``-th consecutive failure."""
    if failures < THRESHOLD:
        return None
    # Capped before exponentiation so a long-running attack cannot overflow the delay.
    doublings = min(failures - THRESHOLD, 20)
    return min(BASE_DELAY * (1 << doublings), MAX_DELAY)


async def check(session: AsyncSession, keys: list[str]) -> None:
    """Refuse with 429 while any of ``keys`` is blocked."""
    now = datetime.now(UTC)
    async with system_scope(session, SystemPurpose.auth_throttle):
        until = await session.scalar(
            select(AuthThrottle.blocked_until)
            .where(AuthThrottle.key.in_(keys), AuthThrottle.blocked_until > now)
            .order_by(AuthThrottle.blocked_until.desc())
            .limit(1)
        )
    if until is not None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise TooManyAttempts(
            f"Too many failed sign-in attempts; try again in {seconds} seconds",
            headers={"Retry-After": str(seconds)},
        )


async def record_failure(session: AsyncSession, keys: list[str]) -> None:
    now = datetime.now(UTC)
    async with system_scope(session, SystemPurpose.auth_throttle):
        for key in keys:
            volume = key.startswith(ADDRESS_PREFIX)
            failures, window_started_at = await _count(session, key, now, volume=volume)
            if volume:
                full = failures >= ADDRESS_LIMIT
                until = window_started_at + ADDRESS_WINDOW if full else None
            else:
                delay = delay_after(failures)
                until = now + delay if delay is not None else None
            if until is not None:
                await session.execute(
                    update(AuthThrottle).where(AuthThrottle.key == key).values(blocked_until=until)
                )


async def _count(
    session: AsyncSession, key: str, now: datetime, *, volume: bool
) -> tuple[int, datetime]:
    """Add one failure to ``key``; returns its failures and the start of their window. A
    volume key starts a new window ``ADDRESS_WINDOW`` after the last one started; a strict
    key starts over once it has been quiet for ``FORGET_AFTER``."""
    restart = (
        AuthThrottle.window_started_at <= now - ADDRESS_WINDOW
        if volume
        else AuthThrottle.last_failure_at < now - FORGET_AFTER
    )
    row = (
        await session.execute(
            insert(AuthThrottle)
            .values(
                key=key, failures=1, last_failure_at=now, window_started_at=now, blocked_until=None
            )
            .on_conflict_do_update(
                index_elements=[AuthThrottle.key],
                set_={
                    "failures": case((restart, 1), else_=AuthThrottle.failures + 1),
                    "window_started_at": case((restart, now), else_=AuthThrottle.window_started_at),
                    "last_failure_at": now,
                },
            )
            .returning(AuthThrottle.failures, AuthThrottle.window_started_at)
        )
    ).one()
    return row[0], row[1]


async def clear(session: AsyncSession, key: str) -> None:
    async with system_scope(session, SystemPurpose.auth_throttle):
        await session.execute(delete(AuthThrottle).where(AuthThrottle.key == key))
