"""Authentication: resolving a bearer token to a principal, logging in with email and
password (throttled, with device cookies for browsers that signed in before, then a second
factor when the user or the firm calls for one), changing one's password, logging out, and
who the caller is."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg import sql
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Scoped, SystemPurpose, scope_to_firm, system_scope
from core.errors import BadRequest, NotFound, Unauthorized, Unprocessable
from core.principal import Principal
from core.roles import Role
from core.security import (
    API_TOKEN_PREFIX,
    SESSION_PREFIX,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from models import (
    ApiToken,
    Firm,
    FirmSecurityPolicy,
    LoginSession,
    MfaChallenge,
    TwoFactorCredential,
    User,
)
from services import audit, passwords, throttle
from services.identity_repository import LOGIN_SESSIONS, POLICIES, TOTP_CREDENTIALS, USERS
from services.login_devices import DeviceCookies
from services.sso import sso_enforced_for
from services.throttle import CountedFailure
from services.tokens import IssuedSession, start_session

# Said only after the password was right, so it reveals nothing to a guesser.
BAD_CREDENTIALS = "Incorrect email or password"
FIRM_REQUIRED = (
    "This email address can sign in to more than one firm; "
    "repeat the login with firm_slug set to the firm you want"
)
# Each candidate costs one argon2 verification; beyond this many the caller must say
# which firm they mean, so nobody can make a login arbitrarily slow by signing up firms.
MAX_LOGIN_CANDIDATES = 5

# "Last used" is for people judging whether a token is still in use; a minute's precision is
# plenty, and it spares every authenticated read a row update.
LAST_USED_PRECISION = timedelta(minutes=1)

MFA_PREFIX = "ffm"
# Long enough to open an authenticator app, short enough that a stolen token is stale.
MFA_CHALLENGE_TTL = timedelta(minutes=5)
ENROLMENT_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class _Location:
    """Where a bearer credential lives. Its firm and row never change, so a location is
    never stale, only gone (the row deleted, which the next request finds); whatever can
    change (revocation, expiry, the user's role, client and active flag) is read afresh."""

    model: type[LoginSession] | type[ApiToken]
    firm_id: uuid.UUID
    credential_id: uuid.UUID


# Credentials this process has seen, by the SHA-256 of the token (never the token): the
# lookup across firms (a role switch and back, three statements) happens once per
# credential and process instead of on every request. Bounded: the oldest entry goes.
_LOCATIONS: dict[str, _Location] = {}
MAX_CACHED_CREDENTIALS = 10_000

# The credential and its user as they are now, and "last used" recorded when the stored
# value is LAST_USED_PRECISION old (a statement's CTE runs even when nothing reads it, and
# the SELECT sees the row as it was before).
_CURRENT = {
    model: sql.SQL(
        "WITH touched AS (UPDATE {table} SET last_used_at = %(now)s WHERE id = %(id)s"
        " AND (last_used_at IS NULL OR last_used_at <= %(stale)s) RETURNING id)"
        " SELECT u.id, u.role, u.client_id, u.is_active, c.revoked_at, c.expires_at"
        " FROM {table} AS c JOIN users AS u ON u.id = c.user_id WHERE c.id = %(id)s"
    ).format(table=sql.Identifier(model.__tablename__))
    for model in (LoginSession, ApiToken)
}


async def authenticate(session: AsyncSession, token: str, request_id: str | None) -> Principal:
    """Resolve the token to a principal and scope the transaction to its firm. Every failure
    is the same 401 so a caller learns nothing.

    The token names its own firm, so a token this process has not seen yet is looked up
    across firms (``_locate``); its location is kept. Then, in one round trip with the
    firm scope (``scope_to_firm``), the credential and its user are read as they are now,
    so a revocation, an expiry, a deactivation or a role change counts from the next
    request, in every process, with nothing to invalidate."""
    kind = token.split("_", 1)[0]
    model: type[LoginSession] | type[ApiToken]
    if kind == SESSION_PREFIX:
        model = LoginSession
    elif kind == API_TOKEN_PREFIX:
        model = ApiToken
    else:
        raise Unauthorized("Invalid or expired credentials")
    digest = hash_token(token)
    location = _LOCATIONS.get(digest) or await _locate(session, model, digest)
    now = datetime.now(UTC)
    current = Scoped(
        _CURRENT[model],
        {"now": now, "id": location.credential_id, "stale": now - LAST_USED_PRECISION},
    )
    [rows] = await scope_to_firm(session, location.firm_id, current)
    if not rows:
        _LOCATIONS.pop(digest, None)
        raise Unauthorized("Invalid or expired credentials")
    user_id, role, client_id, is_active, revoked_at, expires_at = rows[0]
    if revoked_at is not None or (expires_at is not None and expires_at <= now) or not is_active:
        raise Unauthorized("Invalid or expired credentials")
    return Principal(
        firm_id=location.firm_id,
        user_id=user_id,
        role=Role(role),
        credential="session" if model is LoginSession else "api_token",
        credential_id=location.credential_id,
        request_id=request_id,
        client_id=client_id,
    )


async def _locate(
    session: AsyncSession, model: type[LoginSession] | type[ApiToken], digest: str
) -> _Location:
    async with system_scope(session, SystemPurpose.authenticate):
        row = (
            await session.execute(select(model.firm_id, model.id).where(model.token_hash == digest))
        ).one_or_none()
    if row is None:
        raise Unauthorized("Invalid or expired credentials")
    location = _Location(model, row.firm_id, row.id)
    if len(_LOCATIONS) >= MAX_CACHED_CREDENTIALS:
        del _LOCATIONS[next(iter(_LOCATIONS))]
    _LOCATIONS[digest] = location
    return location


@dataclass(frozen=True)
class SecondStep:
    """The password was right, and a second step stands before a session: a TOTP or
    recovery code ("login"), or enrolling in two-factor because the firm requires it
    ("enroll"). ``token`` is short-lived and single-use."""

    purpose: str
    token: str
    expires_at: datetime


LoginOutcome = IssuedSession | SecondStep


@dataclass(frozen=True)
class PasswordLogin:
    """What a right password earns: a session or the second step owed, and a new device
    cookie for the browser (None when the server has no key to sign one)."""

    outcome: LoginOutcome
    device_cookie: str | None


async def issue_challenge(
    session: AsyncSession, user: User, purpose: str, *, device_key: str | None = None
) -> SecondStep:
    """``device_key``: the throttle key of the device cookie that admitted the password."""
    ttl = MFA_CHALLENGE_TTL if purpose == "login" else ENROLMENT_TTL
    token, _, digest = new_token(MFA_PREFIX)
    expires_at = datetime.now(UTC) + ttl
    session.add(
        MfaChallenge(
            firm_id=user.firm_id,
            user_id=user.id,
            token_hash=digest,
            purpose=purpose,
            device_key=device_key,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return SecondStep(purpose=purpose, token=token, expires_at=expires_at)


async def _second_step(session: AsyncSession, user: User) -> str | None:
    """Which second step ``user`` (in a transaction scoped to its firm) owes, if any."""
    confirmed = await session.scalar(
        select(TwoFactorCredential.confirmed_at).where(
            TOTP_CREDENTIALS.owned_by(user.firm_id), TwoFactorCredential.user_id == user.id
        )
    )
    if confirmed is not None:
        return "login"
    required = await session.scalar(
        select(FirmSecurityPolicy.require_two_factor).where(POLICIES.owned_by(user.firm_id))
    )
    return "enroll" if required else None


async def login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    firm_slug: str | None,
    ttl: timedelta,
    client_address: str | None,
    device_cookie: str | None,
    devices: DeviceCookies,
    request_id: str | None,
) -> PasswordLogin:
    """Email and password to a login session, or to the second step the user owes. The
    email is looked up across firms; an unknown email still costs an argon2 verification
    (against a dummy hash) and fails with exactly the same problem as a wrong password, and
    it is throttled the same way (services.throttle). A valid ``device_cookie`` for this
    account is throttled on its own instead of the account (services.login_devices). A wrong
    password raises ``CountedFailure``: its count is in this transaction, which must be
    committed."""
    now = datetime.now(UTC)
    device = devices.throttle_key(device_cookie, email, now=now)
    keys = throttle.keys_for(email, client_address, device=device)
    await throttle.check(session, keys)
    user, firm = await _password_holder(session, email, password, firm_slug, keys)
    await scope_to_firm(session, firm.id)
    if await sso_enforced_for(session, firm.id, user):
        # Password login is off for this user: answer exactly as for a wrong password, so a
        # guesser never learns that a password (perhaps reused elsewhere) was right.
        await throttle.record_failure(session, keys)
        raise CountedFailure(BAD_CREDENTIALS)
    # Clears the device's count when one was used: the account's lockout of unknown
    # browsers stays until it runs out.
    await throttle.clear(session, keys[0])
    if user.password_hash is not None and password_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    cookie = devices.issue(email, now=now)
    step = await _second_step(session, user)
    if step is not None:
        challenge = await issue_challenge(session, user, step, device_key=device)
        return PasswordLogin(challenge, cookie)
    issued = await start_session(
        session, user, firm, ttl=ttl, method="password", request_id=request_id
    )
    return PasswordLogin(issued, cookie)


async def _password_holder(
    session: AsyncSession, email: str, password: str, firm_slug: str | None, keys: list[str]
) -> tuple[User, Firm]:
    """The one active user with this email and password, or a counted failure."""
    query = (
        select(User, Firm)
        .join(Firm, Firm.id == User.firm_id)
        .where(
            func.lower(User.email) == email.lower(),
            User.is_active.is_(True),
            User.password_hash.is_not(None),
        )
        .order_by(User.created_at, User.id)
        .limit(MAX_LOGIN_CANDIDATES + 1)
    )
    if firm_slug is not None:
        query = query.where(Firm.slug == firm_slug)
    async with system_scope(session, SystemPurpose.login):
        candidates = [(row[0], row[1]) for row in (await session.execute(query)).all()]
    if len(candidates) > MAX_LOGIN_CANDIDATES:
        await asyncio.to_thread(verify_password, None, password)
        raise Unauthorized(FIRM_REQUIRED)
    if not candidates:
        await asyncio.to_thread(verify_password, None, password)
        await throttle.record_failure(session, keys)
        raise CountedFailure(BAD_CREDENTIALS)
    matches = [
        (user, firm)
        for user, firm in candidates
        if await asyncio.to_thread(verify_password, user.password_hash, password)
    ]
    if not matches:
        await throttle.record_failure(session, keys)
        raise CountedFailure(BAD_CREDENTIALS)
    if len(matches) > 1:
        raise Unauthorized(FIRM_REQUIRED)
    return matches[0]


async def change_password(
    session: AsyncSession, principal: Principal, *, current_password: str, new_password: str
) -> None:
    """Replace the caller's password after checking the current one; every other login
    session of the caller ends, the one making the change stays."""
    user, _ = await current_user(session, principal)
    if not await asyncio.to_thread(verify_password, user.password_hash, current_password):
        # Not a 401: the caller's own credential is fine, one field of the request is not.
        raise Unprocessable(
            "The current password is incorrect",
            errors=[{"detail": "is incorrect", "pointer": "/current_password"}],
        )
    passwords.ensure_acceptable(new_password, pointer="/new_password")
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    await revoke_login_sessions(session, user, keep=principal.credential_id)
    await audit.record(
        session, principal, action="user.password_changed", record_type="user", record_id=user.id
    )


async def revoke_login_sessions(
    session: AsyncSession, user: User, *, keep: uuid.UUID | None = None
) -> int:
    query = update(LoginSession).where(
        LOGIN_SESSIONS.owned_by(user.firm_id),
        LoginSession.user_id == user.id,
        LoginSession.revoked_at.is_(None),
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    revoked = await session.execute(
        query.values(revoked_at=datetime.now(UTC)).returning(LoginSession.id)
    )
    return len(revoked.all())


async def logout(session: AsyncSession, principal: Principal) -> None:
    """End the login session the caller authenticated with."""
    if principal.credential != "session" or principal.credential_id is None:
        raise BadRequest(
            "Logout ends a login session, and this request used an API token; "
            "revoke API tokens with DELETE /v1/api-tokens/{token_id}"
        )
    await session.execute(
        update(LoginSession)
        .where(LOGIN_SESSIONS.owned_by(principal), LoginSession.id == principal.credential_id)
        .values(revoked_at=datetime.now(UTC))
    )
    await audit.record(
        session,
        principal,
        action="auth.logout",
        record_type="login_session",
        record_id=principal.credential_id,
    )


async def current_user(session: AsyncSession, principal: Principal) -> tuple[User, Firm]:
    row = (
        await session.execute(
            select(User, Firm)
            .join(Firm, Firm.id == User.firm_id)
            .where(USERS.owned_by(principal), User.id == principal.user_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("The signed-in user no longer exists")
    return row[0], row[1]
