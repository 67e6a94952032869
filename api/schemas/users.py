"""Users: invite, read, update (role, name, active)."""

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, StringConstraints

from core.roles import Role
from models import User

# Emails are compared case-insensitively everywhere, so they are stored lower-case.
Email = Annotated[EmailStr, StringConstraints(max_length=320), AfterValidator(str.lower)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    # False until an invited user accepts and chooses a password.
    password_set: bool
    # The client a client-role user belongs to; null for the firm's own people.
    client_id: uuid.UUID | None = None
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, user: User) -> Self:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
            password_set=user.password_hash is not None,
            client_id=user.client_id,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )


class UserCreate(BaseModel):
    """An invitation: the user is created inactive and activates through the emailed link."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    name: PersonName = ""
    role: Role
    # Required when role is client: the one client whose records the user may see.
    client_id: uuid.UUID | None = None


class UserUpdate(BaseModel):
    """Omitted (or null) fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: PersonName | None = None
    role: Role | None = None
    is_active: bool | None = None


class InvitationRead(BaseModel):
    """The invited user and until when their link works. The link itself, with its one-time
    token, goes only to the user's email address: whoever invites never sees it."""

    user: UserRead
    expires_at: datetime
