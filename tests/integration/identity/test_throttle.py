"""Throttled sign-in: strict per account, a volume limit per client address, the same for
unknown emails (and no faster or slower for them either), and device cookies that keep an
account's own browser out of its lockout."""

import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import SystemPurpose, system_scope
from core.security import derive_key
from models import AuthThrottle
from services.auth import BAD_CREDENTIALS
from services.login_devices import COOKIE_TTL, DeviceCookies
from services.throttle import (
    ADDRESS_LIMIT,
    ADDRESS_WINDOW,
    BASE_DELAY,
    MAX_DELAY,
    THRESHOLD,
    account_key,
    address_key,
    delay_after,
)
from tests.factories import PASSWORD, make_firm
from tests.integration.identity.test_two_factor import code_at, enrol
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


DEVICE_COOKIE = "ff_device"


async def login(
    http: AsyncClient, email: str, password: str = PASSWORD, *, device: str | None = None
) -> Response:
    # Sent by hand: the device cookie is Secure, so the client's jar keeps it off http://.
    headers = {"Cookie": f"{DEVICE_COOKIE}={device}"} if device is not None else {}
    return await http.post(
        "/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


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


async def test_failures_against_one_account_do_not_block_another_from_the_same_address(
    client_at: ClientAt, db: AsyncSession
) -> None:
    """Five people behind one office NAT: one of them locking their account out must not
    lock out the others."""
    locked, colleague = await make_firm(db), await make_firm(db)
    office = fresh_address()
    async with client_at(office) as http:
        for _ in range(THRESHOLD):
            assert_problem(await login(http, locked.user.email, "wrong password entirely"), 401)

        assert (await login(http, colleague.user.email)).status_code == 200
    # The account's own lockout still holds, from any address.
    async with client_at(fresh_address()) as http:
        assert_problem(await login(http, locked.user.email), 429)


async def seed_address_failures(
    db: AsyncSession, address: str, failures: int, *, window_age: timedelta = timedelta()
) -> None:
    """Record ``failures`` for ``address`` in a window that began ``window_age`` ago (the
    throttle reads the database's clock, so the counters are set rather than waited for)."""
    started = func.now() - window_age
    async with system_scope(db, SystemPurpose.auth_throttle):
        await db.execute(
            insert(AuthThrottle).values(
                key=address_key(address),
                failures=failures,
                last_failure_at=func.now(),
                window_started_at=started,
                blocked_until=None,
            )
        )
    await db.commit()


async def test_an_address_is_blocked_at_its_volume_limit_across_accounts(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    stuffing = fresh_address()
    await seed_address_failures(db, stuffing, ADDRESS_LIMIT - 2)
    async with client_at(stuffing) as http:
        assert_problem(await login(http, f"guess-{uuid.uuid4().hex}@example.com", "nope"), 401)
        # One short of the limit, a right password still gets in...
        assert (await login(http, actor.user.email)).status_code == 200
        assert_problem(await login(http, f"guess-{uuid.uuid4().hex}@example.com", "nope"), 401)
        # ...at the limit, nobody does from that address until the window ends...
        throttled = await login(http, actor.user.email)
    assert_problem(throttled, 429)
    assert 0 < int(throttled.headers["Retry-After"]) <= ADDRESS_WINDOW.total_seconds()
    # ...while anywhere else is unaffected.
    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email)).status_code == 200


