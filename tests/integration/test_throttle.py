"""Throttled sign-in: per account and per client address, the same for unknown emails, and
no faster or slower for them either."""

import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import SystemPurpose, system_scope
from models import AuthThrottle
from services.auth import BAD_CREDENTIALS
from services.throttle import BASE_DELAY, MAX_DELAY, THRESHOLD, account_key, delay_after
from tests.factories import PASSWORD, make_firm
from tests.problems import assert_problem

ClientAt = Callable[[str], AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    from api.app import create_app

    return create_app(settings, sessionmaker=sessionmaker)


@pytest.fixture
def client_at(app: FastAPI) -> ClientAt:
    """A client whose requests come from ``address``, as the server sees the peer."""

    @asynccontextmanager
    async def open_client(address: str) -> AsyncIterator[AsyncClient]:
        transport = ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    return open_client


def fresh_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


async def login(http: AsyncClient, email: str, password: str = PASSWORD) -> Response:
    return await http.post("/v1/auth/login", json={"email": email, "password": password})


def comparable(problem: dict[str, Any]) -> dict[str, Any]:
    problem.pop("request_id")
    return problem


async def fail_from_many_addresses(client_at: ClientAt, email: str, times: int) -> None:
    """Wrong passwords for ``email``, each from its own address, so only the account counts."""
    for _ in range(times):
        async with client_at(fresh_address()) as http:
            assert_problem(await login(http, email, "wrong password entirely"), 401)


async def test_an_account_is_throttled_after_five_failures_even_with_the_right_password(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)

    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD)
    async with client_at(fresh_address()) as http:
        throttled = await login(http, actor.user.email)

    problem = assert_problem(throttled, 429)
    assert throttled.headers["Retry-After"] == str(int(BASE_DELAY.total_seconds()))
    assert problem["title"] == "Too many requests"


async def test_four_failures_still_let_the_right_password_in(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD - 1)

    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email)).status_code == 200
    # Success cleared the account's count: four more failures are again not enough.
    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD - 1)
    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email)).status_code == 200


async def test_unknown_and_known_accounts_are_throttled_alike(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    answers: dict[str, list[tuple[int, dict[str, Any], str | None]]] = {}
    for email in (actor.user.email, unknown):
        answers[email] = []
        for _ in range(THRESHOLD + 1):
            async with client_at(fresh_address()) as http:
                response = await login(http, email, "wrong password entirely")
            answers[email].append(
                (
                    response.status_code,
                    comparable(response.json()),
                    response.headers.get("Retry-After"),
                )
            )

    assert [status for status, _, _ in answers[unknown]] == [401] * THRESHOLD + [429]
    assert answers[unknown] == answers[actor.user.email]
    assert answers[unknown][0][1]["detail"] == BAD_CREDENTIALS


async def test_an_address_is_throttled_after_five_failures_across_accounts(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    guessing = fresh_address()
    async with client_at(guessing) as http:
        for _ in range(THRESHOLD):
            other = f"guess-{uuid.uuid4().hex[:8]}@example.com"
            assert_problem(await login(http, other, "wrong password entirely"), 401)
        # A different account, with its right password, is refused from that address...
        throttled = await login(http, actor.user.email)
    assert_problem(throttled, 429)
    assert throttled.headers["Retry-After"] == str(int(BASE_DELAY.total_seconds()))
    # ...and allowed from anywhere else.
    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email)).status_code == 200


async def test_a_throttled_address_answers_alike_for_known_and_unknown_accounts(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    async with client_at(fresh_address()) as http:
        for _ in range(THRESHOLD):
            assert_problem(await login(http, f"x-{uuid.uuid4().hex}@example.com", "nope"), 401)
        known = await login(http, actor.user.email)
        unknown = await login(http, f"y-{uuid.uuid4().hex}@example.com")
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]
    assert comparable(assert_problem(known, 429)) == comparable(assert_problem(unknown, 429))


def test_the_delay_doubles_after_the_threshold_up_to_a_cap() -> None:
    assert delay_after(THRESHOLD - 1) is None
    assert delay_after(THRESHOLD) == BASE_DELAY
    assert delay_after(THRESHOLD + 1) == BASE_DELAY * 2
    assert delay_after(THRESHOLD + 3) == BASE_DELAY * 8
    assert delay_after(THRESHOLD + 1000) == MAX_DELAY


async def test_the_table_stores_no_email_and_the_app_role_sees_none_of_it(
    client_at: ClientAt, db: AsyncSession
) -> None:
    email = f"secret-{uuid.uuid4().hex[:8]}@example.com"
    address = fresh_address()
    async with client_at(address) as http:
        assert_problem(await login(http, email, "wrong password entirely"), 401)

    assert (await db.execute(text("SELECT count(*) FROM auth_throttles"))).scalar_one() == 0
    async with system_scope(db, SystemPurpose.auth_throttle):
        keys = set(
            (
                await db.scalars(
                    select(AuthThrottle.key).where(
                        AuthThrottle.key.in_([account_key(email), f"address:{address}"])
                    )
                )
            ).all()
        )
    assert keys == {account_key(email), f"address:{address}"}
    assert email not in account_key(email)


async def test_login_timing_does_not_reveal_whether_an_email_exists(
    client_at: ClientAt, db: AsyncSession
) -> None:
    """The one timing check the issue asks for: medians within a factor of 10."""
    actor = await make_firm(db)

    async def timed(email: str) -> float:
        async with client_at(fresh_address()) as http:
            started = time.perf_counter()
            response = await login(http, email, "wrong password entirely")
            elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    # Fewer attempts than the threshold, so none is refused early by the throttle.
    known = [await timed(actor.user.email) for _ in range(THRESHOLD - 1)]
    unknown = [await timed(f"nobody-{uuid.uuid4().hex}@example.com") for _ in range(THRESHOLD - 1)]

    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.1 < ratio < 10, (known, unknown)


async def test_old_failures_are_forgotten(client_at: ClientAt, db: AsyncSession) -> None:
    actor = await make_firm(db)
    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD - 1)
    async with system_scope(db, SystemPurpose.auth_throttle):
        await db.execute(
            text(
                "UPDATE auth_throttles SET last_failure_at = last_failure_at - :age WHERE key = :k"
            ),
            {"age": timedelta(days=2), "k": account_key(actor.user.email)},
        )
    await db.commit()

    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD - 1)
    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email)).status_code == 200
