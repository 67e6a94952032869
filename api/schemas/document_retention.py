"""Retention: policies, legal holds, the sweep's preview and its deletion records. The
request bodies are the services' field rules."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from models import RetentionTrigger
from services.documents.holds import HoldFields
from services.documents.retention import PolicyFields, PolicyPatch


class RetentionPolicyCreate(PolicyFields):
    """A policy for one document type (one per type: a second is a 409). The nightly sweep
    reports the type's documents ``retain_days`` after the trigger and deletes them
    ``grace_days`` after that, unless a legal hold covers them."""


class RetentionPolicyUpdate(PolicyPatch):
    """Only the fields sent change; the next sweep applies them."""


class RetentionPolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_type: str
    trigger: RetentionTrigger
    retain_days: int
    grace_days: int
    description: str | None
    created_at: datetime
    updated_at: datetime


class LegalHoldCreate(HoldFields):
    """A hold on exactly one of a document or a client (every document of the client). It
    blocks moving the documents to the bin and every deletion by the retention sweep until
    it is released."""


class LegalHoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_id: uuid.UUID | None
    client_id: uuid.UUID | None
    reason: str
    placed_by: uuid.UUID | None
    released_at: datetime | None
    released_by: uuid.UUID | None
    created_at: datetime


class RetentionItem(BaseModel):
    """A document the next sweep reports, and when it may be deleted."""

    document_id: uuid.UUID
    title: str
    document_type: str
    client_id: uuid.UUID | None
    # Null for a document in the bin past its 30 days there.
    policy_id: uuid.UUID | None
    reason: str
    due_at: datetime
    reported_at: datetime
    delete_after: datetime


class RetentionPreview(BaseModel):
    """What a sweep run now would do: every document it would report (``report``, soonest
    deletion first) and those it would delete (``delete``, past their grace), each list cut
    at ``limit`` with its full count beside it. Nothing is written."""

    at: datetime
    report: list[RetentionItem]
    report_total: int
    delete: list[RetentionItem]
    delete_total: int


class DocumentDeletionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_id: uuid.UUID
    title: str
    document_type: str
    client_id: uuid.UUID | None
    policy_id: uuid.UUID | None
    reason: str
    versions: int
    # The blobs (by SHA-256) deleted with it: those no other version still used.
    blobs_deleted: list[str]
    sweep_id: str
    deleted_at: datetime
