"""The caller's firm's document settings: quota, upload limit, allowed types, search
configuration, business hours; and the bytes its documents take."""

from typing import Annotated

from fastapi import APIRouter

from api.deps import Requires, SessionDep
from api.openapi import errors
from api.schemas.documents import DocumentSettingsRead, DocumentSettingsUpdate
from core.errors import Unprocessable
from core.permissions import Permission
from core.principal import Principal
from services.documents import settings as document_settings
from services.documents.settings import DocumentSettings

router = APIRouter(prefix="/firm/document-settings")


async def _read(
    session: SessionDep, principal: Principal, current: DocumentSettings
) -> DocumentSettingsRead:
    used = await document_settings.bytes_used(session, principal)
    return DocumentSettingsRead.model_construct(**current.model_dump(), bytes_used=used)


@router.get("")
async def get_document_settings(
    principal: Annotated[Principal, Requires(Permission.documents_read)], session: SessionDep
) -> DocumentSettingsRead:
    """Readable by whoever reads documents, so an uploader can see why a file was refused."""
    current = await document_settings.get_settings(session, principal)
    return await _read(session, principal, current)


@router.put("", responses=errors(Unprocessable))
async def put_document_settings(
    body: DocumentSettingsUpdate,
    principal: Annotated[Principal, Requires(Permission.documents_manage)],
    session: SessionDep,
) -> DocumentSettingsRead:
    """Replace every setting. A quota below what is stored stops uploads and deletes
    nothing; a new search configuration applies to versions indexed from then on."""
    current = await document_settings.set_settings(session, principal, settings=body)
    return await _read(session, principal, current)