async def test_an_address_window_that_has_ended_starts_over(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    address = fresh_address()
    await seed_address_failures(
        db, address, ADDRESS_LIMIT - 1, window_age=ADDRESS_WINDOW + timedelta(minutes=1)
    )
    async with client_at(address) as http:
        assert_problem(await login(http, f"guess-{uuid.uuid4().hex}@example.com", "nope"), 401)

        assert (await login(http, actor.user.email)).status_code == 200


async def test_a_throttled_address_answers_alike_for_known_and_unknown_accounts(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    address = fresh_address()
    await seed_address_failures(db, address, ADDRESS_LIMIT - 1)
    async with client_at(address) as http:
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


# --- device cookies ------------------------------------------------------------------------


def cookies_set(response: Response) -> SimpleCookie:
    cookies = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookies.load(header)
    return cookies


async def sign_in_from_a_browser(client_at: ClientAt, email: str) -> str:
    async with client_at(fresh_address()) as http:
        response = await login(http, email)
    assert response.status_code == 200, response.text
    return cookies_set(response)[DEVICE_COOKIE].value


async def test_a_successful_login_sets_a_long_lived_device_cookie(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    async with client_at(fresh_address()) as http:
        response = await login(http, actor.user.email)

    device = cookies_set(response)[DEVICE_COOKIE]
    assert device["httponly"] and device["secure"]
    assert device["samesite"].lower() == "lax"
    assert device["path"] == "/v1/auth/login"
    assert int(device["max-age"]) == COOKIE_TTL.total_seconds()


async def test_a_browser_with_its_device_cookie_signs_in_while_the_account_is_locked_out(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    device = await sign_in_from_a_browser(client_at, actor.user.email)
    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD)
    async with client_at(fresh_address()) as http:
        assert_problem(await login(http, actor.user.email), 429)

    async with client_at(fresh_address()) as http:
        response = await login(http, actor.user.email, device=device)

    assert response.status_code == 200, response.text
    # The owner's success does not lift the lockout of unknown browsers.
    async with client_at(fresh_address()) as http:
        assert_problem(await login(http, actor.user.email), 429)


def expired_cookie(settings: Settings, email: str) -> str:
    issued = DeviceCookies.from_settings(settings).issue(
        email, now=datetime.now(UTC) - COOKIE_TTL - timedelta(minutes=1)
    )
    assert issued is not None
    return issued


def cookie_signed_with_another_key(settings: Settings, email: str) -> str:
    issued = DeviceCookies((derive_key("not the server's key", "firmflow device cookie v1"),))
    cookie = issued.issue(email, now=datetime.now(UTC))
    assert cookie is not None
    return cookie


async def test_forged_expired_and_other_accounts_device_cookies_give_no_exemption(
    client_at: ClientAt, db: AsyncSession, settings: Settings
) -> None:
    actor, other = await make_firm(db), await make_firm(db)
    genuine = await sign_in_from_a_browser(client_at, actor.user.email)
    nonce, expires, signature = genuine.split(".")
    tampered_signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    cookies = {
        "other account's": await sign_in_from_a_browser(client_at, other.user.email),
        "expired": expired_cookie(settings, actor.user.email),
        "tampered signature": f"{nonce}.{expires}.{tampered_signature}",
        "extended expiry": f"{nonce}.{int(expires) + 86400}.{signature}",
        "signed with another key": cookie_signed_with_another_key(settings, actor.user.email),
        "garbage": "not-a-device-cookie",
    }
    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD)

    for name, cookie in cookies.items():
        async with client_at(fresh_address()) as http:
            response = await login(http, actor.user.email, device=cookie)
        assert response.status_code == 429, name
    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email, device=genuine)).status_code == 200


async def test_a_device_cookie_is_locked_out_by_its_own_failures_and_not_the_account(
    client_at: ClientAt, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    device = await sign_in_from_a_browser(client_at, actor.user.email)
    for _ in range(THRESHOLD):
        async with client_at(fresh_address()) as http:
            wrong = await login(http, actor.user.email, "wrong password entirely", device=device)
        assert_problem(wrong, 401)

    async with client_at(fresh_address()) as http:
        locked = await login(http, actor.user.email, device=device)
    assert_problem(locked, 429)
    assert locked.headers["Retry-After"] == str(int(BASE_DELAY.total_seconds()))
    # Those failures were the device's: unknown browsers may still try the account.
    async with client_at(fresh_address()) as http:
        assert (await login(http, actor.user.email)).status_code == 200


async def test_a_device_cookie_also_carries_a_two_factor_user_through_the_lockout(
    client_at: ClientAt, db: AsyncSession
) -> None:
    """The second step is throttled under the key that admitted the password step."""
    actor = await make_firm(db)
    async with client_at(fresh_address()) as http:
        enrolled = await enrol(http, actor)
    device = await sign_in_from_a_browser(client_at, actor.user.email)
    await fail_from_many_addresses(client_at, actor.user.email, THRESHOLD)

    async with client_at(fresh_address()) as http:
        password = await login(http, actor.user.email, device=device)
        assert password.status_code == 200, password.text
        second = await http.post(
            "/v1/auth/login/mfa",
            json={"mfa_token": password.json()["mfa_token"], "code": code_at(enrolled.totp, 1)},
        )

    assert second.status_code == 200, second.text
