"""Contacts under a client, governed by the client permissions. An archived client's
contacts are read-only (409) until the client is unarchived."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.contacts import ContactCreate, ContactRead, ContactUpdate
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from services import contacts

router = APIRouter(prefix="/clients/{client_id}/contacts")

# Contacts belong to their client, so the client permissions govern them.
Reader = Annotated[Principal, Requires(Permission.clients_read)]
Writer = Annotated[Principal, Requires(Permission.clients_write)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ContactRead, responses=errors(Conflict)
)
async def create_contact(
    client_id: uuid.UUID,
    body: ContactCreate,
    principal: Writer,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Accepts an ``Idempotency-Key``."""

    async def create() -> ContactRead:
        contact = await contacts.create_contact(session, principal, client_id, fields=body)
        return ContactRead.model_validate(contact)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )


@router.get("")
async def list_contacts(
    client_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> Page[ContactRead]:
    """Newest first, keyset-paginated."""
    result = await contacts.list_contacts(session, principal, client_id, page=page)
    return page_of([ContactRead.model_validate(c) for c in result.items], result)


@router.get("/{contact_id}")
async def get_contact(
    client_id: uuid.UUID, contact_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ContactRead:
    contact = await contacts.get_contact(session, principal, client_id, contact_id)
    return ContactRead.model_validate(contact)


@router.patch("/{contact_id}", responses=errors(Conflict))
async def update_contact(
    client_id: uuid.UUID,
    contact_id: uuid.UUID,
    body: ContactUpdate,
    principal: Writer,
    session: SessionDep,
) -> ContactRead:
    contact = await contacts.update_contact(session, principal, client_id, contact_id, patch=body)
    return ContactRead.model_validate(contact)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(Conflict))
async def delete_contact(
    client_id: uuid.UUID, contact_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await contacts.delete_contact(session, principal, client_id, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
