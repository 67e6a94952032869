"""The firm's audit trail (Permission.audit_read: owners and admins)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.audit_events import AuditEventRead
from api.schemas.common import Page, page_of
from core.errors import BadRequest
from core.permissions import Permission
from core.principal import Principal
from services import audit
from services.audit import AuditFilters

router = APIRouter(prefix="/audit-events")


@router.get("", responses=errors(BadRequest))
async def list_audit_events(
    principal: Annotated[Principal, Requires(Permission.audit_read)],
    session: SessionDep,
    page: PageDep,
    record_type: Annotated[
        str | None, Query(min_length=1, max_length=50, description="e.g. client, contact")
    ] = None,
    record_id: Annotated[uuid.UUID | None, Query(description="Needs record_type.")] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="The acting user.")] = None,
    action: Annotated[
        str | None, Query(min_length=1, max_length=100, description="e.g. user.role_changed")
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(alias="from", description="Inclusive, with a time zone.")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(alias="to", description="Exclusive, with a time zone.")
    ] = None,
) -> Page[AuditEventRead]:
    """Newest first, keyset-paginated."""
    filters = AuditFilters(
        record_type=record_type,
        record_id=record_id,
        actor_id=actor_id,
        action=action,
        since=since,
        until=until,
    )
    result = await audit.list_events(session, principal, filters=filters, page=page)
    return page_of([AuditEventRead.model_validate(e) for e in result.items], result)
