"""Two-factor sign-in: the second step of a login, enrolment (from a session, or at login
when the firm requires it), disabling, recovery codes, and the firm's policy."""

from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from api.deps import CipherDep, Requires, SessionDep, SettingsDep
from api.openapi import errors
from api.routes.auth import (
    client_address,
    refused,
    request_id_of,
    session_read,
    session_ttl,
)
from api.schemas.auth import (
    EnrolledSessionRead,
    EnrollmentAtLoginCreate,
    EnrollmentConfirmAtLoginCreate,
    EnrollmentRead,
    MfaLoginCreate,
    RecoveryCodesRead,
    SecurityPolicyRead,
    SecurityPolicyUpdate,
    SessionRead,
    TotpCodeCreate,
    TwoFactorDisable,
    TwoFactorStatusRead,
)
from core.crypto import EncryptionUnavailable
from core.errors import Conflict, Unauthorized
from core.permissions import Permission
from core.principal import Principal
from services import two_factor
from services.throttle import CountedFailure, TooManyAttempts

router = APIRouter()

# Your own two-factor settings are part of your account.
AccountDep = Annotated[Principal, Requires(Permission.account)]
# Requiring two-factor of everyone is managing the firm's users.
PolicyDep = Annotated[Principal, Requires(Permission.users_manage)]


@router.post(
    "/auth/login/mfa",
    response_model=SessionRead,
    responses=errors(CountedFailure, TooManyAttempts, EncryptionUnavailable),
)
async def login_mfa(
    body: MfaLoginCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
) -> SessionRead | JSONResponse:
    """Finish a login with a TOTP code or a recovery code and the ``mfa_token``."""
    try:
        issued = await two_factor.complete_login(
            session,
            cipher,
            mfa_token=body.mfa_token,
            code=body.code,
            recovery_code=body.recovery_code,
            ttl=session_ttl(settings),
            client_address=client_address(request),
            request_id=request_id_of(request),
        )
    except CountedFailure as error:
        return refused(request, error)
    return session_read(issued, response, settings)


@router.post(
    "/auth/login/enrollment", responses=errors(Unauthorized, Conflict, EncryptionUnavailable)
)
async def begin_enrollment_at_login(
    body: EnrollmentAtLoginCreate, request: Request, session: SessionDep, cipher: CipherDep
) -> EnrollmentRead:
    """Start the enrolment a firm's policy requires, with the login's ``enrollment_token``."""
    enrolment = await two_factor.begin_enrolment_at_login(
        session,
        cipher,
        enrolment_token=body.enrollment_token,
        request_id=request_id_of(request),
    )
    return EnrollmentRead(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/auth/login/enrollment/confirm",
    responses=errors(Unauthorized, Conflict, EncryptionUnavailable),
)
async def confirm_enrollment_at_login(
    body: EnrollmentConfirmAtLoginCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
) -> EnrolledSessionRead:
    """Confirm the enrolment with a code; signs in and shows the recovery codes once."""
    issued, codes = await two_factor.confirm_enrolment_at_login(
        session,
        cipher,
        enrolment_token=body.enrollment_token,
        code=body.code,
        ttl=session_ttl(settings),
        request_id=request_id_of(request),
    )
    read = session_read(issued, response, settings)
    return EnrolledSessionRead(**read.model_dump(), recovery_codes=codes)


@router.get("/auth/two-factor")
async def two_factor_status(principal: AccountDep, session: SessionDep) -> TwoFactorStatusRead:
    found = await two_factor.get_status(session, principal)
    return TwoFactorStatusRead(
        enabled=found.enabled,
        pending=found.pending,
        required_by_firm=found.required_by_firm,
        recovery_codes_remaining=found.recovery_codes_remaining,
    )


@router.post("/auth/two-factor/enrollment", responses=errors(Conflict, EncryptionUnavailable))
async def begin_enrollment(
    principal: AccountDep, session: SessionDep, cipher: CipherDep
) -> EnrollmentRead:
    """A new TOTP seed, pending until confirmed; show ``otpauth_uri`` as a QR code."""
    enrolment = await two_factor.begin_enrolment(session, principal, cipher)
    return EnrollmentRead(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/auth/two-factor/enrollment/confirm", responses=errors(Conflict, EncryptionUnavailable)
)
async def confirm_enrollment(
    body: TotpCodeCreate, principal: AccountDep, session: SessionDep, cipher: CipherDep
) -> RecoveryCodesRead:
    """Turn two-factor on with a code from the app; returns the recovery codes, once."""
    codes = await two_factor.confirm_enrolment(session, principal, cipher, code=body.code)
    return RecoveryCodesRead(recovery_codes=codes)


@router.post(
    "/auth/two-factor/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(Conflict, EncryptionUnavailable),
)
async def disable(
    body: TwoFactorDisable, principal: AccountDep, session: SessionDep, cipher: CipherDep
) -> None:
    await two_factor.disable(
        session,
        principal,
        cipher,
        code=body.code,
        recovery_code=body.recovery_code,
    )


@router.post("/auth/two-factor/recovery-codes", responses=errors(Conflict, EncryptionUnavailable))
async def regenerate_recovery_codes(
    body: TotpCodeCreate, principal: AccountDep, session: SessionDep, cipher: CipherDep
) -> RecoveryCodesRead:
    """Replace every recovery code; the new ones are shown once."""
    codes = await two_factor.regenerate_recovery_codes(session, principal, cipher, code=body.code)
    return RecoveryCodesRead(recovery_codes=codes)


@router.get("/firm/security-policy")
async def get_security_policy(principal: PolicyDep, session: SessionDep) -> SecurityPolicyRead:
    required = await two_factor.firm_requires(session, principal.firm_id)
    return SecurityPolicyRead(require_two_factor=required)


@router.put("/firm/security-policy")
async def set_security_policy(
    body: SecurityPolicyUpdate, principal: PolicyDep, session: SessionDep
) -> SecurityPolicyRead:
    """Owners and admins require (or stop requiring) two-factor for everyone in the firm."""
    policy = await two_factor.set_policy(
        session, principal, require_two_factor=body.require_two_factor
    )
    return SecurityPolicyRead(require_two_factor=policy.require_two_factor)
