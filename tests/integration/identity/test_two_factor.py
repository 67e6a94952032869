"""Two-factor sign-in with TOTP through the API: enrolment, the second step of a login,
replays, recovery codes, disabling, and a firm that requires it."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from cryptography.fernet import Fernet
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.crypto import DEV_KEY_FILE, Cipher, EncryptionUnavailable
from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, MfaChallenge, TwoFactorCredential
from services.two_factor import MAX_CHALLENGE_FAILURES, RECOVERY_CODE_COUNT
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.problems import assert_problem, bearer, pointers


@dataclass(frozen=True)
class Enrolled:
    actor: Actor
    totp: pyotp.TOTP
    recovery_codes: list[str]


def code_at(totp: pyotp.TOTP, steps_ahead: int) -> str:
    """The code of a step relative to now: a step ahead is still inside the drift window, and
    is a step no earlier code has used."""
    return totp.at(datetime.now(UTC) + timedelta(seconds=30 * steps_ahead))


async def enrol(client: AsyncClient, actor: Actor) -> Enrolled:
    started = await client.post("/v1/auth/two-factor/enrollment", headers=actor.headers)
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        "/v1/auth/two-factor/enrollment/confirm",
        headers=actor.headers,
        json={"code": totp.now()},
    )
    assert confirmed.status_code == 200, confirmed.text
    return Enrolled(actor, totp, confirmed.json()["recovery_codes"])


async def password_step(client: AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def mfa(client: AsyncClient, mfa_token: str, **factor: str) -> Response:
    return await client.post("/v1/auth/login/mfa", json={"mfa_token": mfa_token, **factor})


async def test_enrolment_gives_an_otpauth_uri_and_stores_the_seed_encrypted(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    actor = await make_firm(db)

    started = await client.post("/v1/auth/two-factor/enrollment", headers=actor.headers)

    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    uri = urlparse(started.json()["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == [f"firmflow ({actor.firm.slug})"]
    assert unquote(uri.path).endswith(f":{actor.user.email}")

    status = await client.get("/v1/auth/two-factor", headers=actor.headers)
    assert status.json() == {
        "enabled": False,
        "pending": True,
        "required_by_firm": False,
        "recovery_codes_remaining": 0,
    }
    await scope_to_firm(db, actor.firm.id)
    stored = await db.scalar(
        select(TwoFactorCredential.secret_encrypted).where(
            TwoFactorCredential.user_id == actor.user.id
        )
    )
    assert stored is not None and secret not in stored
    assert Cipher.from_settings(settings).decrypt(stored) == secret


async def test_confirming_enables_two_factor_and_shows_ten_recovery_codes(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    enrolled = await enrol(client, actor)

    assert len(enrolled.recovery_codes) == RECOVERY_CODE_COUNT == 10
    assert len(set(enrolled.recovery_codes)) == 10
    status = await client.get("/v1/auth/two-factor", headers=actor.headers)
    assert status.json()["enabled"] is True
    assert status.json()["recovery_codes_remaining"] == 10
    again = await client.post("/v1/auth/two-factor/enrollment", headers=actor.headers)
    assert_problem(again, 409)
    await scope_to_firm(db, actor.firm.id)
    summaries = (
        await db.scalars(select(AuditEvent.summary).where(AuditEvent.firm_id == actor.firm.id))
    ).all()
    assert not any(code in str(summaries) for code in enrolled.recovery_codes)


async def test_confirming_with_a_wrong_code_enables_nothing(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    started = await client.post("/v1/auth/two-factor/enrollment", headers=actor.headers)
    totp = pyotp.TOTP(started.json()["secret"])
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"

    response = await client.post(
        "/v1/auth/two-factor/enrollment/confirm", headers=actor.headers, json={"code": wrong}
    )

    assert pointers(assert_problem(response, 422)) == {"/code"}
    status = await client.get("/v1/auth/two-factor", headers=actor.headers)
    assert status.json()["enabled"] is False


async def test_login_with_two_factor_needs_a_code_and_refuses_a_replay(
    client: AsyncClient, db: AsyncSession
) -> None:
    enrolled = await enrol(client, await make_firm(db))
    email = enrolled.actor.user.email

    first = await password_step(client, email)
    assert set(first) == {"mfa_required", "mfa_token", "expires_at"}
    assert first["mfa_required"] is True

    code = code_at(enrolled.totp, 1)
    signed_in = await mfa(client, first["mfa_token"], code=code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["token"].startswith("ffs_")
    assert "ff_session" in signed_in.cookies
    me = await client.get("/v1/me", headers=bearer(signed_in.json()["token"]))
    assert me.status_code == 200

    # The same code again, within its step, on a fresh challenge: refused.
    second = await password_step(client, email)
    replayed = await mfa(client, second["mfa_token"], code=code)
    assert_problem(replayed, 401)
    # An earlier step than the last one used is a replay too.
    earlier = await mfa(client, second["mfa_token"], code=enrolled.totp.now())
    assert_problem(earlier, 401)
    # The token that already signed in cannot sign in again.
    assert_problem(await mfa(client, first["mfa_token"], code=code_at(enrolled.totp, 1)), 401)


async def test_a_wrong_code_is_refused_and_counts(client: AsyncClient, db: AsyncSession) -> None:
    enrolled = await enrol(client, await make_firm(db))
    challenge = await password_step(client, enrolled.actor.user.email)
    right = code_at(enrolled.totp, 1)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    refused = assert_problem(await mfa(client, challenge["mfa_token"], code=wrong), 401)

    assert "incorrect" in refused["detail"]
    await scope_to_firm(db, enrolled.actor.firm.id)
    attempts = await db.scalar(
        select(MfaChallenge.failed_attempts).where(MfaChallenge.user_id == enrolled.actor.user.id)
    )
    assert attempts == 1
    # The challenge survives one wrong code.
    assert (await mfa(client, challenge["mfa_token"], code=right)).status_code == 200


async def test_repeated_wrong_codes_spend_the_challenge_and_throttle_the_account(
    client: AsyncClient, db: AsyncSession
) -> None:
    enrolled = await enrol(client, await make_firm(db))
    challenge = await password_step(client, enrolled.actor.user.email)
    right = code_at(enrolled.totp, 1)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    for _ in range(MAX_CHALLENGE_FAILURES):
        assert_problem(await mfa(client, challenge["mfa_token"], code=wrong), 401)

    await scope_to_firm(db, enrolled.actor.firm.id)
    used_at = await db.scalar(
        select(MfaChallenge.used_at).where(MfaChallenge.user_id == enrolled.actor.user.id)
    )
    assert used_at is not None
    assert_problem(await mfa(client, challenge["mfa_token"], code=right), 401)
    # Five failures of the account: even the password step is throttled now.
    response = await client.post(
        "/v1/auth/login", json={"email": enrolled.actor.user.email, "password": PASSWORD}
    )
    assert_problem(response, 429)


async def test_a_recovery_code_works_once(client: AsyncClient, db: AsyncSession) -> None:
    enrolled = await enrol(client, await make_firm(db))
    recovery = enrolled.recovery_codes[0]

    first = await password_step(client, enrolled.actor.user.email)
    # Typed with spaces and upper case, as people copy them.
    typed = recovery.upper().replace("-", " - ")
    assert (await mfa(client, first["mfa_token"], recovery_code=typed)).status_code == 200

    second = await password_step(client, enrolled.actor.user.email)
    assert_problem(await mfa(client, second["mfa_token"], recovery_code=recovery), 401)
    other = enrolled.recovery_codes[1]
    assert (await mfa(client, second["mfa_token"], recovery_code=other)).status_code == 200
    status = await client.get("/v1/auth/two-factor", headers=enrolled.actor.headers)
    assert status.json()["recovery_codes_remaining"] == 8


async def test_the_mfa_token_expires(client: AsyncClient, db: AsyncSession) -> None:
    enrolled = await enrol(client, await make_firm(db))
    challenge = await password_step(client, enrolled.actor.user.email)
    await scope_to_firm(db, enrolled.actor.firm.id)
    await db.execute(
        update(MfaChallenge)
        .where(MfaChallenge.user_id == enrolled.actor.user.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()

    response = await mfa(client, challenge["mfa_token"], code=code_at(enrolled.totp, 1))

    assert "sign in with your password again" in assert_problem(response, 401)["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"mfa_token": "ffm_x"}, {""}),
        ({"mfa_token": "ffm_x", "code": "123456", "recovery_code": "abcde-fghij"}, {""}),
        ({"mfa_token": "ffm_x", "code": "12345"}, {"/code"}),
        ({"mfa_token": "ffm_x", "code": "abcdef"}, {"/code"}),
        ({"code": "123456"}, {"/mfa_token"}),
    ],
)
async def test_mfa_validation_errors(
    client: AsyncClient, body: dict[str, str], expected: set[str]
) -> None:
    response = await client.post("/v1/auth/login/mfa", json=body)
    assert pointers(assert_problem(response, 422)) == expected


async def test_an_unknown_mfa_token_is_401(client: AsyncClient) -> None:
    assert_problem(await mfa(client, "ffm_" + uuid.uuid4().hex, code="123456"), 401)


async def test_regenerating_recovery_codes_replaces_the_old_ones(
    client: AsyncClient, db: AsyncSession
) -> None:
    enrolled = await enrol(client, await make_firm(db))
    response = await client.post(
        "/v1/auth/two-factor/recovery-codes",
        headers=enrolled.actor.headers,
        json={"code": code_at(enrolled.totp, 1)},
    )
    assert response.status_code == 200, response.text
    fresh = response.json()["recovery_codes"]
    assert len(fresh) == 10 and not set(fresh) & set(enrolled.recovery_codes)

    challenge = await password_step(client, enrolled.actor.user.email)
    old = enrolled.recovery_codes[0]
    assert_problem(await mfa(client, challenge["mfa_token"], recovery_code=old), 401)
    assert (await mfa(client, challenge["mfa_token"], recovery_code=fresh[0])).status_code == 200


async def test_disabling_needs_a_right_code(client: AsyncClient, db: AsyncSession) -> None:
    enrolled = await enrol(client, await make_firm(db))
    headers = enrolled.actor.headers
    right = code_at(enrolled.totp, 1)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    refused = await client.post("/v1/auth/two-factor/disable", headers=headers, json={})
    assert pointers(assert_problem(refused, 422)) == {""}
    refused = await client.post(
        "/v1/auth/two-factor/disable", headers=headers, json={"code": wrong}
    )
    assert_problem(refused, 422)
    assert (await client.get("/v1/auth/two-factor", headers=headers)).json()["enabled"] is True

    disabled = await client.post(
        "/v1/auth/two-factor/disable", headers=headers, json={"code": right}
    )
    assert disabled.status_code == 204, disabled.text
    # Without two-factor, the password alone signs in again.
    signed_in = await password_step(client, enrolled.actor.user.email)
    assert signed_in["token"].startswith("ffs_")
    again = await client.post("/v1/auth/two-factor/disable", headers=headers, json={"code": right})
    assert_problem(again, 409)


async def test_only_owners_and_admins_set_the_firm_policy(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    staff = await add_user(db, owner, Role.staff)

    refused = await client.put(
        "/v1/firm/security-policy", headers=staff.headers, json={"require_two_factor": True}
    )
    assert_problem(refused, 403)
    invalid = await client.put(
        "/v1/firm/security-policy", headers=admin.headers, json={"require_two_factor": "maybe"}
    )
    assert pointers(assert_problem(invalid, 422)) == {"/require_two_factor"}
    response = await client.put(
        "/v1/firm/security-policy", headers=admin.headers, json={"require_two_factor": True}
    )
    assert response.json() == {"require_two_factor": True}
    read = await client.get("/v1/firm/security-policy", headers=owner.headers)
    assert read.json() == {"require_two_factor": True}
    # Another firm is untouched.
    other = await make_firm(db, "Other")
    elsewhere = await client.get("/v1/firm/security-policy", headers=other.headers)
    assert elsewhere.json() == {"require_two_factor": False}
    await scope_to_firm(db, owner.firm.id)
    audited = await db.scalar(
        select(AuditEvent.summary).where(
            AuditEvent.firm_id == owner.firm.id,
            AuditEvent.action == "firm.security_policy_changed",
        )
    )
    assert audited is not None


async def test_a_firm_requiring_two_factor_enrols_users_before_their_first_session(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    await client.put(
        "/v1/firm/security-policy", headers=owner.headers, json={"require_two_factor": True}
    )

    step = await password_step(client, staff.user.email)

    assert set(step) == {"mfa_enrollment_required", "enrollment_token", "expires_at"}
    token = step["enrollment_token"]
    # The enrolment token is not a session, nor an mfa token.
    assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)
    assert_problem(await mfa(client, token, code="123456"), 401)
    started = await client.post("/v1/auth/login/enrollment", json={"enrollment_token": token})
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    refused = await client.post(
        "/v1/auth/login/enrollment/confirm", json={"enrollment_token": token, "code": wrong}
    )
    assert pointers(assert_problem(refused, 422)) == {"/code"}

    confirmed = await client.post(
        "/v1/auth/login/enrollment/confirm",
        json={"enrollment_token": token, "code": totp.now()},
    )

    assert confirmed.status_code == 200, confirmed.text
    assert len(confirmed.json()["recovery_codes"]) == 10
    session_token = confirmed.json()["token"]
    assert (await client.get("/v1/me", headers=bearer(session_token))).status_code == 200
    reused = await client.post(
        "/v1/auth/login/enrollment/confirm",
        json={"enrollment_token": token, "code": code_at(totp, 1)},
    )
    assert_problem(reused, 401)
    # From now on the user signs in with a code, and cannot turn two-factor off.
    assert (await password_step(client, staff.user.email))["mfa_required"] is True
    refused = await client.post(
        "/v1/auth/two-factor/disable", headers=staff.headers, json={"code": code_at(totp, 1)}
    )
    assert "requires" in assert_problem(refused, 409)["detail"]


async def test_without_an_encryption_key_enrolment_is_503(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    from api.app import create_app

    app = create_app(
        settings.model_copy(update={"encryption_keys": None}), sessionmaker=sessionmaker
    )
    actor = await make_firm(db)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/v1/auth/two-factor/enrollment", headers=actor.headers)
        # Signing in without two-factor needs no key.
        signed_in = await password_step(http, actor.user.email)

    assert "FIRMFLOW_ENCRYPTION_KEYS" in assert_problem(response, 503)["detail"]
    assert signed_in["token"].startswith("ffs_")


def test_rotated_keys_still_decrypt_old_seeds() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Cipher([old]).encrypt("JBSWY3DPEHPK3PXP")

    assert Cipher([new, old]).decrypt(sealed) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(RuntimeError):
        Cipher([new]).decrypt(sealed)


def test_codes_are_checked_against_the_step_of_their_time() -> None:
    from services.two_factor import matching_step

    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = datetime.fromtimestamp(1_800_000_000, UTC)
    step = int(now.timestamp()) // 30

    assert matching_step(secret, totp.at(now), now) == step
    assert matching_step(secret, totp.at(now - timedelta(seconds=30)), now) == step - 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=30)), now) == step + 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=60)), now) is None


async def test_the_two_kinds_of_token_are_not_interchangeable(
    client: AsyncClient, db: AsyncSession
) -> None:
    enrolled = await enrol(client, await make_firm(db))
    challenge = await password_step(client, enrolled.actor.user.email)

    response = await client.post(
        "/v1/auth/login/enrollment", json={"enrollment_token": challenge["mfa_token"]}
    )

    assert_problem(response, 401)
    unknown = await client.post(
        "/v1/auth/login/enrollment", json={"enrollment_token": "ffm_" + uuid.uuid4().hex}
    )
    assert_problem(unknown, 401)


async def test_a_user_deactivated_between_the_steps_cannot_finish(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    enrolled = await enrol(client, staff)
    challenge = await password_step(client, staff.user.email)
    deactivated = await client.patch(
        f"/v1/users/{staff.user.id}", headers=owner.headers, json={"is_active": False}
    )
    assert deactivated.status_code == 200, deactivated.text

    response = await mfa(client, challenge["mfa_token"], code=code_at(enrolled.totp, 1))

    assert_problem(response, 401)


async def test_account_routes_need_a_signed_in_user(client: AsyncClient) -> None:
    for method, path in [
        ("GET", "/v1/auth/two-factor"),
        ("POST", "/v1/auth/two-factor/enrollment"),
        ("POST", "/v1/auth/two-factor/enrollment/confirm"),
        ("POST", "/v1/auth/two-factor/disable"),
        ("POST", "/v1/auth/two-factor/recovery-codes"),
        ("GET", "/v1/firm/security-policy"),
        ("PUT", "/v1/firm/security-policy"),
    ]:
        assert_problem(await client.request(method, path, json={}), 401)


async def test_confirming_without_a_pending_enrolment_is_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    response = await client.post(
        "/v1/auth/two-factor/enrollment/confirm", headers=actor.headers, json={"code": "123456"}
    )
    assert pointers(assert_problem(response, 422)) == {"/code"}
    disable = await client.post(
        "/v1/auth/two-factor/disable", headers=actor.headers, json={"code": "123456"}
    )
    assert_problem(disable, 409)


async def test_regenerating_recovery_codes_needs_a_right_code(
    client: AsyncClient, db: AsyncSession
) -> None:
    enrolled = await enrol(client, await make_firm(db))
    right = code_at(enrolled.totp, 1)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = await client.post(
        "/v1/auth/two-factor/recovery-codes", headers=enrolled.actor.headers, json={"code": wrong}
    )

    assert pointers(assert_problem(response, 422)) == {"/code"}
    status = await client.get("/v1/auth/two-factor", headers=enrolled.actor.headers)
    assert status.json()["recovery_codes_remaining"] == 10


async def test_disabling_with_a_recovery_code(client: AsyncClient, db: AsyncSession) -> None:
    enrolled = await enrol(client, await make_firm(db))
    headers = enrolled.actor.headers

    response = await client.post(
        "/v1/auth/two-factor/disable",
        headers=headers,
        json={"recovery_code": enrolled.recovery_codes[3]},
    )

    assert response.status_code == 204, response.text
    status = (await client.get("/v1/auth/two-factor", headers=headers)).json()
    assert status == {
        "enabled": False,
        "pending": False,
        "required_by_firm": False,
        "recovery_codes_remaining": 0,
    }


def test_development_servers_make_and_keep_their_own_key(tmp_path: Path) -> None:
    dev = Settings(_env_file=None, embedded=True, data_dir=tmp_path)  # type: ignore[call-arg]

    sealed = Cipher.from_settings(dev).encrypt("JBSWY3DPEHPK3PXP")

    key_file = tmp_path / DEV_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    # A restart (or a second worker) reads the same key back.
    assert Cipher.from_settings(dev).decrypt(sealed) == "JBSWY3DPEHPK3PXP"
    production = dev.model_copy(update={"embedded": False})
    with pytest.raises(EncryptionUnavailable):
        Cipher.from_settings(production).encrypt("JBSWY3DPEHPK3PXP")
