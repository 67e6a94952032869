"""Envelope templates: the request bodies are the service's field rules."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.esignature.envelope_templates import (
    Instantiate,
    TemplateField,
    TemplateFields,
    TemplatePatch,
    TemplateRole,
)


class TemplateCreate(TemplateFields):
    """A new template. Its documents must be the firm's library PDFs (422 at
    ``/document_ids/<i>``), each field on a role and one of its documents' pages (422 at
    ``/fields/<i>/<member>``); a name another template has is a 409."""


class TemplateUpdate(TemplatePatch):
    """Only the members sent change; the result is checked as a whole template."""


class TemplateInstantiate(Instantiate):
    """``recipients`` maps each role key to ``{"contact_id"}`` (a contact of the client
    with an email) or ``{"name", "email"}``; every role must be filled."""


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    title: str
    message: str
    document_ids: list[uuid.UUID]
    roles: list[TemplateRole]
    fields: list[TemplateField]
    expiry_days: int
    reminder_first_days: int
    reminder_every_days: int
    reminder_max: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
