"""Documents, their versions and folders, and the firm's document settings. The bodies are
the services' field rules, so the upload form, the JSON bodies and the services accept
exactly the same values."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from models import DocumentStatus, TextStatus
from services.documents.documents import DocumentFields, DocumentPatch, Note
from services.documents.folders import FolderFields, FolderPatch
from services.documents.settings import DocumentSettings


class DocumentCreate(DocumentFields):
    """The details of a new document, sent as form fields beside the file (``tags``
    repeated, one field per tag). ``title`` defaults to the file's name; ``note`` goes with
    the first version."""

    note: Note | None = None


class DocumentUpdate(DocumentPatch):
    """Only the fields sent change. The status changes through review and publishing, the
    content through new versions."""


class VersionCreate(BaseModel):
    """The form fields beside a new version's file."""

    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class VersionRestore(BaseModel):
    """Make an older version's bytes the newest version."""

    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class DocumentVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_id: uuid.UUID
    number: int
    file_name: str
    sha256: str
    size: int
    # Detected from the bytes, never taken from the name or the client.
    content_type: str
    uploaded_by: uuid.UUID | None
    note: str | None
    restored_from_id: uuid.UUID | None
    text_status: TextStatus
    created_at: datetime


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    document_type: str
    tags: list[str]
    client_id: uuid.UUID | None
    folder_id: uuid.UUID | None
    status: DocumentStatus
    current_version_id: uuid.UUID | None
    current_version: DocumentVersionRead | None
    owner_id: uuid.UUID | None
    reviewer_roles: list[str]
    reviewer_user_ids: list[uuid.UUID]
    review_quorum: int
    # An active legal hold covers the document or its client: it cannot be deleted.
    legal_hold: bool
    created_by: uuid.UUID | None
    # In the bin since then (restorable for 30 days), or null.
    deleted_at: datetime | None
    deleted_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class DownloadLink(BaseModel):
    """A short-lived URL to the version's bytes; anyone holding it may download them until
    it expires, so hand it to nobody else."""

    url: str
    expires_at: datetime


class FolderCreate(FolderFields):
    """A new folder; a sibling with the same name is a 409."""


class FolderUpdate(FolderPatch):
    """Only the fields sent change; ``parent_id`` null moves the folder to the root."""


class FolderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    client_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class DocumentSettingsUpdate(DocumentSettings):
    """Every setting, replacing the current ones."""


class DocumentSettingsRead(DocumentSettings):
    # What the firm's blobs take now (each distinct file once), against the quota.
    bytes_used: Annotated[int, Field(ge=0)]
