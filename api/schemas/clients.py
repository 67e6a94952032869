"""Clients: the request bodies reuse the field rules of services.clients, so the API and
the CSV import accept exactly the same values."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from models import ClientKind, ClientStatus
from services.clients import ClientFields, ClientPatch


class ClientCreate(ClientFields):
    """A new client. ``kind`` defaults to organization and ``status`` to prospect; email
    and external_ref must be unique in the firm."""


class ClientUpdate(ClientPatch):
    """Only the fields sent change; send null to clear email, phone or external_ref."""


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: ClientKind
    name: str
    email: str | None
    phone: str | None
    status: ClientStatus
    tags: list[str]
    custom_fields: dict[str, Any]
    external_ref: str | None
    archived_at: datetime | None
    # Reminders of every invoice of the client are held (POST …/dunning/pause, …/resume).
    dunning_paused: bool
    created_at: datetime
    updated_at: datetime
