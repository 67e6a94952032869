"""Who is acting: a signed-in user, an API token's user, or the system (activities, sweeps)."""

import uuid
from dataclasses import dataclass

from core.roles import Role


@dataclass(frozen=True)
class Principal:
    firm_id: uuid.UUID
    user_id: uuid.UUID | None
    role: Role
    # "session", "api_token" or "system"
    credential: str
    credential_id: uuid.UUID | None = None
    request_id: str | None = None
    # The client a client-role user belongs to (core.permissions: they see only its records).
    client_id: uuid.UUID | None = None

    @property
    def actor_type(self) -> str:
        return "system" if self.user_id is None else "user"

    @property
    def actor_id(self) -> uuid.UUID | None:
        return self.user_id

    @classmethod
    def system(cls, firm_id: uuid.UUID, request_id: str | None = None) -> "Principal":
        return cls(
            firm_id=firm_id,
            user_id=None,
            role=Role.owner,
            credential="system",
            request_id=request_id,
        )
