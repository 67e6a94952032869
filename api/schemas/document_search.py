"""Document search results: the document, the version that matched, how well it matched
and where."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from models import DocumentStatus, TextStatus


class SearchHighlights(BaseModel):
    """HTML fragments: the document's text escaped, each match inside ``<mark>…</mark>``,
    and no other markup."""

    title: str = Field(description="The whole title, its matches marked.")
    body: str | None = Field(
        description=(
            "Up to two passages of the extracted text around matches (joined by ' … '), "
            "or null when the text did not match."
        )
    )


class SearchVersion(BaseModel):
    """The document's current version, the one searched."""

    id: uuid.UUID
    number: int
    file_name: str
    content_type: str
    size: int
    text_status: TextStatus


class DocumentSearchHit(BaseModel):
    id: uuid.UUID
    title: str
    document_type: str
    tags: list[str]
    client_id: uuid.UUID | None
    folder_id: uuid.UUID | None
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    version: SearchVersion
    rank: float = Field(description="How well it matched; higher is better.")
    highlights: SearchHighlights


class DocumentSearchPage(BaseModel):
    items: list[DocumentSearchHit]
    next_cursor: str | None = None
