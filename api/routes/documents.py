"""Documents of the caller's firm: upload (streamed multipart), the filtered list, the
details, the bin. Versions are in ``api.routes.document_versions``."""

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep, StorageDep
from api.multipart import StreamedForm, multipart_body
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.documents import DocumentCreate, DocumentRead, DocumentUpdate, DocumentVersionRead
from core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    unprocessable,
)
from core.permissions import Permission
from core.principal import Principal
from models import DocumentStatus
from services.clients import Tag
from services.documents import documents
from services.documents.documents import DocumentFilters, DocumentType

router = APIRouter(prefix="/documents")

Reader = Annotated[Principal, Requires(Permission.documents_read)]
Writer = Annotated[Principal, Requires(Permission.documents_write)]

F = TypeVar("F", bound=BaseModel)

MAX_TAG_FILTERS = 10
# Upload problems: the form itself, the file's size, the firm's quota and allowed types.
UPLOAD_ERRORS = (BadRequest, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType)
# Form fields a browser sends empty when nothing was chosen; empty means absent.
_BLANK_IS_ABSENT = {"title", "client_id", "folder_id", "note", "document_type"}

_CREATE_BODY = multipart_body(
    {
        "title": {"type": "string", "maxLength": 300},
        "client_id": {"type": "string", "format": "uuid"},
        "folder_id": {"type": "string", "format": "uuid"},
        "document_type": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 50},
        "note": {"type": "string", "maxLength": 2000},
    },
    "The file (its type is detected from its bytes) and the document's details as form "
    "fields, the details best before the file (they are checked before it is stored).",
)


def form_fields(model: type[F], raw: dict[str, list[str]], *, repeated: set[str]) -> F:
    """Form fields as ``model``: each field once, but those in ``repeated`` (lists); an
    empty value of an optional text field is left out; a 422 per bad field."""
    data: dict[str, Any] = {}
    for name, values in raw.items():
        if name in repeated:
            data[name] = values
        elif len(values) > 1:
            raise Unprocessable(
                "A form field was sent more than once",
                errors=[{"pointer": f"/{name}", "detail": "repeated"}],
            )
        elif not (values[0] == "" and name in _BLANK_IS_ABSENT):
            data[name] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise unprocessable(exc) from exc


def document_read(found: documents.Detailed) -> DocumentRead:
    data = {
        name: getattr(found.document, name)
        for name in DocumentRead.model_fields
        if name not in ("current_version", "legal_hold")
    }
    version = found.current_version
    return DocumentRead.model_validate(
        {
            **data,
            "current_version": DocumentVersionRead.model_validate(version) if version else None,
            "legal_hold": found.legal_hold,
        }
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentRead,
    openapi_extra=_CREATE_BODY,
    responses=errors(*UPLOAD_ERRORS),
)
async def create_document(
    request: Request,
    principal: Writer,
    session: SessionDep,
    storage: StorageDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Upload a file as a new document (its version 1), streamed: the file never sits whole
    in memory. 413 beyond the firm's upload limit or quota, 415 for a type the firm does not
    allow (detected from the bytes). Accepts an ``Idempotency-Key``."""
    form = StreamedForm(request)
    file_name = await form.open()
    # The details sent before the file are checked before it is stored.
    early = form_fields(DocumentCreate, form.fields_so_far, repeated={"tags"})
    await documents.check_fields(session, principal, early)
    blob = await documents.upload(
        session, principal, storage, form.file_chunks(), declared_name=file_name
    )
    body = form_fields(DocumentCreate, await form.rest(), repeated={"tags"})

    async def create() -> DocumentRead:
        document = await documents.create_document(
            session, principal, fields=body, blob=blob, file_name=file_name, note=body.note
        )
        return document_read(await documents.detailed(session, principal, document))

    payload = {"fields": body.model_dump(mode="json"), "file": [file_name, blob.sha256]}
    return await idempotency.run(
        session, principal, idem, payload=payload, status_code=201, handler=create
    )


@router.get("")
async def list_documents(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    client_id: uuid.UUID | None = None,
    folder_id: uuid.UUID | None = None,
    status: DocumentStatus | None = None,
    document_type: Annotated[DocumentType | None, Query(max_length=64)] = None,
    tag: Annotated[
        list[Tag] | None,
        Query(max_length=MAX_TAG_FILTERS, description="Repeatable: documents with every tag."),
    ] = None,
    deleted: Annotated[
        bool, Query(description="false: documents in use (default); true: the bin.")
    ] = False,
) -> Page[DocumentRead]:
    """Newest first, keyset-paginated."""
    filters = DocumentFilters(
        client_id=client_id,
        folder_id=folder_id,
        status=status,
        document_type=document_type,
        tags=tuple(tag or ()),
        deleted=deleted,
    )
    result = await documents.list_documents(
        session, principal, filters=filters, page=page, into=DocumentRead.model_validate
    )
    return page_of(result.items, result)


@router.get("/{document_id}")
async def get_document(
    document_id: uuid.UUID, principal: Reader, session: SessionDep
) -> DocumentRead:
    """The document and its current version; recorded in the audit trail as a view."""
    return document_read(await documents.view_document(session, principal, document_id))


@router.patch("/{document_id}", responses=errors(Conflict, Unprocessable))
async def update_document(
    document_id: uuid.UUID, body: DocumentUpdate, principal: Writer, session: SessionDep
) -> DocumentRead:
    """A document in the bin is read-only (409) until restored."""
    document = await documents.update_document(session, principal, document_id, patch=body)
    return document_read(await documents.detailed(session, principal, document))


@router.delete("/{document_id}", responses=errors(Conflict))
async def delete_document(
    document_id: uuid.UUID, principal: Writer, session: SessionDep
) -> DocumentRead:
    """Move the document to the bin, restorable for 30 days; 409 under a legal hold.
    Deleting a document already in the bin changes nothing."""
    document = await documents.delete_document(session, principal, document_id)
    return document_read(await documents.detailed(session, principal, document))


@router.post("/{document_id}/restore", responses=errors(Conflict))
async def restore_document(
    document_id: uuid.UUID, principal: Writer, session: SessionDep
) -> DocumentRead:
    """Take the document out of the bin; 409 once it has been there more than 30 days."""
    document = await documents.restore_document(session, principal, document_id)
    return document_read(await documents.detailed(session, principal, document))
