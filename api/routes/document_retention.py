"""Retention of the caller's firm's documents: policies per document type, legal holds,
the next sweep's preview and the record of what sweeps deleted.

Reading policies and holds is ``documents:read`` (people who file documents see why one
is kept or cannot be deleted); changing either, the preview and the deletion records are
``documents:manage``."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.document_retention import (
    DocumentDeletionRead,
    LegalHoldCreate,
    LegalHoldRead,
    RetentionItem,
    RetentionPolicyCreate,
    RetentionPolicyRead,
    RetentionPolicyUpdate,
    RetentionPreview,
)
from core.errors import Conflict, NotFound
from core.permissions import Permission
from core.principal import Principal
from services.documents import holds, retention, sweep
from services.documents.holds import HoldFilters

router = APIRouter()

Reader = Annotated[Principal, Requires(Permission.documents_read)]
Manager = Annotated[Principal, Requires(Permission.documents_manage)]

PREVIEW_MAX = 500


@router.get("/retention-policies")
async def list_policies(
    principal: Reader, session: SessionDep, page: PageDep
) -> Page[RetentionPolicyRead]:
    """Newest first, keyset-paginated."""
    result = await retention.list_policies(
        session, principal, page=page, into=RetentionPolicyRead.model_validate
    )
    return page_of(result.items, result)


@router.post(
    "/retention-policies",
    status_code=status.HTTP_201_CREATED,
    responses=errors(Conflict),
)
async def create_policy(
    body: RetentionPolicyCreate, principal: Manager, session: SessionDep
) -> RetentionPolicyRead:
    policy = await retention.create_policy(session, principal, fields=body)
    return RetentionPolicyRead.model_validate(policy)


@router.patch("/retention-policies/{policy_id}", responses=errors(Conflict))
async def update_policy(
    policy_id: uuid.UUID, body: RetentionPolicyUpdate, principal: Manager, session: SessionDep
) -> RetentionPolicyRead:
    policy = await retention.update_policy(session, principal, policy_id, patch=body)
    return RetentionPolicyRead.model_validate(policy)


@router.delete("/retention-policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(policy_id: uuid.UUID, principal: Manager, session: SessionDep) -> Response:
    """The type's documents are then kept until another policy says otherwise."""
    await retention.delete_policy(session, principal, policy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/legal-holds")
async def list_holds(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    document_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    active: Annotated[
        bool | None,
        Query(description="true: holds in force; false: released ones; omitted: both."),
    ] = None,
) -> Page[LegalHoldRead]:
    """Newest first, keyset-paginated."""
    filters = HoldFilters(document_id=document_id, client_id=client_id, active=active)
    result = await holds.list_holds(
        session, principal, filters=filters, page=page, into=LegalHoldRead.model_validate
    )
    return page_of(result.items, result)


@router.post("/legal-holds", status_code=status.HTTP_201_CREATED, responses=errors(NotFound))
async def place_hold(
    body: LegalHoldCreate, principal: Manager, session: SessionDep
) -> LegalHoldRead:
    hold = await holds.place_hold(session, principal, fields=body)
    return LegalHoldRead.model_validate(hold)


@router.post("/legal-holds/{hold_id}/release")
async def release_hold(
    hold_id: uuid.UUID, principal: Manager, session: SessionDep
) -> LegalHoldRead:
    """Releasing a released hold changes nothing."""
    hold = await holds.release_hold(session, principal, hold_id)
    return LegalHoldRead.model_validate(hold)


@router.get("/retention/preview")
async def preview(
    principal: Manager,
    session: SessionDep,
    limit: Annotated[
        int, Query(ge=1, le=PREVIEW_MAX, description="Items per list (1 to 500).")
    ] = 100,
) -> RetentionPreview:
    """What the sweep would report and delete if it ran now (a dry run: nothing is
    written)."""
    at = datetime.now(UTC)
    plan = await sweep.plan(session, principal.firm_id, at)
    by_deletion = sorted(plan.report, key=lambda p: (p.delete_after, p.due.document_id))
    deleted = {p.due.document_id for p in plan.delete}
    deletes = [p for p in by_deletion if p.due.document_id in deleted]
    return RetentionPreview(
        at=at,
        report=[_item(p) for p in by_deletion[:limit]],
        report_total=len(plan.report),
        delete=[_item(p) for p in deletes[:limit]],
        delete_total=len(plan.delete),
    )


def _item(planned: sweep.Planned) -> RetentionItem:
    due = planned.due
    return RetentionItem(
        document_id=due.document_id,
        title=due.title,
        document_type=due.document_type,
        client_id=due.client_id,
        policy_id=due.policy_id,
        reason=due.reason,
        due_at=due.due_at,
        reported_at=planned.reported_at,
        delete_after=planned.delete_after,
    )


@router.get("/retention/deletions")
async def list_deletions(
    principal: Manager, session: SessionDep, page: PageDep
) -> Page[DocumentDeletionRead]:
    """What sweeps deleted, newest first, keyset-paginated."""
    result = await sweep.list_deletions(
        session, principal, page=page, into=DocumentDeletionRead.model_validate
    )
    return page_of(result.items, result)
