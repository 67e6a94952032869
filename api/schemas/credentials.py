"""Credentials: a value goes in (create, replace) and never comes out; reads show the
name and metadata only."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.credentials import CredentialFields, SecretValue


class CredentialCreate(CredentialFields):
    """A new secret. ``name`` (``^[a-z][a-z0-9_]{0,62}$``, unique in the firm) is what
    steps reference as ``{{ secrets.<name> }}``; ``value`` is write-only."""


class CredentialValue(BaseModel):
    """A replacement value; the name and the steps that use it stay as they are."""

    model_config = ConfigDict(extra="forbid")

    value: SecretValue


class CredentialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    created_by: uuid.UUID | None
    value_updated_at: datetime
    created_at: datetime
    updated_at: datetime
