"""The caller's own login sessions and API tokens, as listed under ``/me/sessions``."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class CredentialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    # "session": a sign-in (browser cookie or bearer); "api_token": a personal API token.
    kind: Literal["session", "api_token"]
    prefix: str
    # API tokens only.
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    # True for the credential this request was made with.
    current: bool


class RevokedRead(BaseModel):
    """How many of the caller's credentials a revoke-all ended."""

    model_config = ConfigDict(from_attributes=True)

    sessions: int
    api_tokens: int
