"""The firm's credentials vault. Values are write-only: no response ever carries one."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from api.deps import CipherDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.credentials import CredentialCreate, CredentialRead, CredentialValue
from core.crypto import EncryptionUnavailable
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from services import credentials

router = APIRouter(prefix="/credentials")

Manager = Annotated[Principal, Requires(Permission.credentials_manage)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=errors(Conflict, EncryptionUnavailable)
)
async def create_credential(
    body: CredentialCreate, principal: Manager, session: SessionDep, cipher: CipherDep
) -> CredentialRead:
    """Store a secret, encrypted. The answer is the name and metadata only; a name already
    used in the firm is a 409."""
    credential = await credentials.create_credential(session, principal, cipher, fields=body)
    return CredentialRead.model_validate(credential)


@router.get("")
async def list_credentials(
    principal: Manager, session: SessionDep, page: PageDep
) -> Page[CredentialRead]:
    """Newest first, keyset-paginated."""
    result = await credentials.list_credentials(session, principal, page=page)
    return page_of([CredentialRead.model_validate(c) for c in result.items], result)


@router.get("/{credential_id}")
async def get_credential(
    credential_id: uuid.UUID, principal: Manager, session: SessionDep
) -> CredentialRead:
    credential = await credentials.get_credential(session, principal, credential_id)
    return CredentialRead.model_validate(credential)


@router.put("/{credential_id}/value", responses=errors(EncryptionUnavailable))
async def replace_credential_value(
    credential_id: uuid.UUID,
    body: CredentialValue,
    principal: Manager,
    session: SessionDep,
    cipher: CipherDep,
) -> CredentialRead:
    """Replace the secret; runs that start resolving it afterwards get the new one."""
    credential = await credentials.replace_value(
        session, principal, cipher, credential_id, value=body.value
    )
    return CredentialRead.model_validate(credential)


@router.delete("/{credential_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_credential(
    credential_id: uuid.UUID, principal: Manager, session: SessionDep
) -> None:
    """Steps that reference it fail with an unknown-credential error from then on."""
    await credentials.delete_credential(session, principal, credential_id)
