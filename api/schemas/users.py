"""Users: invite, read, update (role, name, active)."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, StringConstraints

from models import Role, User

# Deliberately loose: the only real proof of an address is mail reaching it.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=EMAIL_PATTERN),
]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    # False until an invited user accepts and chooses a password.
    password_set: bool
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
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )


class UserList(BaseModel):
    items: list[UserRead]
    next_cursor: uuid.UUID | None


class UserCreate(BaseModel):
    """An invitation: the user is created inactive and activates with the returned token."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    name: PersonName = ""
    role: Role


class UserUpdate(BaseModel):
    """Omitted (or null) fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: PersonName | None = None
    role: Role | None = None
    is_active: bool | None = None


class InvitationRead(BaseModel):
    user: UserRead
    # Shown only in this response; no email provider delivers it yet.
    invitation_token: str
    expires_at: datetime
