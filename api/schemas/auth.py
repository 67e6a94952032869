"""Signup, login, invitation acceptance and the caller's own identity."""

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
)

from api.schemas.users import Email, PersonName, UserRead
from core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from models import Firm

NewPassword = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
# No minimum at login: a short password is just a wrong one, answered with the same 401.
GivenPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


def _normalise_slug(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


# Slugs are lower-case; people typing "Acme-LLP" mean "acme-llp".
FirmSlug = Annotated[
    str,
    BeforeValidator(_normalise_slug),
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
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
    default_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"


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
