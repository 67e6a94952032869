"""Two-factor sign-in with TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1, which every
authenticator app speaks) and single-use recovery codes.

Enrolment stores a fresh seed, encrypted (core.crypto), pending until the user proves their
app has it with a code; confirming returns ten recovery codes, shown that once and stored as
SHA-256. A code is accepted one step early or late (clock drift), and never twice: the last
accepted step is remembered per user, and a code of that step or an earlier one is refused.
A firm may require two-factor (``FirmSecurityPolicy``); a user who must enrol signs in
through an enrolment token (services.auth.login) and gets a session only once enrolled.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.db import SystemPurpose, scope_to_firm
from core.errors import Conflict, Unauthorized, Unprocessable
from core.principal import Principal
from models import (
    Firm,
    FirmSecurityPolicy,
    MfaChallenge,
    RecoveryCode,
    TwoFactorCredential,
    User,
)
from services import audit, throttle
from services.auth import current_user
from services.identity_repository import POLICIES, RECOVERY_CODES, TOTP_CREDENTIALS
from services.throttle import CountedFailure
from services.tokens import IssuedSession, find_one_time_token, start_session

ISSUER = "firmflow"
STEP_SECONDS = 30
# Steps either side of now that are still accepted.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Wrong codes one challenge tolerates before it is spent and the password is due again.
MAX_CHALLENGE_FAILURES = 5
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

WRONG_CODE = "The code is incorrect, expired or already used"
CHALLENGE_INVALID = (
    "This sign-in attempt is invalid or has expired; sign in with your password again"
)


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    pending: bool
    required_by_firm: bool
    recovery_codes_remaining: int


def _principal(user: User, request_id: str | None) -> Principal:
    return Principal(
        firm_id=user.firm_id,
        user_id=user.id,
        role=user.role,
        credential="mfa",
        request_id=request_id,
    )


def _current_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code``, within the drift allowed, or None."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = _current_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalise_recovery_code(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


def _new_recovery_code() -> str:
    body = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{body[:5]}-{body[5:]}"


def _recovery_hash(code: str) -> str:
    # Ten random characters of a 31-letter alphabet: too many to guess, so SHA-256 suffices.
    return hashlib.sha256(_normalise_recovery_code(code).encode()).hexdigest()


async def _credential(
    session: AsyncSession, user: User, *, lock: bool = True
) -> TwoFactorCredential | None:
    """The user's credential; locked by default, so two requests cannot both accept one
    code (the replay check reads and writes ``last_used_step``)."""
    return await TOTP_CREDENTIALS.find(
        session, user.firm_id, TwoFactorCredential.user_id == user.id, lock=lock
    )


async def firm_requires(session: AsyncSession, firm_id: uuid.UUID) -> bool:
    required = await session.scalar(
        select(FirmSecurityPolicy.require_two_factor).where(POLICIES.owned_by(firm_id))
    )
    return bool(required)


async def _use_totp(
    session: AsyncSession, user: User, cipher: Cipher, code: str, *, pending: bool = False
) -> bool:
    """Accept ``code`` once: on success its step becomes the last used one."""
    credential = await _credential(session, user)
    if credential is None or (credential.confirmed_at is None) != pending:
        return False
    step = matching_step(cipher.decrypt(credential.secret_encrypted), code, datetime.now(UTC))
    if step is None or (
        credential.last_used_step is not None and step <= credential.last_used_step
    ):
        return False
    credential.last_used_step = step
    await session.flush()
    return True


async def _use_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    used = await session.execute(
        update(RecoveryCode)
        .where(
            RECOVERY_CODES.owned_by(user.firm_id),
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
        .returning(RecoveryCode.id)
    )
    return used.first() is not None


async def _verify(
    session: AsyncSession,
    user: User,
    cipher: Cipher,
    *,
    code: str | None,
    recovery_code: str | None,
) -> str | None:
    """Which factor was accepted ("totp" or "recovery_code"), or None."""
    if code is not None:
        return "totp" if await _use_totp(session, user, cipher, code) else None
    if recovery_code is not None and await _use_recovery_code(session, user, recovery_code):
        return "recovery_code"
    return None


async def _replace_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(
        update(RecoveryCode)
        .where(
            RECOVERY_CODES.owned_by(user.firm_id),
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        RecoveryCode(firm_id=user.firm_id, user_id=user.id, code_hash=_recovery_hash(code))
        for code in codes
    )
    await session.flush()
    return codes


async def get_status(session: AsyncSession, principal: Principal) -> TwoFactorStatus:
    user, _ = await current_user(session, principal)
    credential = await _credential(session, user, lock=False)
    remaining = await session.scalars(
        select(RecoveryCode.id).where(
            RECOVERY_CODES.owned_by(user.firm_id),
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
        )
    )
    return TwoFactorStatus(
        enabled=credential is not None and credential.confirmed_at is not None,
        pending=credential is not None and credential.confirmed_at is None,
        required_by_firm=await firm_requires(session, user.firm_id),
        recovery_codes_remaining=len(remaining.all()),
    )


async def _begin(
    session: AsyncSession, principal: Principal, user: User, firm: Firm, cipher: Cipher
) -> Enrolment:
    credential = await _credential(session, user)
    if credential is not None and credential.confirmed_at is not None:
        raise Conflict("Two-factor is already enabled; disable it first to enrol a new device")
    secret = pyotp.random_base32()
    if credential is None:
        session.add(
            TwoFactorCredential(
                firm_id=user.firm_id, user_id=user.id, secret_encrypted=cipher.encrypt(secret)
            )
        )
    else:
        # A new start replaces an unconfirmed seed: only the latest QR code works.
        credential.secret_encrypted = cipher.encrypt(secret)
        credential.last_used_step = None
    await session.flush()
    await audit.record(
        session,
        principal,
        action="user.two_factor_enrolment_started",
        record_type="user",
        record_id=user.id,
    )
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=f"{ISSUER} ({firm.slug})"
    )
    return Enrolment(secret=secret, otpauth_uri=uri)


async def _confirm(
    session: AsyncSession, principal: Principal, user: User, cipher: Cipher, code: str
) -> list[str]:
    if not await _use_totp(session, user, cipher, code, pending=True):
        raise Unprocessable(
            "The code does not match the pending enrolment; start the enrolment if you have not",
            errors=[{"detail": "does not match", "pointer": "/code"}],
        )
    credential = await _credential(session, user)
    assert credential is not None  # _use_totp accepted a code of this credential
    credential.confirmed_at = datetime.now(UTC)
    codes = await _replace_recovery_codes(session, user)
    await audit.record(
        session, principal, action="user.two_factor_enabled", record_type="user", record_id=user.id
    )
    return codes


async def begin_enrolment(session: AsyncSession, principal: Principal, cipher: Cipher) -> Enrolment:
    user, firm = await current_user(session, principal)
    return await _begin(session, principal, user, firm, cipher)


async def confirm_enrolment(
    session: AsyncSession, principal: Principal, cipher: Cipher, *, code: str
) -> list[str]:
    user, _ = await current_user(session, principal)
    return await _confirm(session, principal, user, cipher, code)


async def disable(
    session: AsyncSession,
    principal: Principal,
    cipher: Cipher,
    *,
    code: str | None,
    recovery_code: str | None,
) -> None:
    """Turn two-factor off; it takes a current code, and the firm must not require it."""
    user, _ = await current_user(session, principal)
    credential = await _credential(session, user)
    if credential is None or credential.confirmed_at is None:
        raise Conflict("Two-factor is not enabled")
    if await firm_requires(session, user.firm_id):
        raise Conflict("Your firm requires two-factor sign-in, so it cannot be turned off")
    if await _verify(session, user, cipher, code=code, recovery_code=recovery_code) is None:
        raise Unprocessable(WRONG_CODE, errors=[{"detail": "is incorrect", "pointer": ""}])
    await session.delete(credential)
    await session.execute(
        update(RecoveryCode)
        .where(RECOVERY_CODES.owned_by(user.firm_id), RecoveryCode.user_id == user.id)
        .values(used_at=datetime.now(UTC))
    )
    await audit.record(
        session, principal, action="user.two_factor_disabled", record_type="user", record_id=user.id
    )


async def regenerate_recovery_codes(
    session: AsyncSession, principal: Principal, cipher: Cipher, *, code: str
) -> list[str]:
    """Ten new recovery codes for a current TOTP code; the old ones stop working."""
    user, _ = await current_user(session, principal)
    if not await _use_totp(session, user, cipher, code):
        raise Unprocessable(WRONG_CODE, errors=[{"detail": "is incorrect", "pointer": "/code"}])
    codes = await _replace_recovery_codes(session, user)
    await audit.record(
        session,
        principal,
        action="user.recovery_codes_regenerated",
        record_type="user",
        record_id=user.id,
    )
    return codes


async def set_policy(
    session: AsyncSession, principal: Principal, *, require_two_factor: bool
) -> FirmSecurityPolicy:
    policy = await POLICIES.find(session, principal, lock=True)
    before = policy.require_two_factor if policy is not None else False
    if policy is None:
        policy = FirmSecurityPolicy(firm_id=principal.firm_id)
        session.add(policy)
    policy.require_two_factor = require_two_factor
    await session.flush()
    if before != require_two_factor:
        await audit.record(
            session,
            principal,
            action="firm.security_policy_changed",
            record_type="firm",
            record_id=principal.firm_id,
            before={"require_two_factor": before},
            after={"require_two_factor": require_two_factor},
        )
    return policy


# Sign-in steps after the password (services.auth.login issued the token).


async def _challenge(
    session: AsyncSession, token: str, purpose: str
) -> tuple[MfaChallenge, User, Firm]:
    """The live challenge behind ``token``, locked, with the transaction scoped to its firm."""
    found = await find_one_time_token(session, MfaChallenge, token, SystemPurpose.mfa_challenge)
    if found is None:
        raise Unauthorized(CHALLENGE_INVALID)
    challenge, user, firm = found
    if (
        challenge.purpose != purpose
        or challenge.used_at is not None
        or challenge.expires_at <= datetime.now(UTC)
        or not user.is_active
    ):
        raise Unauthorized(CHALLENGE_INVALID)
    await scope_to_firm(session, challenge.firm_id)
    return challenge, user, firm


async def complete_login(
    session: AsyncSession,
    cipher: Cipher,
    *,
    mfa_token: str,
    code: str | None,
    recovery_code: str | None,
    ttl: timedelta,
    client_address: str | None,
    request_id: str | None,
) -> IssuedSession:
    """The second factor of a sign-in. Wrong codes count against the same throttle keys as
    wrong passwords and raise ``CountedFailure``; the fifth spends the challenge."""
    challenge, user, firm = await _challenge(session, mfa_token, "login")
    keys = throttle.keys_for(user.email, client_address, device=challenge.device_key)
    await throttle.check(session, keys)
    factor = await _verify(session, user, cipher, code=code, recovery_code=recovery_code)
    if factor is None:
        challenge.failed_attempts += 1
        if challenge.failed_attempts >= MAX_CHALLENGE_FAILURES:
            challenge.used_at = datetime.now(UTC)
        await throttle.record_failure(session, keys)
        raise CountedFailure(WRONG_CODE)
    challenge.used_at = datetime.now(UTC)
    await throttle.clear(session, keys[0])
    if factor == "recovery_code":
        await audit.record(
            session,
            _principal(user, request_id),
            action="user.recovery_code_used",
            record_type="user",
            record_id=user.id,
        )
    return await start_session(
        session, user, firm, ttl=ttl, method=f"password+{factor}", request_id=request_id
    )


async def begin_enrolment_at_login(
    session: AsyncSession, cipher: Cipher, *, enrolment_token: str, request_id: str | None
) -> Enrolment:
    _, user, firm = await _challenge(session, enrolment_token, "enroll")
    return await _begin(session, _principal(user, request_id), user, firm, cipher)


async def confirm_enrolment_at_login(
    session: AsyncSession,
    cipher: Cipher,
    *,
    enrolment_token: str,
    code: str,
    ttl: timedelta,
    request_id: str | None,
) -> tuple[IssuedSession, list[str]]:
    """Confirm the enrolment a firm's policy demanded, and only then sign in."""
    challenge, user, firm = await _challenge(session, enrolment_token, "enroll")
    codes = await _confirm(session, _principal(user, request_id), user, cipher, code)
    challenge.used_at = datetime.now(UTC)
    issued = await start_session(
        session, user, firm, ttl=ttl, method="password+totp", request_id=request_id
    )
    return issued, codes
