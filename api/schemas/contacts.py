"""Contacts of a client; the bodies reuse the field rules of services.contacts."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.contacts import ContactFields, ContactPatch


class ContactCreate(ContactFields):
    """A new contact of the client in the path."""


class ContactUpdate(ContactPatch):
    """Only the fields sent change; send null to clear email, phone or title."""


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    title: str | None
    is_primary: bool
    created_at: datetime
    updated_at: datetime
