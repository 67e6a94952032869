"""Clients of the caller's firm. Client-role users read only the client they belong to."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.clients import ClientCreate, ClientRead, ClientUpdate
from api.schemas.common import Page, page_of
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from models import ClientStatus
from services import clients
from services.clients import ClientFilters, Tag

router = APIRouter(prefix="/clients")

Reader = Annotated[Principal, Requires(Permission.clients_read)]
Writer = Annotated[Principal, Requires(Permission.clients_write)]

MAX_TAG_FILTERS = 10


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ClientRead, responses=errors(Conflict)
)
async def create_client(
    body: ClientCreate, principal: Writer, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """Create a client and publish ``client.created``. A duplicate email or external_ref
    is a 409 naming the field. Accepts an ``Idempotency-Key``."""

    async def create() -> ClientRead:
        client = await clients.create_client(session, principal, fields=body)
        return ClientRead.model_validate(client)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )


@router.get("")
async def list_clients(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: ClientStatus | None = None,
    tag: Annotated[
        list[Tag] | None,
        Query(max_length=MAX_TAG_FILTERS, description="Repeatable: clients with every tag."),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Part of the name or email."),
    ] = None,
    archived: Annotated[
        bool, Query(description="false: clients in use (default); true: archived ones only.")
    ] = False,
) -> Page[ClientRead]:
    """Newest first, keyset-paginated."""
    filters = ClientFilters(status=status, tags=tuple(tag or ()), search=q, archived=archived)
    result = await clients.list_clients(
        session, principal, filters=filters, page=page, into=ClientRead.model_validate
    )
    return page_of(result.items, result)


@router.get("/{client_id}")
async def get_client(client_id: uuid.UUID, principal: Reader, session: SessionDep) -> ClientRead:
    return ClientRead.model_validate(await clients.get_client(session, principal, client_id))


@router.patch("/{client_id}", responses=errors(Conflict))
async def update_client(
    client_id: uuid.UUID, body: ClientUpdate, principal: Writer, session: SessionDep
) -> ClientRead:
    """Archived clients are read-only (409) until unarchived."""
    client = await clients.update_client(session, principal, client_id, patch=body)
    return ClientRead.model_validate(client)


@router.post("/{client_id}/archive", responses=errors(Conflict))
async def archive_client(
    client_id: uuid.UUID, principal: Writer, session: SessionDep
) -> ClientRead:
    """Hide the client from the default list and freeze it; archiving twice is harmless."""
    client = await clients.set_archived(session, principal, client_id, archived=True)
    return ClientRead.model_validate(client)


@router.post("/{client_id}/unarchive", responses=errors(Conflict))
async def unarchive_client(
    client_id: uuid.UUID, principal: Writer, session: SessionDep
) -> ClientRead:
    client = await clients.set_archived(session, principal, client_id, archived=False)
    return ClientRead.model_validate(client)
