"""Signup, login (with its second factor), password recovery and change, two-factor
enrolment, invitation acceptance and the caller's own identity."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from api.schemas.common import FIRM_SLUG_PATTERN
from api.schemas.users import Email, PersonName, UserRead
from core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from core.validation_messages import CURRENCY_MESSAGE, pattern_message
from models import Firm
from services.passwords import TOO_COMMON, password_problem


def _not_common(value: str) -> str:
    # Length is checked by the Field bounds, with their own messages; this adds the list.
    if password_problem(value) == TOO_COMMON:
        raise ValueError(TOO_COMMON)
    return value


NewPassword = Annotated[
    str,
    Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(_not_common),
]
# No minimum at login: a short password is just a wrong one, answered with the same 401.
GivenPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


def _normalise_slug(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


# Slugs are lower-case; people typing "Acme-LLP" mean "acme-llp".
FirmSlug = Annotated[
    str,
    BeforeValidator(_normalise_slug),
    StringConstraints(pattern=FIRM_SLUG_PATTERN),
    pattern_message(
        "Enter a slug of lower-case letters, digits and dashes (not first or last), "
        "at most 63 characters."
    ),
]


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone such as Europe/Paris") from exc
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_time_zone)]


class SignupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    firm_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    # Derived from firm_name when omitted.
    firm_slug: FirmSlug | None = None
    name: PersonName = ""
    email: Email
    password: NewPassword
    time_zone: TimeZone = "UTC"
    default_currency: Annotated[
        str, StringConstraints(pattern=r"^[A-Z]{3}$"), pattern_message(CURRENCY_MESSAGE)
    ] = "USD"


class LoginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: GivenPassword
    # Needed only when the same email and password sign in to several firms.
    firm_slug: FirmSlug | None = None


class AcceptInvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: NewPassword


class PasswordResetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: NewPassword


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: GivenPassword
    new_password: NewPassword


TotpCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$"),
    pattern_message("Enter the 6-digit code your authenticator app shows."),
]
RecoveryCodeText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]
ChallengeToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _CodeOrRecoveryCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: TotpCode | None = None
    recovery_code: RecoveryCodeText | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give exactly one of code and recovery_code")
        return self


class MfaLoginCreate(_CodeOrRecoveryCode):
    mfa_token: ChallengeToken


class TwoFactorDisable(_CodeOrRecoveryCode):
    pass


class TotpCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: TotpCode


class EnrollmentAtLoginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrollment_token: ChallengeToken


class EnrollmentConfirmAtLoginCreate(EnrollmentAtLoginCreate):
    code: TotpCode


class EnrollmentRead(BaseModel):
    """The new TOTP seed, as text and as an otpauth:// URI to render as a QR code."""

    secret: str
    otpauth_uri: str


class RecoveryCodesRead(BaseModel):
    """Shown only here: each works once in place of a TOTP code."""

    recovery_codes: list[str]


class TwoFactorStatusRead(BaseModel):
    enabled: bool
    pending: bool
    required_by_firm: bool
    recovery_codes_remaining: int


class SecurityPolicyRead(BaseModel):
    require_two_factor: bool


class SecurityPolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_two_factor: bool


class FirmRead(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    time_zone: str
    default_currency: str

    @classmethod
    def from_model(cls, firm: Firm) -> Self:
        return cls(
            id=firm.id,
            name=firm.name,
            slug=firm.slug,
            time_zone=firm.time_zone,
            default_currency=firm.default_currency,
        )


class SessionRead(BaseModel):
    """A new login session. ``token`` is shown only here; send it as a bearer token."""

    token: str
    expires_at: datetime
    user: UserRead
    firm: FirmRead


class MeRead(BaseModel):
    user: UserRead
    firm: FirmRead
    credential: Literal["session", "api_token"]


class MfaRequiredRead(BaseModel):
    """The password was right; finish with POST /v1/auth/login/mfa and this token."""

    mfa_required: Literal[True] = True
    mfa_token: str
    expires_at: datetime


class EnrollmentRequiredRead(BaseModel):
    """The password was right, and the firm requires two-factor, which this user has not
    set up: enrol with this token (POST /v1/auth/login/enrollment, then .../confirm)."""

    mfa_enrollment_required: Literal[True] = True
    enrollment_token: str
    expires_at: datetime


LoginRead = SessionRead | MfaRequiredRead | EnrollmentRequiredRead


class EnrolledSessionRead(SessionRead):
    recovery_codes: list[str]
