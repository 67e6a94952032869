"""Throttling of failed sign-ins, per account and per client address.

A key is "account:<sha256 of the lower-cased email>" or "address:<client ip>". Each failed
attempt counts against both keys of a request. After ``THRESHOLD`` failures a key is blocked
for ``BASE_DELAY``, doubling with every further failure up to ``MAX_DELAY``; a blocked key is
refused before any password is checked, with a 429 whose ``Retry-After`` says how long. The
account key is derived from the email as typed, so an unknown email is throttled exactly
like a known one. Failures older than ``FORGET_AFTER`` no longer count. A successful sign-in
clears its account key; the address key only ages out, so one good account cannot launder
an address that is guessing at others.
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


def address_key(address: str | None) -> str | None:
    return f"address:{address}" if address else None


def keys_for(email: str, address: str | None) -> list[str]:
    return [key for key in (account_key(email), address_key(address)) if key is not None]


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
            stale = AuthThrottle.last_failure_at < now - FORGET_AFTER
            failures = await session.scalar(
                insert(AuthThrottle)
                .values(key=key, failures=1, last_failure_at=now, blocked_until=None)
                .on_conflict_do_update(
                    index_elements=[AuthThrottle.key],
                    set_={
                        "failures": case((stale, 1), else_=AuthThrottle.failures + 1),
                        "last_failure_at": now,
                    },
                )
                .returning(AuthThrottle.failures)
            )
            delay = delay_after(failures or 0)
            if delay is not None:
                await session.execute(
                    update(AuthThrottle)
                    .where(AuthThrottle.key == key)
                    .values(blocked_until=now + delay)
                )


async def clear(session: AsyncSession, key: str) -> None:
    async with system_scope(session, SystemPurpose.auth_throttle):
        await session.execute(delete(AuthThrottle).where(AuthThrottle.key == key))
