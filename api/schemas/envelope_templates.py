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
    TemplateView,
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


class TemplateSummary(BaseModel):
    """A template as listed (its documents' pages are read one template at a time)."""

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


class TemplateDocumentRead(BaseModel):
    """One of the template's documents, measured from its current version: the builder's
    pages. ``problem`` says why it has none to show (then saving the template is a 422)."""

    model_config = ConfigDict(from_attributes=True)

    document_id: uuid.UUID
    title: str | None
    page_count: int
    page_sizes: list[list[float]]
    problem: str | None


class TemplateRead(TemplateSummary):
    documents: list[TemplateDocumentRead]


def template_read(view: TemplateView) -> TemplateRead:
    summary = TemplateSummary.model_validate(view.row)
    documents = [TemplateDocumentRead.model_validate(d) for d in view.documents]
    return TemplateRead(**summary.model_dump(), documents=documents)
