"""The versions of a document: upload a new one (streamed multipart), list and read them,
restore an older one as the newest, and the short-lived download link."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep, SettingsDep, StorageDep
from api.multipart import StreamedForm, multipart_body
from api.openapi import errors
from api.routes.documents import UPLOAD_ERRORS, form_fields
from api.schemas.common import Page, page_of
from api.schemas.documents import DocumentVersionRead, DownloadLink, VersionCreate, VersionRestore
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from services.documents import documents

router = APIRouter(prefix="/documents/{document_id}/versions")

Reader = Annotated[Principal, Requires(Permission.documents_read)]
Writer = Annotated[Principal, Requires(Permission.documents_write)]

_VERSION_BODY = multipart_body(
    {"note": {"type": "string", "maxLength": 2000}},
    "The new version's file (its type is detected from its bytes) and an optional note.",
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentVersionRead,
    openapi_extra=_VERSION_BODY,
    responses=errors(Conflict, *UPLOAD_ERRORS),
)
async def add_version(
    document_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    storage: StorageDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Upload the document's next version, streamed; it becomes current and the document
    goes back to draft. 409 while the document is in review or in the bin. Accepts an
    ``Idempotency-Key``."""
    # A missing or read-only document is refused before its body is read.
    documents.check_writable(await documents.get_document(session, principal, document_id))
    form = StreamedForm(request)
    file_name = await form.open()
    blob = await documents.upload(
        session, principal, storage, form.file_chunks(), declared_name=file_name
    )
    body = form_fields(VersionCreate, await form.rest(), repeated=set())

    async def create() -> DocumentVersionRead:
        document = await documents.get_document(session, principal, document_id)
        version = await documents.add_version(
            session, principal, document, blob, file_name=file_name, note=body.note
        )
        return DocumentVersionRead.model_validate(version)

    payload = {"fields": body.model_dump(mode="json"), "file": [file_name, blob.sha256]}
    return await idempotency.run(
        session, principal, idem, payload=payload, status_code=201, handler=create
    )


@router.get("")
async def list_versions(
    document_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> Page[DocumentVersionRead]:
    """Newest first, keyset-paginated."""
    result = await documents.list_versions(
        session, principal, document_id, page=page, into=DocumentVersionRead.model_validate
    )
    return page_of(result.items, result)


@router.get("/{version_id}")
async def get_version(
    document_id: uuid.UUID, version_id: uuid.UUID, principal: Reader, session: SessionDep
) -> DocumentVersionRead:
    """One version; recorded in the audit trail as a view of the document."""
    version = await documents.view_version(session, principal, document_id, version_id)
    return DocumentVersionRead.model_validate(version)


@router.post(
    "/{version_id}/restore",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentVersionRead,
    responses=errors(Conflict),
)
async def restore_version(
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    idem: IdempotencyDep,
    body: VersionRestore | None = None,
) -> JSONResponse:
    """A new version with this version's bytes and file name, made current (the versions
    in between stay). 409 while the document is in review or in the bin. Accepts an
    ``Idempotency-Key``."""
    note = body.note if body else None

    async def restore() -> DocumentVersionRead:
        version = await documents.restore_version(
            session, principal, document_id, version_id, note=note
        )
        return DocumentVersionRead.model_validate(version)

    return await idempotency.run(
        session, principal, idem, payload={"note": note}, status_code=201, handler=restore
    )


@router.post("/{version_id}/download-link")
async def download_link(
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DownloadLink:
    """A short-lived URL that downloads the version's file (as an attachment, never shown
    inline); recorded in the audit trail as a download."""
    link = await documents.download_link(
        session, principal, storage, settings, document_id, version_id
    )
    return DownloadLink(url=link.url, expires_at=link.expires_at)
