"""Approvals: what waits for a person's decision (an automation run's approval step, a
document's review), and the vote."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.approvals import ApprovalDecision, ApprovalDetail, ApprovalRead
from api.schemas.common import Page, page_of
from core.permissions import Permission
from core.principal import Principal
from models import ApprovalStatus
from services import approval_subjects, approvals
from services.approvals import AlreadyVoted, ApprovalClosed, ApprovalView
from services.documents import review_subject

router = APIRouter()

Reader = Annotated[Principal, Requires(Permission.automations_read)]
Decider = Annotated[Principal, Requires(Permission.approvals_decide)]

APPROVALS = "/approvals"


@router.get(APPROVALS)
async def list_approvals(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    mine: Annotated[
        bool, Query(description="Only those you may vote on and have not voted on yet.")
    ] = False,
    status: ApprovalStatus | None = None,
) -> Page[ApprovalRead]:
    """Newest first, keyset-paginated. ``mine=true&status=pending`` is what waits for you."""
    result = await approvals.list_approvals(session, principal, mine=mine, status=status, page=page)
    documents = await review_subject.document_ids(session, principal.firm_id, result.items)
    return page_of(
        [ApprovalRead.of(approval, documents.get(approval.id)) for approval in result.items],
        result,
    )


async def _detail(session: SessionDep, principal: Principal, view: ApprovalView) -> ApprovalDetail:
    documents = await review_subject.document_ids(session, principal.firm_id, [view.approval])
    return ApprovalDetail.of_view(view, documents.get(view.approval.id))


@router.get(APPROVALS + "/{approval_id}")
async def get_approval(
    approval_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ApprovalDetail:
    return await _detail(
        session, principal, await approvals.get_view(session, principal, approval_id)
    )


@router.post(APPROVALS + "/{approval_id}", responses=errors(AlreadyVoted, ApprovalClosed))
async def decide(
    approval_id: uuid.UUID, body: ApprovalDecision, principal: Decider, session: SessionDep
) -> ApprovalDetail:
    """Approve or reject. 403 when you may not vote on it (your role, or you started the
    run and the step does not allow that, or you submitted the document), 409 when you
    already voted, it is no longer pending or what it decides on no longer waits, 422 when
    the form does not fit its fields (pointers ``/form/<field>``)."""
    view = await approval_subjects.decide(
        session,
        principal,
        approval_id,
        decision=body.decision,
        comment=body.comment,
        form=body.form,
    )
    return await _detail(session, principal, view)
